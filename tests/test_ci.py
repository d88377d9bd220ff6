"""词 by 词牌: writing a ci in every mode to its tune's exact pattern, checking a ci against
its tune (or finding the tune its shape has), and the bad input of issue 43."""

import json
import random
from pathlib import Path

import pytest
from conftest import FIXTURES, tiny_model

from poetry_rnn.app.check_cli import main as check_main
from poetry_rnn.app.generate_cli import main as generate_main
from poetry_rnn.corpus.data import SPLITS, split_of
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.evaluation.ci_rates import HEADS, of_shape
from poetry_rnn.evaluation.reading import write_kit
from poetry_rnn.poetics.check import check
from poetry_rnn.poetics.patterns import cipai, family_of, form_list
from poetry_rnn.poetics.rhymes import cilin_section, rhyme_groups
from poetry_rnn.text import PUNCTUATION, split_lines
from poetry_rnn.writing.controls import Controls
from poetry_rnn.writing.generate import MODES, PoetryGenerator

PRETRAINED_VOCAB = Path(__file__).resolve().parents[1] / "poetry_rnn" / "pretrained" / "vocab.json"

#: Real ci of the corpus, each of its tune's usual shape.
REAL_CI = {
    "浣溪沙": "一曲新词酒一杯，去年天气旧亭台。夕阳西下几时回。"
    "无可奈何花落去，似曾相识燕归来。小园香径独徘徊。",  # 晏殊
    "西江月": "明月别枝惊鹊，清风半夜鸣蝉。稻花香里说丰年。听取蛙声一片。"
    "七八个星天外，两三点雨山前。旧时茅店社林边。路转溪桥忽见。",  # 辛弃疾
    "鹧鸪天": "彩袖殷勤捧玉钟。当年拚却醉颜红。舞低杨柳楼心月，歌尽桃花扇底风。"
    "从别后，忆相逢。几回魂梦与君同。今宵剩把银釭照，犹恐相逢是梦中。",  # 晏几道
    "菩萨蛮": "平林漠漠烟如织。寒山一带伤心碧。暝色入高楼。有人楼上愁。"
    "玉阶空伫立。宿鸟归飞急。何处是归程。长亭更短亭。",  # 李白 (in 宋词's 尊前集)
    "玉楼春": "东城渐觉风光好。縠皱波纹迎客棹。绿杨烟外晓寒轻，红杏枝头春意闹。"
    "浮生长恨欢娱少。肯爱千金轻一笑。为君持酒劝斜阳，且向花间留晚照。",  # 宋祁
}
QILU = "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。" \
    "万里悲秋常作客，百年多病独登台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。"  # fmt: skip


@pytest.fixture(scope="module")
def vocab():
    return Vocab.load(PRETRAINED_VOCAB)


@pytest.fixture(scope="module")
def headed(vocab):
    """A tiny untrained model over the shipped vocabulary that knows titles."""
    titled = vocab.with_sep()
    return PoetryGenerator(tiny_model(titled), titled)


@pytest.fixture(scope="module")
def unheaded(vocab):
    return PoetryGenerator(tiny_model(vocab), vocab)


def exact(poem, tune: str) -> None:
    """``poem`` is written to the exact pattern of ``tune``'s family."""
    pattern = family_of(tune).patterns[0]
    lines = split_lines(poem.text)
    assert tuple(map(len, lines)) == pattern.lengths, poem.text
    assert [c for c in poem.text if c in PUNCTUATION] == [x.mark for x in pattern.lines]
    assert poem.checks.format_ok and poem.checks.rhyme_ok, poem.text
    assert poem.checks.tone_satisfied == poem.checks.tone_checked > 0, poem.text
    assert check(poem.text, form=tune).rhymes


# --- writing ----------------------------------------------------------------------------------

MODE_TEXTS = {"free": "", "start": "小院", "acrostic": "春花秋月夏雨", "theme": "秋夜思乡",
              "title": "秋夜"}  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_a_titled_model_writes_a_ci_to_its_tune_in_every_mode(headed, mode):
    poems = headed.write(mode, MODE_TEXTS[mode], Controls(form="浣溪沙", seed=5, n=2))
    assert len(poems) == 2
    for poem in poems:
        exact(poem, "浣溪沙")
        assert poem.form == "浣溪沙" and poem.mode == mode
        if mode == "start":
            assert poem.text.startswith("小院")  # 院 仄, as 浣溪沙 wants
        if mode == "acrostic":
            assert [line[0] for line in split_lines(poem.text)] == list("春花秋月夏雨")
        # The header is the tune; a title the user gives (a theme reads as one) follows it.
        given = {"title": "秋夜", "theme": "秋夜思乡"}.get(mode)
        assert poem.title == ("浣溪沙·" + given if given else "浣溪沙")


def test_a_ci_reads_its_tune_as_its_header_and_the_users_title_as_keywords(headed, monkeypatch):
    plans = []
    decode = headed.composer.decode_scored
    monkeypatch.setattr(
        headed.composer, "decode_scored", lambda plan, *a: plans.append(plan) or decode(plan, *a)
    )
    (poem,) = headed.generate(controls=Controls(form="西江月", title="春江", seed=1))
    assert [plan.title for plan in plans] == ["西江月"]
    assert poem.title == "西江月·春江" and poem.plan_source == "title"
    assert len(poem.plan) == len(family_of("西江月").lengths)


@pytest.mark.parametrize("tune", ["菩萨蛮", "满江红", "水调歌头·2", "如梦令"])
def test_an_unheaded_model_writes_the_exact_pattern_of_a_tune(unheaded, tune):
    for poem in unheaded.generate(controls=Controls(form=tune, seed=2, n=2, plan=False)):
        exact(poem, tune)
        assert poem.title == tune.partition("·")[0]


def test_xijiangyue_rhymes_its_ze_lines_in_the_bu_of_its_ping_rhymes(unheaded):
    pattern = family_of("西江月").patterns[0]
    assert pattern.segments == ("平", "仄") and pattern.sections == (0, 0)
    assert family_of("菩萨蛮").patterns[0].sections == (0, 1, 2, 3)  # 换韵: four 部
    for poem in unheaded.generate(controls=Controls(form="西江月", seed=7, n=4, plan=False)):
        lines = split_lines(poem.text)
        sections = [
            {cilin_section(g) for g in rhyme_groups(lines[i][-1], "cilin")}
            for i in pattern.rhyme_lines()
        ]
        assert set.intersection(*sections), poem.text
        exact(poem, "西江月")


def test_an_acrostic_takes_the_variant_with_a_line_a_head_or_is_told_the_counts(unheaded):
    tune = "望江南・忆江南"  # 双调 of 10 lines, 单调 of 5
    (poem,) = unheaded.acrostic("江南好风景", Controls(form=tune, seed=3))
    assert poem.form == f"{tune}·2" and len(split_lines(poem.text)) == 5
    with pytest.raises(PoetryError, match=f"fits no variant of {tune}: give 5 or 10 characters"):
        unheaded.acrostic("春花秋月", Controls(form=tune))
    with pytest.raises(PoetryError, match="fits no variant of 浣溪沙: give 6 characters"):
        unheaded.acrostic("春花秋月", Controls(form="浣溪沙"))


def test_a_start_longer_than_the_tune_or_off_its_line_lengths_is_refused(unheaded):
    with pytest.raises(PoetryError, match="line 1 has 5 characters, but line 1 of 浣溪沙 has 7"):
        unheaded.generate("小楼昨夜雨，", Controls(form="浣溪沙"))
    with pytest.raises(PoetryError, match=r"longer than 如梦令 holds \(33 characters in 7 lines"):
        unheaded.generate("春" * 34, Controls(form="如梦令"))


def test_controls_take_tunes_and_variants_and_name_the_closest_to_an_unknown_one():
    assert Controls(form="浣溪沙").form == "浣溪沙"
    assert Controls(form="水调歌头·2").form == "水调歌头·2"
    with pytest.raises(PoetryError, match="unknown form '浣沙溪'; the closest: 浣溪沙"):
        Controls(form="浣沙溪")


def test_the_cli_refuses_an_unknown_tune_in_one_line(capsys):
    assert run_cli(generate_main, ["--form", "鹧鸪", "--start", "小楼"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "鹧鸪天" in err and "closest" in err


def test_list_forms_prints_the_shi_forms_and_every_tune_with_its_line_lengths(capsys):
    assert run_cli(generate_main, ["--list-forms"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == form_list()
    assert "七言律诗  8 lines of 7" in out and "浣溪沙  7 7 7 | 7 7 7" in out
    assert "如梦令  6 6 5 6 2 2 6" in out  # 单调: no break
    for tune, variants in cipai().items():
        assert all(f"  {p.name}  " in out for p in variants), tune


def test_the_demo_offers_the_tunes_apart_from_the_shi_forms_and_answers_in_chinese(unheaded):
    from poetry_rnn.app import demo

    labels = list(demo.FORM_LABELS)
    tunes = [label for label in labels if label.startswith("词牌·")]
    assert [demo.FORM_LABELS[label] for label in tunes] == list(cipai())
    assert labels.index(tunes[0]) > labels.index("七言律诗")  # grouped after the shi
    settings = (True, True, 0.8, 0.9, "1", 1, "简体", "平水韵")
    answer = demo.answer(unheaded, "续写", "小院", "词牌·西江月", *settings)
    assert "西江月" in answer.page and len(answer.poems[0]) == 8
    refused = demo.answer(unheaded, "藏头", "春花秋月", "词牌·浣溪沙", *settings)
    message = "4 个藏头字不合浣溪沙：浣溪沙有 6 句，每句一个藏头字"
    assert refused == demo.Answer(demo.render_error(message), None)
    refused = demo.answer(unheaded, "续写", "小楼昨夜雨，", "词牌·浣溪沙", *settings)
    assert refused.page == demo.render_error("开头第 1 句有 5 个字，浣溪沙第 1 句是 7 个字")


# --- checking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tune", REAL_CI)
def test_a_real_ci_checks_as_its_tune(tune):
    report = check(REAL_CI[tune])
    assert report.form == tune and report.kind == "ci" and report.rhyme_book == "cilin"
    assert report.misfits == [] and report.tone_checked > 0
    assert check(REAL_CI[tune], form=tune).pattern == tune


def test_a_qilu_of_the_shape_of_yulouchun_still_checks_as_a_qilu():
    assert check(QILU).form == "七言律诗"
    assert check(QILU, form="玉楼春").form == "玉楼春"  # asked for, it is judged as one


def test_xijiangyues_ze_rhymes_are_judged_in_the_bu_of_its_ping_rhymes():
    report = check(REAL_CI["西江月"])
    assert report.rhymes and report.rhyme_groups == ["第七部平", "第七部仄"]
    # 片 rhymes in 第七部, 叶 in 第二部 仄 (广 is 第二部仄): the 部 is broken.
    broken = check(REAL_CI["西江月"].replace("一片", "一广"))
    assert not broken.rhymes and [r.char for r in broken.rhyme if not r.ok] == ["广"]


def test_a_ci_with_lines_of_the_wrong_length_is_reported_line_by_line(capsys):
    text = "一曲新词酒一杯，去年天气旧亭台。夕阳西下几回。无可奈何花落去，似曾相识燕归来。"
    report = check(text, form="浣溪沙")
    assert [(m.line, m.length, m.wants) for m in report.misfits] == [(3, 6, 7), (6, 0, 7)]
    assert not report.checks.format_ok and not report.rhymes
    assert run_cli(check_main, [text, "--form", "浣溪沙"]) == 0
    out = capsys.readouterr().out
    assert "line 3: 6 characters, 浣溪沙 wants 7" in out
    assert "line 6: missing, 浣溪沙 wants 7 characters" in out


def test_a_broken_tone_is_named_against_the_tunes_pattern(capsys):
    text = REAL_CI["浣溪沙"].replace("一曲新词", "一曲旧词")  # 旧 仄 where 中仄平平 wants 平
    report = check(text, form="浣溪沙")
    (broken,) = [t for t in report.tones if not t.ok]
    assert (broken.line, broken.position, broken.char, broken.wants) == (1, 3, "旧", "平")
    assert run_cli(check_main, [text, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["form"] == "浣溪沙"


def test_a_text_of_no_known_shape_fits_nothing_in_one_line(capsys):
    assert run_cli(check_main, ["春风，明月。"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nor the shape of a 词牌" in err and "\n" not in err
    assert run_cli(check_main, ["春风，明月。", "--form", "浣沙溪"]) == 2
    assert "the closest: 浣溪沙" in capsys.readouterr().err


@pytest.mark.corpus
def test_a_sample_of_the_corpus_ci_of_their_tunes_usual_shape_check_as_their_tune(
    shared_corpus,
):
    from poetry_rnn.poetics.build_cipai import read_tunes

    tunes = cipai()
    _, read = read_tunes(shared_corpus)
    usual = [
        (tune, ci) for tune in tunes for ci in read.get(tune, ())
        if ci.shape == tunes[tune][0].lengths
    ]  # fmt: skip
    sample = random.Random(43).sample(usual, 300)
    wrong = []
    for tune, ci in sample:
        report = check("".join(line + mark for line, mark in zip(ci.lines, ci.marks, strict=True)))
        if report.form != tune:
            wrong.append((tune, report.form))
    # Only a tune whose shape a shi form or an earlier tune shares may be read as that one.
    shared = {t for t in tunes if tunes[t][0].lengths in {(7,) * 8, (5,) * 8}}
    assert all(tune in shared for tune, _ in wrong), wrong
    assert len(wrong) <= len(sample) // 20, wrong


# --- the blind reading kit of 词 ----------------------------------------------------------------


def ci_corpus(folder: Path) -> tuple[Path, int]:
    """A corpus of 词 of the test split: the fixture's 浣溪沙 and 菩萨蛮 of their tunes' usual
    shape, their first character varied until the cleaned text falls in the test split."""
    from poetry_rnn.corpus.cleaning import clean_text

    records = json.loads((FIXTURES / "ci" / "宋词" / "ci.song.0.json").read_text("utf-8"))
    written = []
    for record in records:
        tune, text = record["rhythmic"], "".join(record["paragraphs"])
        if tune not in ("浣溪沙", "菩萨蛮") or not of_shape([text], cipai()[tune][0]):
            continue
        for char in HEADS:
            varied, cleaned = char + text[1:], clean_text(char + text[1:])
            if cleaned is not None and split_of(cleaned) == SPLITS.index("test"):
                written.append(record | {"paragraphs": [varied]})
                break
    (folder / "宋词").mkdir(parents=True)
    data = json.dumps(written, ensure_ascii=False)
    (folder / "宋词" / "ci.song.0.json").write_text(data, "utf-8")
    return folder, len(written)


def test_a_blind_kit_of_ci_sets_real_ci_of_the_test_split_beside_the_models(unheaded, tmp_path):
    corpus, count = ci_corpus(tmp_path / "corpus")
    key = write_kit(tmp_path / "kit", unheaded, corpus, n=4, seed=1, tunes=("浣溪沙", "菩萨蛮"))
    poems = list(key["poems"].values())
    poets = [p for p in poems if p["source"] == "poet"]
    model = [p for p in poems if p["source"] == "model"]
    assert sorted(p["form"] for p in poets) == sorted(p["form"] for p in model)
    assert {p["form"] for p in poets} == {"浣溪沙", "菩萨蛮"}
    assert all(split_of(p["text"]) == SPLITS.index("test") for p in poets)
    for poem in poems:
        assert check(poem["text"], form=poem["form"]).misfits == [], poem
        assert poem["title"] == poem["form"]  # every 词 shown under its tune
    shown = (tmp_path / "kit" / "poems.md").read_text("utf-8")
    assert "浣溪沙" in shown and "菩萨蛮" in shown and key["tunes"] == ["浣溪沙", "菩萨蛮"]
    with pytest.raises(PoetryError, match=f"holds {count} 词 of those tunes, {count + 1} needed"):
        write_kit(tmp_path / "more", unheaded, corpus, n=2 * count + 2, tunes=("浣溪沙", "菩萨蛮"))
    with pytest.raises(PoetryError, match="unknown form '浣沙溪'"):
        write_kit(tmp_path / "bad", unheaded, corpus, n=4, tunes=("浣沙溪",))
