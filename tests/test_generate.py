"""The generator: every mode and form, exactly; rhyme, tone, seeds; and every refusal."""

import json

import pytest
import torch
from conftest import FIXTURE_CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poetry_rnn.checkpoint import WEIGHTS, save_pretrained
from poetry_rnn.data import CorpusOptions, build_corpus
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.generate import PoetryGenerator, main
from poetry_rnn.model import CharRNN, ModelConfig
from poetry_rnn.prosody import FORMS, check_format, check_rhyme, tone_conformance
from poetry_rnn.text import split_lines

FORM_NAMES = list(FORMS)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """An untrained model over the fixture corpus's vocabulary: the constraints alone must
    give every form, rhyme and tone rule, whatever the model prefers."""
    options = CorpusOptions(include=("tang", "song", "tang300"), min_freq=1, split=(1, 0, 0))
    vocab = build_corpus(FIXTURE_CORPUS, options, progress=False).vocab
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(len(vocab), embedding_dim=16, hidden_size=32, num_layers=1))
    directory = tmp_path_factory.mktemp("model")
    save_pretrained(directory, model, vocab)
    return directory


@pytest.fixture(scope="session")
def generator(model_dir):
    return PoetryGenerator.from_pretrained(model_dir)


def write(generator, mode, **controls):
    if mode == "free":
        return generator.generate(**controls)
    if mode == "start":
        return generator.generate("春风", **controls)
    if mode == "acrostic":
        form = FORMS[controls["form"]]
        return generator.acrostic("春秋山水风月花雨"[: form.lines], **controls)
    return generator.themed("秋天的夜晚，思念远方的故乡", **controls)


@pytest.mark.parametrize("form", FORM_NAMES)
@pytest.mark.parametrize("mode", ["free", "start", "acrostic", "theme"])
def test_every_mode_and_form_is_exact_over_hundreds_of_seeds(generator, mode, form):
    poems = [p for seed in range(100) for p in write(generator, mode, form=form, n=2, seed=seed)]
    assert len(poems) == 200
    for poem in poems:
        assert check_format(poem.text, FORMS[form]), poem.text
        assert check_rhyme(poem.text, FORMS[form]), poem.text
        satisfied, checked = tone_conformance(poem.text, FORMS[form])
        assert satisfied == checked > 0, poem.text
        assert poem.checks.format_ok and poem.checks.rhyme_ok and poem.mode == mode
        assert max(poem.text.count(c) for c in set(poem.text) - set("，。")) <= 2


def test_the_library_api_from_the_package(model_dir):
    from poetry_rnn import Poem, PoetryGenerator

    poem = PoetryGenerator.from_pretrained(model_dir).acrostic("春秋山水", seed=1)[0]
    assert isinstance(poem, Poem) and poem.form == "七言绝句" and poem.checks.format_ok


def test_acrostic_heads_stand_at_the_line_starts(generator):
    for poem in generator.acrostic("春秋山水", form="五言绝句", n=20, seed=1):
        assert [line[0] for line in split_lines(poem.text)] == list("春秋山水")
    eight = generator.acrostic("春秋山水风月花雨", n=3, seed=2)[0]
    assert eight.form == "七言律诗"
    assert [line[0] for line in split_lines(eight.text)] == list("春秋山水风月花雨")


@pytest.mark.parametrize("start", ["春", "春风", "春风不度玉门关，", "春风不度玉门关，黄河"])
def test_start_text_is_kept_verbatim(generator, start):
    for poem in generator.generate(start, form="七言绝句", n=10, seed=3):
        assert poem.text.startswith(start)
        assert poem.checks.format_ok


def test_free_length_poems_keep_the_start_and_end(generator):
    poems = generator.generate("春风", n=5, seed=4)
    assert all(p.text.startswith("春风") and p.form is None and p.checks is None for p in poems)
    assert all(p.text.count("<") == 0 for p in poems)


def test_traditional_input_and_output(generator):
    poem = generator.generate("春風", form="五言绝句", seed=5, script="traditional")[0]
    assert poem.text.startswith("春風")
    simplified = generator.generate("春風", form="五言绝句", seed=5)[0]
    assert simplified.text.startswith("春风")


def test_same_seed_same_poem(generator):
    first = generator.acrostic("春秋山水", form="七言绝句", n=3, seed=42)
    again = generator.acrostic("春秋山水", form="七言绝句", n=3, seed=42)
    other = generator.acrostic("春秋山水", form="七言绝句", n=3, seed=43)
    assert [p.text for p in first] == [p.text for p in again]
    assert [p.text for p in first] != [p.text for p in other]


def test_a_batch_is_as_valid_as_single_runs(generator):
    batch = generator.generate(form="五言律诗", n=16, seed=7)
    singles = [generator.generate(form="五言律诗", seed=s)[0] for s in range(16)]
    for poems in (batch, singles):
        assert all(p.checks.format_ok and p.checks.rhyme_ok for p in poems)
        assert all(p.checks.tone_satisfied == p.checks.tone_checked for p in poems)


def test_constraints_can_be_switched_off(generator):
    poems = generator.generate(form="七言律诗", n=40, seed=8, rhyme=False, tone=False)
    assert all(p.checks.format_ok for p in poems)
    assert not all(p.checks.rhyme_ok for p in poems)


def test_theme_keywords_steer_the_poem(generator):
    chars = generator.theme_characters("秋天的夜晚，思念远方的故乡")
    assert "秋" in chars and "乡" in chars
    themed = generator.themed("秋天的夜晚，思念远方的故乡", form="五言绝句", n=40, seed=9)
    free = generator.generate(form="五言绝句", n=40, seed=9)

    def theme_chars(poems):
        return sum(p.text.count(c) for p in poems for c in chars)

    assert theme_chars(themed) >= 3 * theme_chars(free)
    assert sum(any(c in p.text for c in chars) for p in themed) >= 30


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda g: g.acrostic(""), "the acrostic is empty"),
        (lambda g: g.acrostic("   "), "the acrostic is empty"),
        (lambda g: g.themed(" \n"), "the theme is empty"),
        (lambda g: g.generate("𠀋𠀋"), "does not know: 𠀋"),
        (lambda g: g.generate("春abc"), "not Han characters: a b c"),
        (lambda g: g.generate("春风不度玉门关，" * 5, form="七言绝句"), "longer than 七言绝句"),
        (lambda g: g.generate("春风，", form="七言绝句"), "line 1 has 2 characters"),
        (lambda g: g.acrostic("春秋山水风"), "fits no form"),
        (lambda g: g.acrostic("春秋山水", form="五言律诗"), "forms that fit: 五言绝句, 七言绝句"),
        (lambda g: g.generate(temperature=0), "temperature must be above 0"),
        (lambda g: g.generate(top_p=0), "top_p must be in (0, 1]"),
        (lambda g: g.generate(top_p=1.5), "top_p must be in (0, 1]"),
        (lambda g: g.generate(n=0), "n must be between 1"),
        (lambda g: g.generate(n=10**6), "n must be between 1"),
        (lambda g: g.generate(form="六言绝句"), "unknown form"),
        (lambda g: g.generate(style="hello"), "style has characters"),
    ],
)
def test_bad_input_raises_the_package_error(generator, call, message):
    with pytest.raises(PoetryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(generator)


def test_missing_or_damaged_model_directory(model_dir, tmp_path):
    with pytest.raises(PoetryError, match="model directory not found"):
        PoetryGenerator.from_pretrained(tmp_path / "nowhere")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for file in model_dir.iterdir():
        (damaged / file.name).write_bytes(file.read_bytes())
    (damaged / WEIGHTS).write_bytes((damaged / WEIGHTS).read_bytes()[:-3])
    with pytest.raises(PoetryError, match="damaged"):
        PoetryGenerator.from_pretrained(damaged)


@settings(
    max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=30), mode=st.sampled_from(["start", "acrostic", "theme", "style"]))
def test_arbitrary_unicode_gives_poems_or_the_package_error(generator, text, mode):
    try:
        if mode == "start":
            poems = generator.generate(text, form="五言绝句", seed=0)
        elif mode == "acrostic":
            poems = generator.acrostic(text, seed=0)
        elif mode == "theme":
            poems = generator.themed(text, form="五言绝句", seed=0)
        else:
            poems = generator.generate(style=text, form="五言绝句", seed=0)
    except PoetryError as error:
        assert "\n" not in str(error)
        return
    assert poems and all(p.checks.format_ok for p in poems)


# --- command line -------------------------------------------------------------------------


def cli(capsys, *argv):
    code = run_cli(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_one_line_per_row_and_a_blank_row_between_poems(model_dir, capsys):
    code, out, _ = cli(capsys, "--model", str(model_dir), "--start", "春风", "--form", "七言绝句",
                       "--n", "2", "--seed", "1")  # fmt: skip
    assert code == 0
    poems = out.strip().split("\n\n")
    assert len(poems) == 2
    for poem in poems:
        rows = poem.split("\n")
        assert len(rows) == 4 and rows[0].startswith("春风") and all(len(r) == 8 for r in rows)


def test_cli_json(model_dir, capsys):
    code, out, _ = cli(capsys, "--model", str(model_dir), "--acrostic", "春秋山水", "--json",
                       "--seed", "3", "--traditional")  # fmt: skip
    poems = json.loads(out)
    assert code == 0 and len(poems) == 1
    assert {"text", "lines", "form", "mode", "seed", "checks"} <= set(poems[0])
    assert poems[0]["mode"] == "acrostic" and poems[0]["seed"] == 3
    assert poems[0]["checks"]["format_ok"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--acrostic", "春秋山水风"], "fits no form"),
        (["--start", "abc"], "not Han characters"),
        (["--temperature", "-1"], "temperature"),
        (["--theme", ""], "the theme is empty"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(model_dir, capsys, argv, message):
    code, _, err = cli(capsys, "--model", str(model_dir), *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_cli_without_a_model_says_so(capsys, tmp_path):
    code, _, err = cli(capsys, "--model", str(tmp_path / "none"))
    assert code == 2 and "model directory not found" in err
