"""The blind reading kit: the poems, the hidden key, the rubric, and the scores of ratings."""

import itertools
import json
import random
import re

import pytest
import torch
from conftest import FIXTURE_CORPUS, tiny_model

from poetry_rnn.app.evaluate_cli import main
from poetry_rnn.corpus.data import split_of
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.evaluation.prompts import HEADS, STARTS, THEMES, TITLES
from poetry_rnn.evaluation.reading import (
    Variant,
    draw_real_poems,
    model_jobs,
    parse_variants,
    write_kit,
)
from poetry_rnn.model.checkpoint import from_pretrained, save_pretrained
from poetry_rnn.text import split_lines
from poetry_rnn.writing.controls import Controls
from poetry_rnn.writing.generate import PoetryGenerator

INCLUDE = ["--include", "tang", "song", "tang300"]
SEED = 12345  # seeds this long cannot be mistaken for a poem's number
#: The fixture's only regulated poems in the test split, as the pipeline splits it.
LIANGZHOU = "黄河远上白云间，一片孤城万仞山。羌笛何须怨杨柳，春风不度玉门关。"
DIAO_BAI = (
    "缀玉联珠六十年，谁教冥路作诗仙。浮云不系名居易，造化无为字乐天。"
    "童子解吟长恨曲，胡儿能唱琵琶篇。文章已满行人耳，一度思卿一怆然。"
)


def cli(capsys, *argv):
    code = run_cli(main, [str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A kit of 6 poems on the fixture corpus: its 2 test-split poems and 2 of each variant."""
    out = tmp_path_factory.mktemp("kit") / "round1"
    variants = ['cool={"temperature": 0.5}', 'greedy={"top_k": 1, "rhyme_book": "xinyun"}']
    argv = ["blind", "--out", out, "--corpus", FIXTURE_CORPUS, *INCLUDE, "--n", 6]
    assert (
        run_cli(main, [str(arg) for arg in [*argv, "--seed", SEED, "--variants", *variants]]) == 0
    )
    return out, json.loads((out / "key.json").read_text(encoding="utf-8"))


def shown_poems(poems_md: str) -> dict[str, str]:
    """Poem number → the poem's text as poems.md shows it (its rows joined)."""
    sections = re.split(r"^## (\d+)\n", poems_md, flags=re.M)[1:]
    return {
        number: "".join(row for row in body.split() if not row.startswith("《"))
        for number, body in zip(sections[::2], sections[1::2], strict=True)
    }


def test_the_kit_holds_the_test_split_poems_and_the_models_in_their_forms(kit):
    out, key = kit
    poems = key["poems"]
    assert sorted(poems, key=int) == [str(number) for number in range(1, 7)]
    poets = sorted((p["author"], p["title"], p["form"], p["text"]) for p in poems.values()
                   if p["source"] == "poet")  # fmt: skip
    assert poets == [
        ("李忱", "吊白居易", "七言律诗", DIAO_BAI),
        ("王之涣", "凉州词", "七言绝句", LIANGZHOU),
    ]
    written = sorted(
        (p["variant"], p["form"], p["mode"], p["prompt"], p["seed"])
        for p in poems.values()
        if p["source"] == "model"
    )
    # One poem per real poem in its form, the first mode (free) of each form, the same prompt
    # and seed in every variant: the poets' poems are drawn 七言绝句 first (forms in turn).
    assert written == [
        ("cool", "七言律诗", "free", "", SEED + 1), ("cool", "七言绝句", "free", "", SEED),
        ("greedy", "七言律诗", "free", "", SEED + 1), ("greedy", "七言绝句", "free", "", SEED),
    ]  # fmt: skip
    assert key["prompts"] == "corpus"  # free writing, the first mode, takes no prompt
    assert {p["prompt_source"] for p in poems.values() if p["source"] == "model"} == {"none"}
    assert key["variants"]["cool"]["temperature"] == 0.5
    assert key["variants"]["greedy"]["top_k"] == 1
    assert key["variants"]["greedy"]["rhyme_book"] == "xinyun"
    shown = shown_poems((out / "poems.md").read_text(encoding="utf-8"))
    assert shown == {number: poem["text"] for number, poem in poems.items()}


def test_the_key_reproduces_every_generated_poem(kit, generator):
    _, key = kit
    for poem in (poem for poem in key["poems"].values() if poem["source"] == "model"):
        controls = Controls(
            **key["variants"][poem["variant"]], form=poem["form"], seed=poem["seed"]
        )
        (again,) = generator.write(poem["mode"], poem["prompt"], controls)
        assert again.text == poem["text"]


def test_a_variant_may_name_a_backward_model_beside_its_model():
    (variant,) = parse_variants(['b={"model": "f", "backward": "b"}'], Controls()).values()
    assert variant == Variant(Controls(), model="f", backward="b")
    with pytest.raises(PoetryError, match=r"^variant b: its backward must be a directory, got 3$"):
        parse_variants(['b={"backward": 3}'], Controls())


def test_a_variant_may_write_with_a_model_of_its_own(tmp_path, generator):
    model, vocab = from_pretrained()
    with torch.no_grad():
        model.decoder.bias += 3 * torch.randn_like(model.decoder.bias)  # another model's taste
    other = tmp_path / "other"
    save_pretrained(other, model, vocab, {})
    variants = ["here={}", f'there={{"model": "{other}", "temperature": 0.5}}']
    argv = ["blind", "--out", tmp_path / "kit", "--corpus", FIXTURE_CORPUS, *INCLUDE, "--n", 6]
    argv += ["--seed", SEED, "--variants", *variants]
    assert run_cli(main, [str(arg) for arg in argv]) == 0
    key = json.loads((tmp_path / "kit" / "key.json").read_text(encoding="utf-8"))
    assert key["variants"]["there"]["model"] == str(other)
    assert "model" not in key["variants"]["here"]
    writers = {"here": generator, "there": PoetryGenerator.from_pretrained(other)}
    written = [poem for poem in key["poems"].values() if poem["source"] == "model"]
    for poem in written:
        settings = {k: v for k, v in key["variants"][poem["variant"]].items() if k != "model"}
        controls = Controls(**settings, form=poem["form"], seed=poem["seed"])
        (again,) = writers[poem["variant"]].write(poem["mode"], poem["prompt"], controls)
        assert again.text == poem["text"]
    texts = {poem["variant"]: set() for poem in written}
    for poem in written:
        texts[poem["variant"]].add(poem["text"])
    assert texts["here"].isdisjoint(texts["there"])


def test_a_variant_may_run_the_model_in_another_precision(tmp_path, generator):
    (variant,) = parse_variants(['f={"precision": "fp32"}'], Controls()).values()
    assert variant == Variant(Controls(), precision="fp32")
    message = r"^variant f: its precision must be one of auto, int8, bf16, fp32, got 'fp8'$"
    with pytest.raises(PoetryError, match=message):
        parse_variants(['f={"precision": "fp8"}'], Controls())
    argv = ["blind", "--out", tmp_path, "--corpus", FIXTURE_CORPUS, *INCLUDE, "--n", 6]
    argv += ["--seed", SEED, "--variants", "here={}", 'fp32={"precision": "fp32"}']
    assert run_cli(main, [str(arg) for arg in argv]) == 0
    key = json.loads((tmp_path / "key.json").read_text(encoding="utf-8"))
    assert key["variants"]["fp32"]["precision"] == "fp32"
    assert "precision" not in key["variants"]["here"]
    writers = {"here": generator, "fp32": PoetryGenerator.from_pretrained(precision="fp32")}
    for poem in (poem for poem in key["poems"].values() if poem["source"] == "model"):
        settings = {k: v for k, v in key["variants"][poem["variant"]].items() if k != "precision"}
        controls = Controls(**settings, form=poem["form"], seed=poem["seed"])
        (again,) = writers[poem["variant"]].write(poem["mode"], poem["prompt"], controls)
        assert again.text == poem["text"]


def test_poems_md_shows_only_numbers_titles_and_lines(kit):
    out, key = kit
    poems_md = (out / "poems.md").read_text(encoding="utf-8")
    lines = {
        line
        for poem in key["poems"].values()
        for line in re.findall(r"[^，。]+[，。]", poem["text"])
    }
    rows = poems_md.splitlines()
    assert rows[:3] == ["# 6 poems", "", "Rate them as RUBRIC.md asks."]
    titles = {f"《{poem['title']}》" for poem in key["poems"].values()}
    rest = [
        row for row in rows[3:]
        if row and row not in lines | titles and not re.fullmatch(r"## \d+", row)
    ]  # fmt: skip
    assert rest == []
    # The numbers and lines aside, nothing of the key is left to find.
    bare = "\n".join(
        row for row in rows
        if row not in lines | titles and not re.fullmatch(r"## \d+", row)
    )  # fmt: skip
    hidden = {"poet", "model", "cool", "greedy", "free", "start", "acrostic", "theme"}
    for poem in key["poems"].values():
        hidden |= {str(poem[field]) for field in ("author", "prompt", "seed") if field in poem}
    assert not [word for word in hidden - {""} if word in bare]


def test_the_numbering_is_a_shuffle_recorded_by_the_seed(tmp_path, capsys, kit):
    _, key = kit
    order = [key["poems"][str(number)]["source"] for number in range(1, 7)]
    assert sorted(order) == ["model"] * 4 + ["poet"] * 2
    assert order not in (["poet"] * 2 + ["model"] * 4, ["model"] * 4 + ["poet"] * 2)
    argv = ["blind", "--corpus", FIXTURE_CORPUS, *INCLUDE, "--n", 4]
    orders = set()
    for seed in range(4):
        assert cli(capsys, *argv, "--out", tmp_path / str(seed), "--seed", seed)[0] == 0
        poems = json.loads((tmp_path / str(seed) / "key.json").read_text(encoding="utf-8"))["poems"]
        orders.add(tuple((poems[str(n)]["source"], poems[str(n)]["form"]) for n in range(1, 5)))
    assert len(orders) > 1  # the same four kinds of poem, numbered differently by each seed
    assert cli(capsys, *argv, "--out", tmp_path / "again", "--seed", 0)[0] == 0
    assert (tmp_path / "again" / "poems.md").read_bytes() == (
        tmp_path / "0" / "poems.md"
    ).read_bytes()


def test_the_rubric_shows_the_scales_and_the_ratings_shape_it_accepts(kit, tmp_path, capsys):
    out, _ = kit
    rubric = (out / "RUBRIC.md").read_text(encoding="utf-8")
    assert "numbered 1 to 6" in rubric and "ratings-<name>.json" in rubric
    assert "| fluency | is it natural classical Chinese? | cannot be parsed |" in rubric
    example = re.search(r"```json\n(.*?)```", rubric, flags=re.S).group(1)
    assert json.loads(example)["ratings"]["1"] == {
        "fluency": 4, "coherence": 3, "poeticness": 3, "title_fit": 4, "human": True, "note": "...",
    }  # fmt: skip
    kit_copy = tmp_path / "kit"
    kit_copy.mkdir()
    (kit_copy / "key.json").write_bytes((out / "key.json").read_bytes())
    (kit_copy / "ratings-your-name.json").write_text(example, encoding="utf-8")
    code, out_text, _ = cli(capsys, "blind-score", kit_copy, "--json")
    scores = json.loads(out_text)
    assert code == 0 and scores["readers"] == ["your-name"]
    assert sum(source["ratings"] for source in scores["sources"].values()) == 2


def test_forms_are_taken_in_turn_while_they_last(tmp_path):
    # A corpus whose test split holds three 五言绝句 and one 七言绝句, made from fixture lines.
    five = ["白日依山尽", "黄河入海流", "欲穷千里目", "更上一层楼", "床前明月光", "疑是地上霜"]
    quatrains = (
        "，".join(lines[:2]) + "。" + "，".join(lines[2:]) + "。"
        for lines in itertools.permutations(five, 4)
    )
    tests = [text for text in quatrains if split_of(text) == 2][:3]
    seven = (
        "，".join(lines[:2]) + "。" + "，".join(lines[2:]) + "。"
        for lines in itertools.permutations(
            split_lines(LIANGZHOU + "秦时明月汉时关，万里长征人未还。"), 4
        )
    )
    tests.append(next(text for text in seven if split_of(text) == 2))
    path = tmp_path / "poems.json"
    poems = [{"author": "某", "title": f"题{i}", "paragraphs": [t]} for i, t in enumerate(tests)]
    path.write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    drawn, spare = draw_real_poems(path, 4, random.Random(0))
    assert [poem["form"] for poem in drawn] == ["五言绝句", "七言绝句", "五言绝句", "五言绝句"]
    assert sorted(poem["text"] for poem in drawn) == sorted(tests)
    assert all(poems == [] for poems in spare.values())
    drawn, spare = draw_real_poems(path, 2, random.Random(0))
    assert sorted(p["text"] for p in drawn + spare["五言绝句"] + spare["七言绝句"]) == sorted(tests)
    assert len(spare["五言绝句"]) == 2


def test_corpus_prompts_come_from_the_spare_poems_each_once(generator):
    def poem(title, text):
        return {"source": "poet", "form": "五言绝句", "author": "某", "title": title, "text": text}

    spare = {"五言绝句": [
        poem("登鹳雀楼", "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"),
        poem("题", "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"),  # a one-character title
        poem("静夜思", "床前明月光，疑是地上霜。举头望明月，低头思故乡。"),
        poem("江雪", "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。"),
    ]}  # fmt: skip
    jobs = model_jobs(generator, ["五言绝句"] * 6, first_seed=7, spare=spare)
    assert [(job["mode"], job["prompt"], job["prompt_source"]) for job in jobs] == [
        ("free", "", "none"), ("start", "千山", "corpus"), ("acrostic", "床疑举低", "corpus"),
        ("theme", "登鹳雀楼", "corpus"),  # 题 is no theme: passed over, and used up
        ("title", TITLES[0], "fixed"), ("free", "", "none"),  # the spare poems used up
    ]  # fmt: skip
    assert len(spare["五言绝句"]) == 4  # the caller's pool is left as it was


def test_modes_and_prompts_are_taken_in_turn_within_a_form(generator):
    jobs = model_jobs(generator, ["五言绝句"] * 5 + ["七言律诗"] * 3, first_seed=7)
    assert [(job["form"], job["mode"], job["prompt"], job["seed"]) for job in jobs] == [
        ("五言绝句", "free", "", 7), ("五言绝句", "start", STARTS[0], 8),
        ("五言绝句", "acrostic", HEADS[4][0], 9), ("五言绝句", "theme", THEMES[0], 10),
        ("五言绝句", "title", TITLES[0], 11), ("七言律诗", "free", "", 12),
        ("七言律诗", "start", STARTS[0], 13), ("七言律诗", "acrostic", HEADS[8][0], 14),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n", 6], "the test split of CORPUS holds 2 regulated poems, 3 needed"),
        (["--n", 3], "a kit holds 4 to 400 poems, got 3"),
        (["--n", 402], "a kit holds 4 to 400 poems, got 402"),
        (["--n", 5], "5 poems do not divide among 2 sources"),
        (["--variants", "x"], "a variant is NAME=JSON"),
        (["--variants", "x={"], "variant x: its controls are not JSON"),
        (["--variants", "x=[1]"], "variant x: its controls must be a JSON object"),
        (["--variants", 'x={"serch": "lines"}'], "variant x: serch cannot be set"),
        (["--variants", 'x={"seed": 1}'], "variant x: seed cannot be set"),
        (["--variants", 'x={"temperature": 0}'], "variant x: temperature must be a finite"),
        (["--variants", "x={}", "x={}"], "variant x is given twice"),
        (["--rhyme-book", "guangyun"], "argument --rhyme-book: invalid choice"),
    ],
)  # fmt: skip
def test_bad_kit_requests_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    argv = ["blind", "--out", tmp_path / "kit", "--corpus", FIXTURE_CORPUS, *INCLUDE, *argv]
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message.replace("CORPUS", str(FIXTURE_CORPUS)) in err
    assert not (tmp_path / "kit").exists()


def test_a_kit_is_never_overwritten(kit, capsys):
    out, _ = kit
    before = (out / "key.json").read_bytes()
    code, _, err = cli(
        capsys, "blind", "--out", out, "--corpus", FIXTURE_CORPUS, *INCLUDE, "--n", 4
    )
    assert code == 2 and f"{out} already holds a kit" in err
    assert (out / "key.json").read_bytes() == before


# --- scoring --------------------------------------------------------------------------------

#: Poems 1-3 by poets, 4-6 by the model; two readers, bo skipped poem 2.
KEY = {
    "poems": {
        **{str(n): {"source": "poet", "form": "五言绝句", "text": "..."} for n in (1, 2, 3)},
        **{
            str(n): {"source": "model", "variant": "default", "form": "五言绝句"} for n in (4, 5, 6)
        },
    }
}
ANN = {"1": (5, 4, 4, True), "2": (4, 4, 3, True), "3": (3, 2, 2, False),
       "4": (2, 2, 1, False), "5": (3, 3, 2, True), "6": (1, 1, 1, False)}  # fmt: skip
BO = {"1": (5, 5, 5, True), "3": (5, 4, 4, True),
      "4": (2, 1, 1, False), "5": (1, 1, 1, False), "6": (3, 2, 2, False)}  # fmt: skip


def ratings(reader: str, given: dict) -> dict:
    fields = ("fluency", "coherence", "poeticness", "human")
    return {
        "reader": reader,
        "ratings": {n: dict(zip(fields, r, strict=True)) for n, r in given.items()},
    }


@pytest.fixture
def rated(tmp_path):
    (tmp_path / "key.json").write_text(json.dumps(KEY), encoding="utf-8")
    for reader, given in (("ann", ANN), ("bo", BO)):
        path = tmp_path / f"ratings-{reader}.json"
        path.write_text(json.dumps(ratings(reader, given)), encoding="utf-8")
    return tmp_path


def test_scores_average_each_poem_over_its_readers_then_over_the_poems(rated, capsys):
    code, out, _ = cli(capsys, "blind-score", rated, "--json")
    scores = json.loads(out)
    assert code == 0 and scores["readers"] == ["ann", "bo"] and scores["poems"] == 6
    poets, model = scores["sources"]["poets"], scores["sources"]["model (default)"]
    assert (poets["rated_poems"], poets["ratings"], poets["skipped"], poets["readers"]) == (
        3,
        5,
        1,
        2,
    )
    assert (model["rated_poems"], model["ratings"], model["skipped"]) == (3, 6, 0)
    # Poets' fluency by poem: 5 (5, 5), 4 (ann only), 4 (3, 5): mean 13/3, sd √(1/3).
    assert poets["fluency"]["mean"] == pytest.approx(13 / 3)
    assert poets["fluency"]["half_width"] == pytest.approx(1.96 * (1 / 3) ** 0.5 / 3**0.5)
    assert poets["fluency"]["n"] == 3
    # Judged human, by poem: 1, 1, 1/2 for the poets; 0, 1/2, 0 for the model. sd √(1/12).
    assert poets["human"]["mean"] == pytest.approx(5 / 6)
    assert model["human"]["mean"] == pytest.approx(1 / 6)
    assert model["human"]["half_width"] == pytest.approx(1.96 * (1 / 12) ** 0.5 / 3**0.5)
    assert model["fluency"] == {"mean": 2.0, "half_width": 0.0, "n": 3}  # 2, 2, 2
    assert poets["by_reader"]["ann"] == {
        "poems": 3, "fluency": 4.0, "coherence": 10 / 3, "poeticness": 3.0, "human": 2 / 3,
    }  # fmt: skip
    assert poets["by_reader"]["bo"]["poems"] == 2 and poets["by_reader"]["bo"]["fluency"] == 5.0

    assert "paired" not in scores  # one variant: nothing to pair

    assert scores["kit"] == str(rated) and list(scores["sources"]) == ["poets", "model (default)"]

    code, out, _ = cli(capsys, "blind-score", rated)
    assert code == 0 and out == f"blind reading {rated}: " + REPORT


REPORT = """6 poems, 2 readers (ann, bo)

| source | poems rated / in kit | ratings | skipped | readers | fluency | coherence \
| poeticness | judged human |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| poets | 3 / 3 | 5 | 1 | 2 | 4.33 ± 0.65 | 3.83 ± 0.86 | 3.50 ± 0.98 | 0.83 ± 0.33 |
| model (default) | 3 / 3 | 6 | 0 | 2 | 2.00 ± 0.00 | 1.67 ± 0.33 | 1.33 ± 0.33 | 0.17 ± 0.33 |

± is the 95 % interval over the poems: mean ± 1.96·sd/√n, n = the source's rated poems, each \
poem's ratings first averaged over its readers; judged human: the share of a poem's readers \
who guessed a poet, averaged likewise.

Each reader's own means (a reader's bias shows here):

| reader | source | poems rated | fluency | coherence | poeticness | judged human |
| --- | --- | --- | --- | --- | --- | --- |
| ann | poets | 3 | 4.00 | 3.33 | 3.00 | 0.67 |
| ann | model (default) | 3 | 2.00 | 2.00 | 1.33 | 0.33 |
| bo | poets | 2 | 5.00 | 4.50 | 4.50 | 1.00 |
| bo | model (default) | 3 | 2.00 | 1.33 | 1.33 | 0.00 |
"""


def test_variants_are_paired_prompt_by_prompt(tmp_path, capsys):
    def model(variant: str, prompt: str, **changes) -> dict:
        entry = {"source": "model", "variant": variant, "form": "五言绝句", "mode": "start",
                 "prompt": prompt, "seed": 1}  # fmt: skip
        return entry | changes

    poems = {"1": KEY["poems"]["1"], "2": model("base", "a"), "3": model("wide", "a"),
             "4": model("base", "b"), "5": model("wide", "b"), "6": model("wide", "c"),
             # Prompt a again, but another seed, form or mode: other prompts, unrated.
             "7": model("wide", "a", seed=2), "8": model("wide", "a", form="七言绝句"),
             "9": model("wide", "a", mode="theme"),
             # One prompt paired (no interval), and none.
             "10": model("tall", "a"), "11": model("tiny", "c")}  # fmt: skip
    key = {"variants": {"wide": {}, "base": {}}, "poems": poems}
    (tmp_path / "key.json").write_text(json.dumps(key), encoding="utf-8")
    ann = {"1": (5, 5, 5, True), "2": (3, 3, 3, False), "3": (4, 2, 3, True),
           "4": (2, 2, 2, False), "5": (2, 3, 1, False), "6": (5, 5, 5, True),
           "10": (4, 4, 4, False), "11": (1, 1, 1, False)}  # fmt: skip
    for reader, given in (("ann", ann), ("bo", {"3": (2, 2, 3, False)})):
        path = tmp_path / f"ratings-{reader}.json"
        path.write_text(json.dumps(ratings(reader, given)), encoding="utf-8")
    # Against the key's first variant by default.
    code, out, _ = cli(capsys, "blind-score", tmp_path, "--json")
    assert code == 0 and json.loads(out)["paired"]["against"] == "wide"
    # Prompt a: poem 3 (fluency 3 over two readers, coherence 2, poeticness 3, human 1/2)
    # against poem 2 (3, 3, 3, 0); prompt b: poem 5 (2, 3, 1, 0) against 4 (2, 2, 2, 0).
    # Prompt c has no poem of base, so it is not paired.
    code, out, _ = cli(capsys, "blind-score", tmp_path, "--against", "base", "--json")
    changes = json.loads(out)["paired"]
    assert code == 0 and changes["against"] == "base"
    assert list(changes["variants"]) == ["tall", "tiny", "wide"]
    wide = changes["variants"]["wide"]
    assert wide["fluency"] == {"mean": 0.0, "half_width": 0.0, "n": 2, "better": 0, "worse": 0}
    assert wide["coherence"] | {"half_width": 0} == {
        "mean": 0.0, "half_width": 0, "n": 2, "better": 1, "worse": 1}  # fmt: skip
    assert wide["coherence"]["half_width"] == pytest.approx(1.96)
    assert wide["poeticness"]["mean"] == -0.5 and wide["human"]["mean"] == 0.25

    code, out, _ = cli(capsys, "blind-score", tmp_path, "--against", "base")
    assert code == 0 and out.startswith("blind reading") and out.endswith(PAIRED_REPORT)
    code, out, err = cli(capsys, "blind-score", tmp_path, "--against", "tallest")
    message = "no variant tallest in the kit; it has wide, base, tall, tiny"
    assert code == 2 and out == "" and message in err
    # A kit of the poets alone has no variant to pair with.
    poets = tmp_path / "poets"
    poets.mkdir()
    (poets / "key.json").write_text(json.dumps({"poems": {"1": poems["1"]}}), encoding="utf-8")
    (poets / "ratings-ann.json").write_text(json.dumps(ratings("ann", {"1": ann["1"]})))
    code, out, err = cli(capsys, "blind-score", poets, "--against", "base")
    assert code == 2 and out == "" and "no variant base in the kit; it has none" in err


PAIRED_REPORT = """|

Each variant against base, paired by prompt (the poems of one form, mode, prompt and seed): \
the mean difference ± its 95 % interval over the prompts (prompts better / worse):

| variant − base | prompts | fluency | coherence | poeticness | judged human |
| --- | --- | --- | --- | --- | --- |
| tall | 1 | +1.00 (1 / 0) | +1.00 (1 / 0) | +1.00 (1 / 0) | +0.00 (0 / 0) |
| tiny | 0 | n/a | n/a | n/a | n/a |
| wide | 2 | +0.00 ± 0.00 (0 / 0) | +0.00 ± 1.96 (1 / 1) | -0.50 ± 0.98 (0 / 1) | \
+0.25 ± 0.49 (1 / 0) |
"""


def write_ratings(kit, name: str, content: str) -> None:
    (kit / f"ratings-{name}.json").write_text(content, encoding="utf-8")


def one(**changes) -> str:
    rating = {"fluency": 3, "coherence": 3, "poeticness": 3, "human": False} | changes
    return json.dumps({"reader": "cy", "ratings": {"2": rating}})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"reader": "cy", "ratings": {"2": {', "ratings-cy.json: not JSON ("),
        (one(fluency=6), "ratings-cy.json: poem 2: fluency must be a whole number 1 to 5, got 6"),
        (one(coherence=0), "poem 2: coherence must be a whole number 1 to 5, got 0"),
        (one(poeticness=3.5), "poem 2: poeticness must be a whole number 1 to 5, got 3.5"),
        (one(fluency=True), "poem 2: fluency must be a whole number 1 to 5, got True"),
        (one(human="yes"), "poem 2: human must be true or false, got 'yes'"),
        (one(mood=3), "ratings-cy.json: poem 2: unknown field mood"),
        (json.dumps({"reader": "cy", "ratings": {"2": {"fluency": 3, "coherence": 3,
                                                       "poeticness": 3}}}),
         "ratings-cy.json: poem 2: missing human"),
        (one().replace('"2"', '"7"'), "ratings-cy.json: no poem 7 in the kit (1 to 6)"),
        ('{"ratings": {}}', "ratings-cy.json: expected an object with reader and ratings"),
        ('{"reader": "", "ratings": {}}', "ratings-cy.json: reader must be a name"),
        ('{"reader": "ann", "ratings": {}}', "ratings-cy.json: reader ann has another"),
        ('{"reader": "cy", "ratings": {"1": 3}}', "poem 1: a rating must be an object"),
        (one()[:-2] + ', "2": {}}}', 'ratings-cy.json: "2" appears twice'),
    ],
)  # fmt: skip
def test_malformed_ratings_are_one_line_and_exit_2(rated, capsys, content, message):
    write_ratings(rated, "cy", content)
    code, out, err = cli(capsys, "blind-score", rated)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_scoring_needs_a_key_and_ratings(tmp_path, capsys):
    code, _, err = cli(capsys, "blind-score", tmp_path)
    assert code == 2 and f"{tmp_path / 'key.json'}: not found" in err
    (tmp_path / "key.json").write_text(json.dumps(KEY), encoding="utf-8")
    code, _, err = cli(capsys, "blind-score", tmp_path)
    assert code == 2 and f"no ratings-*.json in {tmp_path}" in err


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (KEY | {"poems": {"1": {}}}, "poem 1 must be an object whose source is poet or model"),
        (KEY | {"poems": {"1": "a poem"}}, "poem 1 must be an object whose source is poet or"),
        (
            KEY | {"poems": {"1": {"source": "model"}}},
            "poem 1 is the model's, but names no variant",
        ),
        (KEY | {"variants": 5}, "variants must map names to controls"),
    ],
)
def test_a_key_of_the_wrong_shape_is_one_line_and_exit_2(rated, capsys, key, message):
    (rated / "key.json").write_text(json.dumps(key), encoding="utf-8")
    code, out, err = cli(capsys, "blind-score", rated)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


# --- titles -----------------------------------------------------------------------------------


@pytest.fixture
def titled_generator(monkeypatch):
    """A tiny untrained model that knows titles, with a bank of two titles."""
    chars = "".join(sorted(set(LIANGZHOU + DIAO_BAI + "静夜思春晓凉州词")))
    vocab = Vocab.build([chars], headed=True)
    monkeypatch.setattr("poetry_rnn.writing.titles.title_bank", lambda: {"静夜思": 2, "春晓": 1})
    return PoetryGenerator(tiny_model(vocab), vocab)


def test_a_kit_of_a_titled_model_shows_every_poems_title_and_asks_how_it_fits(
    titled_generator, tmp_path, capsys
):
    out = tmp_path / "kit"
    key = write_kit(out, titled_generator, FIXTURE_CORPUS, n=4, seed=SEED,
                    include=("tang", "song", "tang300"))  # fmt: skip
    assert key["titles"] is True
    poems = key["poems"]
    assert {p["title"] for p in poems.values() if p["source"] == "poet"} == {"吊白居易", "凉州词"}
    assert all(p["title"] in ("静夜思", "春晓") for p in poems.values() if p["source"] == "model")
    shown = (out / "poems.md").read_text(encoding="utf-8")
    for number, poem in poems.items():
        assert f"## {number}\n\n《{poem['title']}》\n\n" in shown
    rubric = (out / "RUBRIC.md").read_text(encoding="utf-8")
    assert "| title_fit | 扣题: is the poem built around its title? |" in rubric
    example = json.loads(re.search(r"```json\n(.*?)```", rubric, flags=re.S).group(1))
    assert example["ratings"]["1"]["title_fit"] == 4
    without = {"reader": "r", "ratings": {"1": {"fluency": 3, "coherence": 3, "poeticness": 3,
                                                "human": False}}}  # fmt: skip
    (out / "ratings-r.json").write_text(json.dumps(without), encoding="utf-8")
    code, _, err = cli(capsys, "blind-score", out)
    assert code == 2 and "poem 1: missing title_fit" in err
    (out / "ratings-r.json").write_text(json.dumps(example), encoding="utf-8")
    code, shown_scores, _ = cli(capsys, "blind-score", out)
    assert code == 0 and "| fluency | coherence | poeticness | title_fit | judged human |" in (
        shown_scores
    )


def test_a_kit_of_a_model_without_titles_shows_none(tmp_path):
    chars = "".join(sorted(set(LIANGZHOU + DIAO_BAI)))
    vocab = Vocab.build([chars])
    out = tmp_path / "kit"
    key = write_kit(out, PoetryGenerator(tiny_model(vocab), vocab), FIXTURE_CORPUS, n=4, seed=SEED,
                    include=("tang", "song", "tang300"))  # fmt: skip
    assert key["titles"] is False
    assert "《" not in (out / "poems.md").read_text(encoding="utf-8")
    assert "title_fit" not in (out / "RUBRIC.md").read_text(encoding="utf-8")


def test_a_titled_model_writes_to_the_poets_titles_in_its_turn(titled_generator):
    poem = {"source": "poet", "form": "七言绝句", "author": "某", "title": "凉州词",
            "text": LIANGZHOU}  # fmt: skip
    jobs = model_jobs(titled_generator, ["七言绝句"] * 5, 1, {"七言绝句": [poem] * 5})
    assert [job["mode"] for job in jobs] == ["free", "start", "acrostic", "theme", "title"]
    assert jobs[-1]["prompt"] == "凉州词" and jobs[-1]["prompt_source"] == "corpus"
    (written,) = titled_generator.write("title", "凉州词", Controls(seed=1, form="七言绝句"))
    assert (written.title, written.mode) == ("凉州词", "title")
    (drawn,) = titled_generator.write("free", "", Controls(seed=1, form="七言绝句"))
    assert drawn.title and drawn.mode == "free"
