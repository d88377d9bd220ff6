"""Titles in the corpus pipeline: cleaned titles, the ci collection titled by its 词牌, headed
rows ``<s> title <sep> poem </s>``, and scoring a poem given its title."""

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FIXTURE_CORPUS, tiny_model

from poetry_rnn.app.generate_cli import main as generate_main
from poetry_rnn.corpus.cleaning import MAX_TITLE_CHARS, clean_title
from poetry_rnn.corpus.data import (
    CorpusOptions,
    build_corpus,
    load_corpus,
    prepare_corpus,
    save_corpus,
)
from poetry_rnn.corpus.sources import find_poem_files, read_corpus
from poetry_rnn.corpus.vocab import SEP, Vocab
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.evaluation.metrics import perplexity
from poetry_rnn.model.charrnn import masked_loss
from poetry_rnn.model.checkpoint import save_pretrained
from poetry_rnn.poetics.check import check, format_report, split_title
from poetry_rnn.training.warm_start import transplant
from poetry_rnn.writing.build_titles import NO_OCCASION, build_bank
from poetry_rnn.writing.controls import Controls
from poetry_rnn.writing.generate import PoetryGenerator
from poetry_rnn.writing.titles import choose_title, title_bank, user_title

QUIET = {"progress": False}
CI = [
    {"author": "晏殊", "rhythmic": "浣溪沙", "paragraphs": [
        "一曲新词酒一杯，去年天气旧亭台。夕阳西下几时回。",
        "无可奈何花落去，似曾相识燕归来。小园香径独徘徊。",
    ]},
    {"author": "李清照", "rhythmic": "如梦令", "paragraphs": [
        "昨夜雨疏风骤，浓睡不消残酒。试问卷帘人，却道海棠依旧。知否，知否，应是绿肥红瘦。",
    ]},
]  # fmt: skip


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A chinese-poetry checkout: the fixture's shi, and two ci in 宋词."""
    root = Path(shutil.copytree(FIXTURE_CORPUS, tmp_path / "chinese-poetry"))
    (root / "宋词").mkdir()
    (root / "宋词" / "ci.song.0.json").write_text(json.dumps(CI, ensure_ascii=False), "utf-8")
    return root


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("靜夜思", "静夜思"),
        ("秋興八首 其一", "秋兴"),
        ("寒夜思友三首 三", "寒夜思友"),
        ("句  其一○", "句"),
        ("《送別》（一作王維詩）", "送别"),
        ("十六觀經頌 池觀第五", "十六观经颂池观第五"),
        ("改祭修齋决疑頌 第七疑：改祭之後", "改祭修斋决疑颂"),
        ("Hello", ""),
        ("", ""),
    ],
)
def test_a_title_loses_its_number_notes_and_marks(raw, clean):
    assert clean_title(raw) == clean
    assert clean_title(clean) == clean  # cleaning a clean title changes nothing


def test_an_overlong_title_is_cut():
    preface = "玉梁峽口懷朱嚴從事之官嶺外兩夕舟次于此"
    assert clean_title(preface) == "玉梁峡口怀朱严从事之官岭外两夕舟"[:MAX_TITLE_CHARS]


def test_the_ci_collection_is_read_with_its_tune_as_title(checkout):
    assert [p.name for p in find_poem_files(checkout, ("ci",))] == ["ci.song.0.json"]
    poems, _, _ = read_corpus(checkout, ("ci",), progress=False)
    assert [(p.title, p.source) for p in poems] == [("浣溪沙", "ci"), ("如梦令", "ci")]
    both, _, _ = read_corpus(checkout / "全唐诗", ("tang", "ci"), progress=False)
    assert {p.source for p in both} == {"tang", "ci"}  # the shi folder finds the ci beside it


def test_a_headed_corpus_reads_title_sep_poem(checkout):
    options = CorpusOptions(include=("tang", "ci"), headed=True, min_freq=1, split=(1, 0, 0))
    corpus = build_corpus(checkout, options, **QUIET)
    vocab = corpus.vocab
    assert vocab.sep_id == 4 and SEP not in list(vocab.index)[5:]
    ci = int(np.flatnonzero(np.array(corpus.titles()) == "浣溪沙")[0])
    row = corpus.batch(np.array([ci]))[0]
    sep = int(np.flatnonzero(row == vocab.sep_id)[0])
    assert row[0] == vocab.start_id and vocab.decode(row[1:sep].tolist()) == "浣溪沙"
    assert vocab.decode(row[sep + 1 :].tolist()) == corpus.texts([ci])[0]
    assert corpus.header[ci] == len("浣溪沙") + 1
    assert corpus.lengths[ci] == len(corpus.texts([ci])[0]) + corpus.header[ci] + 2
    assert corpus.stats["titled"] == len(corpus)  # every fixture poem has a title


def test_an_unheaded_corpus_still_keeps_its_titles(checkout, tmp_path):
    corpus = prepare_corpus(checkout, CorpusOptions(), cache_dir=tmp_path / "cache", **QUIET)
    assert corpus.vocab.sep_id is None and not corpus.header.any()
    assert corpus.batch(np.array([0]))[0][0] == corpus.vocab.start_id
    loaded = load_corpus(corpus.stats["cache"])
    assert loaded.titles() == corpus.titles() and all(loaded.titles())


def test_a_headed_corpus_survives_the_cache(checkout, tmp_path):
    corpus = build_corpus(checkout, CorpusOptions(headed=True, min_freq=1), **QUIET)
    save_corpus(corpus, tmp_path / "c.npz")
    loaded = load_corpus(tmp_path / "c.npz")
    assert loaded.titles() == corpus.titles() and loaded.texts() == corpus.texts()
    np.testing.assert_array_equal(loaded.batch(np.arange(4)), corpus.batch(np.arange(4)))


def test_a_cache_whose_title_stream_does_not_fit_is_refused(checkout, tmp_path):
    corpus = build_corpus(checkout, CorpusOptions(min_freq=1), **QUIET)
    corpus.title_offsets = corpus.title_offsets[:-1]
    save_corpus(corpus, tmp_path / "c.npz")
    with pytest.raises(PoetryError, match="do not fit together"):
        load_corpus(tmp_path / "c.npz")


def test_a_corpus_encoded_in_a_models_vocabulary_keeps_its_ids(checkout, tmp_path):
    base = Vocab.build(["床前明月光，疑是地上霜。"])
    base.save(tmp_path / "vocab.json")
    options = CorpusOptions(headed=True, vocab=str(tmp_path / "vocab.json"))
    corpus = build_corpus(checkout, options, **QUIET)
    assert corpus.vocab.tokens == [*base.tokens, SEP]  # every id kept, <sep> appended


def test_the_separator_is_not_a_character():
    vocab = Vocab.build(["床前明月光静"]).with_sep()
    assert SEP not in vocab and "床" in vocab
    assert vocab.header("静夜") == [vocab.start_id, vocab.index["静"], vocab.unk_id, vocab.sep_id]
    assert vocab.decode([vocab.start_id, vocab.sep_id, vocab.index["床"]]) == "床"
    with pytest.raises(PoetryError, match="not trained with titles"):
        Vocab.build(["床"]).header("静夜")


def test_a_new_separator_starts_as_the_start_token():
    old = Vocab.build(["床前明月光"])
    new = old.with_sep()
    source, target = tiny_model(old), tiny_model(new)
    transplant(source, old, target, new)
    torch.testing.assert_close(
        target.embedding.weight[new.sep_id], source.embedding.weight[old.start_id]
    )
    torch.testing.assert_close(target.embedding.weight[:-1], source.embedding.weight)


def test_a_poem_given_its_title_is_scored_on_the_poem_alone():
    vocab = Vocab.build(["床前明月光，疑是地上霜。静夜思"]).with_sep()
    model = tiny_model(vocab)
    poem, title = "床前明月光，疑是地上霜。", "静夜思"
    given = perplexity(model, vocab, [poem], titles=[title])
    row = torch.tensor([[*vocab.header(title), *vocab.encode(poem), vocab.end_id]])
    header = torch.tensor([len(title) + 1])
    expected = masked_loss(model, row, [vocab.pad_id], "sum", header=header).item()
    assert given["tokens"] == len(poem) + 1  # the characters and the end, not the title
    assert math.isclose(given["nll"] * given["tokens"], expected, rel_tol=1e-5)
    whole = masked_loss(model, row, [vocab.pad_id], "sum").item()
    assert whole > expected  # the title's own tokens were left out


def test_titles_need_a_model_trained_with_them():
    vocab = Vocab.build(["床前明月光"])
    with pytest.raises(PoetryError, match="not trained with titles"):
        perplexity(tiny_model(vocab), vocab, ["床前明月光"], titles=["静夜思"])


# --- a user's title ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("静夜思", "静夜思"),
        (" 《靜夜思》 ", "静夜思"),
        ("秋夜·思乡", "秋夜思乡"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_a_users_title_is_cleaned_as_the_corpus_titles_are(typed, title):
    assert user_title(typed) == title
    assert Controls(title=typed).title == title


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("，。！", "no Han characters, only marks"),
        ("Moonlight", "must be Chinese characters; it holds 'M'"),
        ("静夜🌙", "must be Chinese characters"),
        ("静" * 200, "too long: 200 characters, at most 16"),
        (123, "the title must be text, got int"),
    ],
)
def test_a_title_that_is_no_title_is_refused_in_one_line(typed, message):
    with pytest.raises(PoetryError, match=re.escape(message)):
        Controls(title=typed)


def test_the_command_line_refuses_a_bad_title_in_one_line(capsys):
    code = run_cli(generate_main, ["--start", "床前", "--title", "Moonlight"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "must be Chinese characters" in err


def test_a_model_without_titles_refuses_one_but_writes_untitled():
    vocab = Vocab.build(["床前明月光，疑是地上霜。举头望低思故乡"])
    generator = PoetryGenerator(tiny_model(vocab), vocab)
    with pytest.raises(PoetryError, match="not trained with titles"):
        generator.generate("床前", title="静夜思", seed=1, form="五言绝句")
    (poem,) = generator.generate("床前", seed=1, form="五言绝句")
    assert poem.title == "" and poem.to_dict()["title"] == ""


# --- writing to a title -----------------------------------------------------------------------

BANK = {"静夜思": 9, "春晓": 4, "送别": 1, "登高": 1}


@pytest.fixture
def titled(monkeypatch):
    """A generator of a tiny untrained model that knows titles, the prime it is fed recorded;
    the title bank a small one."""
    vocab = Vocab.build(["床前明月光，疑是地上霜。举头望低思故乡静夜春晓送别登高秋"], headed=True)
    generator = PoetryGenerator(tiny_model(vocab), vocab)
    primes = []
    prime = generator.composer._prime
    monkeypatch.setattr(
        generator.composer, "_prime", lambda plan, n: primes.append(plan.title) or prime(plan, n)
    )
    monkeypatch.setattr("poetry_rnn.writing.titles.title_bank", lambda: BANK)
    return generator, primes


def test_a_poem_is_written_to_the_title_it_is_given(titled):
    generator, primes = titled
    poems = generator.generate("床前", title="《靜夜思》", seed=3, n=2, form="五言绝句")
    assert [poem.title for poem in poems] == ["静夜思", "静夜思"] and primes == ["静夜思"]
    assert poems[0].text.startswith("床前")
    traditional = generator.acrostic("床疑举低", title="静夜思", seed=3, script="traditional")
    assert traditional[0].title == "靜夜思"


def test_the_header_is_what_the_model_reads_first():
    vocab = Vocab.build(["床前明月光，静夜思。"], headed=True)
    model = tiny_model(vocab)
    fed = []
    step = model.step
    model.step = lambda token, state: fed.append(int(token)) or step(token, state)
    PoetryGenerator(model, vocab).generate(title="静夜思", seed=0, form="五言绝句", search="sample")
    assert fed[:5] == vocab.header("静夜思")


def test_each_poem_without_a_title_gets_one_of_its_own_from_the_bank(titled):
    generator, primes = titled
    poems = generator.generate(seed=5, n=3, form="五言绝句")
    titles = [poem.title for poem in poems]
    assert len(set(titles)) == 3 and set(titles) <= set(BANK) and sorted(primes) == sorted(titles)
    again = generator.generate(seed=5, n=3, form="五言绝句")
    assert [poem.title for poem in again] == titles and [p.text for p in again] == [
        p.text for p in poems
    ]
    assert [poem.score for poem in poems] == sorted((p.score for p in poems), reverse=True)


def test_a_drawn_title_shares_a_character_with_what_the_user_gave(titled):
    generator, _ = titled
    for seed in range(6):
        (poem,) = generator.generate("春", seed=seed, form="五言绝句", plan=False)
        assert poem.title == "春晓"  # the only title of the bank with 春
        (poem,) = generator.acrostic("送别登高", seed=seed, form="五言绝句", plan=False)
        assert poem.title in ("送别", "登高")


def test_a_theme_that_reads_as_a_title_stands_as_one(titled):
    generator, _ = titled
    (poem,) = generator.themed("秋夜思乡", seed=1, form="五言绝句")
    assert poem.title == "秋夜思乡"
    (poem,) = generator.themed("秋天的夜晚，我在异乡想念故乡的亲人。", seed=1, form="五言绝句")
    assert poem.title in BANK


def test_choosing_a_title_follows_the_seed_the_prompt_and_what_to_avoid():
    assert choose_title("", 1, BANK) == choose_title("", 1, BANK)
    assert {choose_title("", seed, BANK) for seed in range(200)} == set(BANK)
    drawn = [choose_title("", seed, BANK) for seed in range(400)]
    assert drawn.count("静夜思") > drawn.count("送别")  # weighted by how often poets used it
    assert {choose_title("夜", seed, BANK) for seed in range(20)} == {"静夜思"}
    assert choose_title("夜", 0, BANK, avoid=frozenset({"静夜思"})) == "静夜思"  # none else fits
    assert choose_title("", 0, BANK, avoid=frozenset(BANK) - {"登高"}) == "登高"


def test_the_command_line_prints_the_title_above_the_poem(titled_model_dir, capsys):
    argv = ["--model", str(titled_model_dir), "--start", "床前", "--seed", "2"]
    assert run_cli(generate_main, [*argv, "--title", "静夜思"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "静夜思" and out[1].startswith("床前") and len(out) == 5
    assert run_cli(generate_main, [*argv, "--title", "静夜思", "--json"]) == 0
    (poem,) = json.loads(capsys.readouterr().out)
    assert poem["title"] == "静夜思" and poem["text"].startswith("床前")


@pytest.fixture
def titled_model_dir(tmp_path):
    vocab = Vocab.build(["床前明月光，疑是地上霜。举头望低思故乡静夜"], headed=True)
    save_pretrained(tmp_path / "model", tiny_model(vocab), vocab)
    return tmp_path / "model"


# --- the bank -------------------------------------------------------------------------------


def test_the_bank_holds_common_titles_of_occasions(tmp_path, monkeypatch):
    root = Path(shutil.copytree(FIXTURE_CORPUS, tmp_path / "corpus"))
    poems = [
        {"author": "某", "title": title, "paragraphs": [text]}
        for title, text in [
            ("秋夜 其一", "床前明月光，疑是地上霜。"), ("秋夜 其二", "举头望明月，低头思故乡。"),
            ("次韵秋夜", "白日依山尽，黄河入海流。"), ("浣溪沙", "欲穷千里目，更上一层楼。"),
        ]
    ]  # fmt: skip
    (root / "全唐诗" / "poet.tang.9.json").write_text(json.dumps(poems, ensure_ascii=False))
    monkeypatch.setattr("poetry_rnn.writing.build_titles.MIN_POEMS", 1)
    monkeypatch.setattr("poetry_rnn.writing.build_titles.split_of", lambda text: 0)
    bank = build_bank(root)
    assert bank["秋夜"] == 2 and next(iter(bank)) == "秋夜"  # numbered poems of one title count
    assert "次韵秋夜" not in bank and "浣溪沙" not in bank  # a reply's rhymes, a tune
    assert "静夜思" in bank and all(2 <= len(title) <= 7 for title in bank)


def test_the_shipped_bank_is_clean():
    bank = title_bank()
    assert len(bank) > 1000 and all(clean_title(title) == title for title in bank)
    assert all(not NO_OCCASION.search(title) for title in bank)
    assert list(bank.values()) == sorted(bank.values(), reverse=True)


# --- a title line above a checked poem ------------------------------------------------------

JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
BARE_ROWS = "床前明月光\n疑是地上霜\n举头望明月\n低头思故乡"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("静夜思\n" + JING_YE_SI, "静夜思"),  # the poem has marks
        ("《靜夜思》\n" + BARE_ROWS, "静夜思"),  # in 《》
        ("静夜思\n" + BARE_ROWS, "静夜思"),  # not as long as the poem's first row
        (BARE_ROWS, ""),  # bare rows: the first is a line
        ("床前明月光，\n疑是地上霜。举头望明月，低头思故乡。", ""),  # a mark ends it: a line
        (JING_YE_SI, ""),
    ],
)
def test_a_title_line_above_a_checked_poem_is_its_title(text, title):
    assert split_title(text)[0] == title
    report = check(text)
    assert (report.title, report.text, report.form) == (title, JING_YE_SI, "五言绝句")
    assert format_report(report).startswith(f"《{title}》\n" if title else "五言绝句")


def test_the_check_tab_shows_the_title_line():
    from poetry_rnn.app import demo

    page = demo.answer_check("静夜思\n" + JING_YE_SI, "平水韵")
    assert '<h3 class="poem-title">静夜思</h3>' in page


def test_a_revised_poem_may_come_with_its_title_line(generator):
    (poem,) = generator.revise("静夜思\n" + JING_YE_SI, [1], seed=1)
    assert poem.lines[0] == "床前明月光，"


def test_a_title_outside_the_vocabulary_still_gets_a_poem(titled):
    generator, primes = titled
    (poem,) = generator.generate(title="龘龘", seed=1, form="五言绝句")
    assert poem.title == "龘龘" and set(primes) == {"龘龘"} and len(poem.lines) == 4
