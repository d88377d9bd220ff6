"""The generator: every mode and form, exactly; rhyme, tone, seeds; and every refusal."""

import json
import math
from dataclasses import replace

import pytest
import torch
from conftest import FIXTURE_CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poetry_rnn.app.generate_cli import main
from poetry_rnn.corpus.data import CorpusOptions, build_corpus
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.forms import FORMS
from poetry_rnn.model.charrnn import CharRNN, ModelConfig
from poetry_rnn.model.checkpoint import WEIGHTS, save_pretrained
from poetry_rnn.model.quantized import Int8CharRNN
from poetry_rnn.poetics.prosody import check_format, check_poem, check_rhyme, tone_conformance
from poetry_rnn.poetics.rhymes import rhyme_groups, shared_rhymes
from poetry_rnn.poetics.tones import LEVEL, OBLIQUE, tone_of
from poetry_rnn.text import is_han, split_lines, to_simplified, to_traditional
from poetry_rnn.writing import layout
from poetry_rnn.writing.controls import MAX_INPUT_CHARS, Controls
from poetry_rnn.writing.generate import MODES, TITLED_MODES, PoetryGenerator
from poetry_rnn.writing.requests import PLAN_BONUS

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
def test_every_mode_and_form_is_exact_over_fifty_seeds(generator, mode, form):
    poems = [p for seed in range(50) for p in write(generator, mode, form=form, n=2, seed=seed)]
    assert len(poems) == 100
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


def spy_on_plans(generator, monkeypatch) -> list:
    """The plans the generator hands to the decoder, as it decodes them."""
    plans = []
    decode = generator.composer.decode_scored
    monkeypatch.setattr(
        generator.composer,
        "decode_scored",
        lambda plan, *args: plans.append(plan) or decode(plan, *args),
    )
    return plans


def test_an_acrostic_is_planned_from_its_heads_which_print_but_never_steer(generator):
    for poem in generator.acrostic("春秋山水", n=3, seed=4):
        assert poem.plan_source == "heads"
        assert len(poem.plan) == 4 and not set(poem.plan) & set("春秋山水")
        assert [line[0] for line in split_lines(poem.text)] == list("春秋山水")


def test_an_acrostic_without_a_plan_still_keeps_its_heads(generator):
    for poem in generator.acrostic("春秋山水", n=3, seed=4, plan=False):
        assert (poem.mode, poem.plan, poem.plan_source) == ("acrostic", [], "")
        assert [line[0] for line in split_lines(poem.text)] == list("春秋山水")


@pytest.mark.parametrize("plan", [True, False])
def test_an_acrostic_takes_its_style_and_lets_repeated_heads_recur(generator, monkeypatch, plan):
    plans = spy_on_plans(generator, monkeypatch)
    generator.acrostic("春秋春秋", seed=5, style="秋风", plan=plan)
    assert [(p.style, p.repeat_ok) for p in plans] == [("秋风", frozenset("春秋"))]


def test_with_no_form_or_start_the_style_primes_the_line_length(generator, monkeypatch):
    asked = []
    prefers = layout.preferred_line_length
    monkeypatch.setattr(
        layout,
        "preferred_line_length",
        lambda composer, start, style: (
            asked.append((start, style)) or prefers(composer, start, style)
        ),
    )
    generator.generate(style="秋风", seed=1)
    generator.generate("春风", style="秋雨", seed=1)
    generator.themed("秋夜思乡", style="春雨", seed=1)
    assert asked == [("", "秋风"), ("春风", "秋雨"), ("", "春雨")]


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda g: g.acrostic("春秋山水", form="free"),
            "an acrostic needs a regulated form, not free length",
        ),
        (
            lambda g: g.acrostic("春秋山", form="五言绝句"),
            "an acrostic of 3 characters does not fit 五言绝句 (4 lines); forms that fit: none",
        ),
    ],
)
def test_an_acrostic_that_fits_no_form_is_refused_in_full(generator, call, message):
    with pytest.raises(PoetryError) as refused:
        call(generator)
    assert str(refused.value) == message


@pytest.mark.parametrize("start", ["春", "春风", "春风不度玉门关，", "春风不度玉门关，黄河"])
def test_start_text_is_kept_verbatim(generator, start):
    for poem in generator.generate(start, form="七言绝句", n=10, seed=3):
        assert poem.text.startswith(start)
        assert poem.checks.format_ok


def test_free_length_poems_keep_the_start_and_end(generator):
    poems = generator.generate("春风", n=5, seed=4, form="free")
    assert all(p.text.startswith("春风") and p.form is None and p.checks is None for p in poems)
    assert all(p.text.count("<") == 0 for p in poems)
    assert {len(p.text) for p in generator.generate(n=20, seed=4, form="free")} - {24, 32}


def test_a_free_poem_cut_at_the_length_limit_keeps_its_unfinished_line(generator):
    # The untrained model never ends a line in time: every poem stops at 120 characters.
    for poem in generator.generate(n=4, seed=4, form="free"):
        assert len(poem.text) == 120 and poem.text[-1] not in "，。？！；"
        assert "".join(poem.lines) == poem.text and poem.lines[-1][-1] == poem.text[-1]


# --- without a form: a regulated poem ------------------------------------------------------


def fully_regulated(poem, form_name):
    """The poem is exactly ``form_name``, rhymes, and keeps every tone rule."""
    checks = check_poem(poem.text, FORMS[form_name])
    return (
        poem.form == form_name
        and checks.format_ok
        and checks.rhyme_ok
        and checks.tone_satisfied == checks.tone_checked > 0
    )


@pytest.mark.parametrize(
    ("start", "form"),
    [
        ("春风不度玉门关，", "七言绝句"),
        ("床前明月光，疑是", "五言绝句"),
        ("床前明月光。", "五言绝句"),
    ],
)
def test_without_a_form_the_starts_punctuation_sets_the_line_length(generator, start, form):
    for poem in generator.generate(start, n=10, seed=12):
        assert fully_regulated(poem, form), poem.text
        assert poem.text.startswith(start.rstrip("。"))


def test_without_a_form_a_start_past_four_lines_gets_eight(generator):
    jingyesi = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"  # 古体: its own tones are free
    for poem in generator.generate(jingyesi + "春风", n=10, seed=12):
        assert poem.form == "五言律诗" and poem.checks.format_ok and poem.checks.rhyme_ok
        assert poem.text.startswith(jingyesi + "春风")


@pytest.mark.parametrize("mode", ["free", "start", "theme"])
def test_without_a_form_every_mode_writes_a_rhymed_tonal_quatrain(generator, mode):
    text = {"free": "", "start": "春", "theme": "秋夜思乡"}[mode]
    for seed in range(10):
        (poem,) = generator.write(mode, text, Controls(seed=seed))
        assert poem.form in ("五言绝句", "七言绝句") and fully_regulated(poem, poem.form)


def test_without_a_form_an_acrostic_still_takes_its_form_from_the_heads(generator):
    assert generator.acrostic("春秋山水", seed=1)[0].form == "七言绝句"
    assert generator.acrostic("春秋山水风月花雨", seed=1)[0].form == "七言律诗"
    with pytest.raises(PoetryError, match="an acrostic needs a regulated form"):
        generator.acrostic("春秋山水", form="free")


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("，。！", "the start has no Han characters"),
        ("，床前", "the start begins with ，: a mark may only end a line"),
        ("床前。。。", "the start has two marks in a row: one mark ends a line"),
        ("床前，，明月", "the start has two marks in a row: one mark ends a line"),
    ],
)
@pytest.mark.parametrize("form", [None, "五言绝句", "free"])
def test_a_start_of_bare_or_misplaced_punctuation_is_refused(generator, start, message, form):
    with pytest.raises(PoetryError) as error:
        generator.generate(start, form=form)
    assert str(error.value) == message


def test_a_start_without_marks_fills_the_lines_in_turn(generator):
    for poem in generator.generate("床前明月光疑是", form="五言绝句", n=2, seed=1):
        assert poem.text.startswith("床前明月光，疑是")
        assert fully_regulated(poem, "五言绝句")


@pytest.mark.parametrize("form", ["free", "五言绝句"])
def test_a_start_keeps_the_style_and_lets_its_own_repeats_recur(generator, monkeypatch, form):
    plans = spy_on_plans(generator, monkeypatch)
    generator.generate("春风春", form=form, style="秋", seed=1, plan=False)
    assert [(p.style, p.repeat_ok) for p in plans] == [("秋", frozenset("春"))]


def test_a_free_poem_is_planned_from_its_first_line_which_it_keeps(generator, monkeypatch):
    firsts = []  # the first lines the plans grow from, as decoded
    decode = generator.composer.decode

    def recording(*args):
        texts = decode(*args)
        firsts.extend(texts)
        return texts

    monkeypatch.setattr(generator.composer, "decode", recording)
    poems = generator.generate(form="五言绝句", n=2, seed=5)
    # The first line is written alone (its 5 characters and mark), then the poem after it.
    assert [len(t) for t in firsts] == [6, 6]
    assert [p.text[:6] for p in poems] == firsts
    for poem in poems:
        assert (poem.plan_source, len(poem.plan)) == ("first line", 4)
        assert not set(poem.plan) & set(split_lines(poem.text)[0])


def test_without_a_seed_a_planned_poem_draws_one_and_reports_it(generator):
    (poem,) = generator.generate(form="五言绝句")
    assert poem.plan_source == "first line" and 0 <= poem.seed < 2**31
    assert generator.generate(form="五言绝句", seed=poem.seed)[0].text == poem.text


def test_the_largest_seed_writes_several_planned_poems_the_next_seed_from_zero(generator):
    last = 2**63 - 1
    poems = generator.generate(form="五言绝句", n=2, seed=last)
    assert [poem.plan_source for poem in poems] == ["first line"] * 2
    assert [poem.seed for poem in poems] == [last, 0]


@pytest.mark.parametrize("plan", [True, False])
def test_without_a_seed_every_call_draws_a_seed_of_its_own(generator, plan):
    # From 2**31 seeds: forty calls never share one, and each seed is one --seed takes back.
    seeds = [generator.generate(form="五言绝句", plan=plan)[0].seed for _ in range(40)]
    assert len(set(seeds)) == 40 and all(0 <= seed < 2**31 for seed in seeds)


def test_a_first_line_the_statistics_know_nothing_of_leaves_the_plan_empty(generator, monkeypatch):
    monkeypatch.setattr("poetry_rnn.writing.requests.plan_keywords", lambda *args, **kwargs: [])
    for poem in generator.generate(form="五言绝句", n=2, seed=5):
        assert (poem.plan, poem.plan_source) == ([], "")
        assert poem.checks.format_ok and poem.checks.rhyme_ok


def test_a_style_may_carry_punctuation_and_reaches_the_decoder_as_given(generator, monkeypatch):
    plans = spy_on_plans(generator, monkeypatch)
    generator.generate(form="五言绝句", seed=1, style="秋风，落叶。", plan=False)
    assert [p.style for p in plans] == ["秋风，落叶。"]


def test_spaces_in_a_start_are_dropped(generator):
    spaced = generator.generate(" 春 风\t", form="五言绝句", seed=2, n=2)
    assert [p.text for p in spaced] == [
        p.text for p in generator.generate("春风", form="五言绝句", seed=2, n=2)
    ]


def test_a_start_is_planned_from_but_never_with_its_own_characters(generator):
    for poem in generator.generate("春风", form="五言绝句", n=2, seed=3):
        assert (poem.mode, poem.plan_source, len(poem.plan)) == ("start", "start", 4)
        assert not set(poem.plan) & set("春风")


def test_a_start_line_of_another_length_needs_the_free_form(generator):
    with pytest.raises(PoetryError, match="first line has 4 characters, but the lines of a reg"):
        generator.generate("春风不度，")
    with pytest.raises(PoetryError, match="line 1 has 4 characters, but 五言绝句 lines have 5"):
        generator.generate("春风不度，", form="五言绝句")
    poem = generator.generate("春风不度，", form="free", seed=1)[0]
    assert poem.text.startswith("春风不度，") and poem.form is None


# --- the controls and the one way in by mode -------------------------------------------------


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ({"n": 2.5}, "n must be an integer between 1 and 256, got 2.5"),
        ({"n": "2"}, "n must be an integer between 1 and 256, got '2'"),
        ({"n": True}, "n must be an integer"),
        ({"seed": True}, "seed must be an integer from 0 to 2\\*\\*63 - 1, got True"),
        ({"seed": -1}, "seed must be an integer"),
        ({"seed": 1.0}, "seed must be an integer"),
        ({"top_k": 2.5}, "top_k must be 0 \\(off\\) or a positive integer, got 2.5"),
        ({"top_k": -1}, "top_k must be 0"),
        ({"temperature": "0.8"}, "temperature must be a finite number above 0, got '0.8'"),
        ({"temperature": None}, "temperature must be a finite number above 0, got None"),
        ({"temperature": math.nan}, "temperature must be a finite number above 0, got nan"),
        ({"temperature": math.inf}, "temperature must be a finite number above 0, got inf"),
        ({"temperature": 0}, "temperature must be a finite number above 0, got 0"),
        ({"temperature": True}, "temperature must be a finite number"),
        ({"top_p": math.nan}, "top_p must be a number in \\(0, 1\\], got nan"),
        ({"top_p": None}, "top_p must be a number"),
        ({"rhyme": "no"}, "rhyme must be True or False, got 'no'"),
        ({"tone": 0}, "tone must be True or False, got 0"),
        ({"form": 5}, "form must be a form's name, got 5"),
        ({"form": "六言绝句"}, "unknown form '六言绝句'"),
        ({"script": "cursive"}, "script must be simplified or traditional, got 'cursive'"),
        ({"style": 3}, "the style must be text, got int"),
        ({"repeat_penalty": math.nan}, "repeat_penalty must be a number from 0 .* got nan"),
        ({"repeat_penalty": "1"}, "repeat_penalty must be a number from 0 .off. to 10, got '1'"),
        ({"repeat_penalty": True}, "repeat_penalty must be a number"),
        ({"repeat_penalty": None}, "repeat_penalty must be a number"),
        ({"style": "秋" * (MAX_INPUT_CHARS + 1)}, f"at most {MAX_INPUT_CHARS} characters"),
    ],
)
def test_controls_refuse_wrong_types_and_ranges(generator, controls, message):
    with pytest.raises(PoetryError, match=message):
        Controls(**controls)
    with pytest.raises(PoetryError, match=message):
        generator.generate("春风", **controls)


@pytest.mark.parametrize("controls", ["n=2", {"n": 2}, 2, {}, ""])
def test_controls_that_are_not_a_controls_are_refused(generator, controls):
    # A dict is not read as Controls(**dict): a request is checked once, when it is made.
    message = f"controls must be a Controls, got {type(controls).__name__}: pass Controls"
    calls = [
        lambda: generator.write("start", "春风", controls),
        lambda: generator.generate("春风", controls),
        lambda: generator.acrostic("春夏秋冬", controls),
        lambda: generator.themed("秋夜", "plan", controls),
        lambda: generator.revise(REGULAR["五言绝句"], [1], controls),
    ]
    for call in calls:
        with pytest.raises(PoetryError, match=message):
            call()


@pytest.mark.parametrize(
    ("path", "backward", "message"),
    [
        (123, None, "a forward model's directory must be a path, got int"),
        (b"poetry_rnn/pretrained", None, "a forward model's directory must be a path, got bytes"),
        (["poetry_rnn/pretrained"], None, "a forward model's directory must be a path, got list"),
        (None, 123, "a backward model's directory must be a path, got int"),
    ],
)
def test_a_model_directory_that_is_not_a_path_is_refused(path, backward, message):
    with pytest.raises(PoetryError) as error:
        PoetryGenerator.from_pretrained(path, backward=backward)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("edge", "beyond", "message"),
    [
        ({"top_p": 1}, {"top_p": 0}, "top_p must be a number in \\(0, 1\\], got 0"),
        ({"top_p": 1e-9}, {"top_p": 1.01}, "top_p must be a number in \\(0, 1\\], got 1.01"),
        ({"seed": 0}, {"seed": -1}, "seed must be an integer from 0 to 2\\*\\*63 - 1, got -1"),
        ({"seed": 2**63 - 1}, {"seed": 2**63}, "seed must be an integer from 0 to 2\\*\\*63 - 1"),
        ({"n": 1}, {"n": 0}, "n must be an integer between 1 and 256, got 0"),
        ({"n": 256}, {"n": 257}, "n must be an integer between 1 and 256, got 257"),
        ({"coherence": 0}, {"coherence": -0.5}, "coherence must be a number from 0 .off. to 20"),
        ({"coherence": 20}, {"coherence": 20.5}, "coherence must be .* to 20, got 20.5"),
        ({"repeat_penalty": 0}, {"repeat_penalty": -0.5},
         "repeat_penalty must be a number from 0 .off. to 10, got -0.5"),
        ({"repeat_penalty": 10}, {"repeat_penalty": 10.5}, "repeat_penalty must be .* got 10.5"),
        ({"style": "秋" * MAX_INPUT_CHARS}, {"style": "秋" * (MAX_INPUT_CHARS + 1)},
         f"the style is too long: at most {MAX_INPUT_CHARS} characters"),
        ({"search": "sample"}, {"search": "beam"}, "search must be lines or sample, got 'beam'"),
        ({"search": "lines"}, {"search": 5}, "search must be lines or sample, got 5"),
        ({"rhyme_book": "xinyun"}, {"rhyme_book": "cilin"},
         "unknown rhyme book 'cilin'; choose one of pingshui, xinyun"),
    ],
)  # fmt: skip
def test_controls_take_the_edges_of_their_ranges_and_refuse_beyond(edge, beyond, message):
    controls = Controls(**edge)
    assert {name: getattr(controls, name) for name in edge} == edge
    with pytest.raises(PoetryError, match=message):
        Controls(**beyond)


def test_controls_hold_plain_python_numbers():
    # numpy's numbers (a seed from an array, say) would not survive json.dumps.
    controls = Controls(seed=torch.tensor(7).numpy()[()], n=torch.tensor(2).numpy()[()])
    assert (type(controls.seed), type(controls.n)) == (int, int)
    assert json.dumps({"seed": controls.seed, "n": controls.n}) == '{"seed": 7, "n": 2}'


def test_controls_are_one_object_the_package_exports(generator):
    from poetry_rnn import Controls as exported

    controls = exported(form="五言绝句", seed=6, n=3, temperature=0.7)
    by_object = generator.generate("春风", controls)
    by_keywords = generator.generate("春风", form="五言绝句", seed=6, n=3, temperature=0.7)
    assert [p.text for p in by_object] == [p.text for p in by_keywords]
    assert [p.text for p in generator.generate("春风", controls, seed=7)] != [
        p.text for p in by_object
    ]
    with pytest.raises(PoetryError, match=r"unknown controls: colour, size$"):
        generator.generate("春风", size=3, colour="red")


@pytest.mark.parametrize("mode", [mode for mode in MODES if mode not in TITLED_MODES])
def test_write_dispatches_each_mode_to_its_method(generator, mode):
    controls = Controls(form="五言绝句", seed=11, n=2)
    text = {"free": "", "start": "春风", "acrostic": "春秋山水", "theme": "秋夜思乡"}[mode]
    method = {
        "free": lambda: generator.generate(controls=controls),
        "start": lambda: generator.generate(text, controls),
        "acrostic": lambda: generator.acrostic(text, controls),
        "theme": lambda: generator.themed(text, "both", controls),
    }[mode]
    written = generator.write(mode, text, controls, steer="both")
    assert [p.text for p in written] == [p.text for p in method()]
    assert all(p.mode == mode for p in written)


def test_write_refuses_an_unknown_mode_and_an_empty_start(generator):
    with pytest.raises(PoetryError, match="unknown mode 'sonnet'; choose one of free, start"):
        generator.write("sonnet", "春风")
    with pytest.raises(PoetryError, match="the start is empty"):
        generator.write("start", "  ")
    with pytest.raises(PoetryError, match="the start text must be text, got NoneType"):
        generator.write("start", None)


def test_free_mode_text_primes_the_mood_like_a_style(generator):
    by_text = generator.write("free", "秋夜", Controls(form="五言绝句", seed=3))
    by_style = generator.generate(form="五言绝句", seed=3, style="秋夜")
    assert by_text[0].text == by_style[0].text
    plain = generator.generate(form="五言绝句", seed=3)[0].text
    assert by_text[0].text != plain
    assert generator.write("free", controls=Controls(form="五言绝句", seed=3))[0].text == plain


def test_one_input_limit_for_every_mode(generator):
    assert MAX_INPUT_CHARS == 100
    poems = generator.themed("秋" * MAX_INPUT_CHARS, form="五言绝句", n=4, seed=1)
    assert len(poems) == 4  # a theme at the limit is taken
    for call in (generator.themed, generator.acrostic, generator.generate):
        with pytest.raises(PoetryError, match=f"too long: at most {MAX_INPUT_CHARS} characters"):
            call("秋" * (MAX_INPUT_CHARS + 1))


def test_a_theme_may_mix_other_text_with_known_han_characters(generator):
    assert generator.theme_characters("autumn 秋") == ["秋"]
    themed = generator.themed("autumn 秋", form="五言绝句", n=20, seed=2)
    free = generator.generate(form="五言绝句", n=20, seed=2)
    assert sum(p.text.count("秋") for p in themed) >= 10 > sum(p.text.count("秋") for p in free)
    unknown = r"^none of the theme's words are in the model's vocabulary$"
    with pytest.raises(PoetryError, match=unknown):
        generator.themed("autumn 𠀋")
    with pytest.raises(PoetryError, match=unknown):
        generator.themed("，。")  # marks may stand in a theme, but are no words
    with pytest.raises(PoetryError, match="not Han characters: a u t m n"):
        generator.themed("autumn")


def test_a_device_this_machine_lacks_is_the_package_error(model_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(PoetryError, match="device 'cuda' was asked for, but no CUDA device"):
        PoetryGenerator.from_pretrained(model_dir, device="cuda")
    with pytest.raises(PoetryError, match="device must be cpu, cuda or cuda:N, got 'gpu'"):
        PoetryGenerator.from_pretrained(model_dir, device="gpu")


@pytest.mark.parametrize(
    "precision, int8, native, kind",
    [
        ("int8", True, False, "int8"),
        ("bf16", True, False, torch.bfloat16),
        ("fp32", True, True, torch.float32),
        ("auto", True, True, "int8"),
        ("auto", False, True, torch.bfloat16),
        ("auto", False, False, torch.float32),
    ],
)
def test_precision_sets_what_the_model_decodes_in(
    model_dir, monkeypatch, precision, int8, native, kind
):
    monkeypatch.setattr("poetry_rnn.model.checkpoint.int8_supported", lambda: int8)
    monkeypatch.setattr("poetry_rnn.model.checkpoint.native_bf16", lambda device: native)
    generator = PoetryGenerator.from_pretrained(model_dir, precision=precision)
    model = generator.composer.model
    if kind == "int8":
        assert isinstance(model, Int8CharRNN)
    else:
        assert isinstance(model, CharRNN) and {p.dtype for p in model.parameters()} == {kind}
    (poem,) = generator.generate(form="五言绝句", seed=1)
    assert fully_regulated(poem, "五言绝句")


def test_an_unknown_precision_is_refused(model_dir):
    message = r"^precision must be auto, int8, bf16 or fp32, got 'fp16'$"
    with pytest.raises(PoetryError, match=message):
        PoetryGenerator.from_pretrained(model_dir, precision="fp16")


def test_int8_where_its_kernels_are_missing_is_refused(model_dir, monkeypatch):
    monkeypatch.setattr("poetry_rnn.model.checkpoint.int8_supported", lambda: False)
    with pytest.raises(PoetryError, match=r"^int8 runs on a CPU whose PyTorch has the fbgemm"):
        PoetryGenerator.from_pretrained(model_dir, precision="int8")


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
    # Two seeds of 40 poems each: a themed poem's line holds the keyword its plan gives it
    # (51 of 320 lines here) far more often than a free poem's line holds the same keyword (3).
    theme, seeds = "秋天的夜晚，思念远方的故乡", (9, 1)
    themed = [p for s in seeds for p in generator.themed(theme, form="五言绝句", n=40, seed=s)]
    free = [p for s in seeds for p in generator.generate(form="五言绝句", n=40, seed=s)]
    (plan,) = {tuple(p.plan) for p in themed}
    assert set(plan) <= set(chars) and len(plan) == 4

    def lines_with_their_keyword(poems):
        return sum(
            k in line for p in poems for k, line in zip(plan, split_lines(p.text), strict=True)
        )

    assert lines_with_their_keyword(themed) >= max(32, 5 * lines_with_their_keyword(free))


def test_a_theme_grows_its_plan_from_its_keywords(generator):
    for poem in generator.themed("秋夜思乡", form="五言绝句", n=2, seed=3):
        assert (poem.mode, poem.plan_source, len(poem.plan)) == ("theme", "theme", 4)
        assert set(poem.plan) & set("秋夜思乡")


def test_a_theme_without_a_plan_cycles_its_keywords_one_a_line(generator, monkeypatch):
    plans = spy_on_plans(generator, monkeypatch)
    chars = generator.theme_characters("秋夜思乡")
    (poem,) = generator.themed("秋夜思乡", form="七言律诗", seed=3, plan=False)
    cycled = [chars[line % len(chars)] for line in range(8)]
    assert (poem.mode, poem.plan, poem.plan_source) == ("theme", cycled, "theme")
    assert plans[0].bias == {line: {char: PLAN_BONUS} for line, char in enumerate(cycled)}


def test_a_primed_theme_neither_plans_nor_favours(generator, monkeypatch):
    plans = spy_on_plans(generator, monkeypatch)
    chars = "".join(generator.theme_characters("秋夜思乡"))
    (poem,) = generator.themed("秋夜思乡", "prime", form="五言绝句", seed=3, style="月")
    assert (poem.mode, poem.plan, poem.plan_source) == ("theme", [], "")
    assert (plans[0].style, plans[0].bias) == ("月" + chars, {})


@pytest.mark.parametrize("steer", ["plan", "prime"])
def test_a_free_length_theme_favours_its_keywords_everywhere(generator, monkeypatch, steer):
    plans = spy_on_plans(generator, monkeypatch)
    chars = generator.theme_characters("秋夜思乡")
    poems = generator.themed("秋夜思乡", steer, form="free", n=2, seed=3)
    assert [(p.mode, p.form, p.plan) for p in poems] == [("theme", None, [])] * 2
    favoured = {-1: dict.fromkeys(chars, PLAN_BONUS / 3)} if steer == "plan" else {}
    assert (plans[0].form, plans[0].bias) == (None, favoured)


def test_an_unknown_steer_is_refused_in_full(generator):
    with pytest.raises(PoetryError, match=r"^steer must be plan, prime or both, got 'push'$"):
        generator.themed("秋夜", "push")


def test_a_long_theme_is_planned_from_its_eight_strongest_keywords(generator):
    # jieba ranks 16 keywords here; 故乡, 夜晚, 山上, 门前 and the rest past the eighth are left.
    theme = (
        "秋天的夜晚，我独自登上高楼，望着远方的故乡，"
        "想起江边的小船、山上的寺庙、门前的柳树和母亲的白发"
    )
    assert generator.theme_characters(theme) == list("高楼柳树白发江边远方小船寺秋天")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda g: g.acrostic(""), "the acrostic is empty"),
        (lambda g: g.acrostic("   "), "the acrostic is empty"),
        (lambda g: g.themed(" \n"), "the theme is empty"),
        (lambda g: g.write("start", "  "), "the start is empty"),
        (lambda g: g.generate("𠀋𠀋"), "the start has characters the model does not know: 𠀋"),
        (
            lambda g: g.generate("𠀋𠀍𠀋"),
            "the start has characters the model does not know: 𠀋 𠀍",
        ),
        (lambda g: g.generate(5), "the start must be text, got int"),
        (lambda g: g.acrostic(["春"]), "the acrostic must be text, got list"),
        (
            lambda g: g.acrostic("春，秋夏"),
            "the acrostic has characters that are not Han characters: ，",
        ),
        (
            lambda g: g.acrostic("春X秋夏"),
            "the acrostic has characters that are not Han characters: X",
        ),
        (
            lambda g: g.generate("春abc"),
            "the start has characters that are not Han characters: a b c",
        ),
        (
            lambda g: g.generate("春风不度玉门关，" * 5, form="七言绝句"),
            "the start is longer than 七言绝句 holds (4 lines of 7 characters)",
        ),
        (
            lambda g: g.generate("春风，", form="七言绝句"),
            "the start's line 1 has 2 characters, but 七言绝句 lines have 7",
        ),
        (
            lambda g: g.acrostic("春秋山水风"),
            "an acrostic of 5 characters fits no form: give 4 (绝句) or 8 (律诗) characters",
        ),
        (
            lambda g: g.acrostic("春秋山水", form="五言律诗"),
            "an acrostic of 4 characters does not fit 五言律诗 (8 lines); "
            "forms that fit: 五言绝句, 七言绝句",
        ),
        (
            lambda g: g.generate(temperature=0),
            "temperature must be a finite number above 0, got 0",
        ),
        (lambda g: g.generate(top_p=0), "top_p must be a number in (0, 1], got 0"),
        (lambda g: g.generate(top_p=1.5), "top_p must be a number in (0, 1], got 1.5"),
        (lambda g: g.generate(n=0), "n must be an integer between 1 and 256, got 0"),
        (lambda g: g.generate(n=10**6), "n must be an integer between 1 and 256, got 1000000"),
        (
            lambda g: g.generate(form="六言绝句"),
            "unknown form '六言绝句'; the closest: 五言绝句, 七言绝句 "
            "(--list-forms lists them all)",
        ),
        (
            lambda g: g.generate(style="hello"),
            "the style has characters that are not Han characters: h e l o",
        ),
    ],
)
def test_bad_input_raises_the_package_error(generator, call, message):
    with pytest.raises(PoetryError) as error:
        call(generator)
    assert str(error.value) == message


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


@pytest.fixture(scope="module")
def known_han(generator) -> str:
    """The Han characters the fixture model knows, as users type them (simplified)."""
    return "".join(t for t in generator.vocab.tokens if is_han(t) and to_simplified(t) == t)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), mode=st.sampled_from(["start", "acrostic", "theme", "style"]))
def test_known_han_text_gives_poems_that_keep_it(generator, known_han, data, mode):
    size = {"start": (1, 5), "acrostic": (4, 4)}.get(mode, (1, 12))
    text = data.draw(st.text(st.sampled_from(known_han), min_size=size[0], max_size=size[1]))
    if mode == "start":
        poems = generator.generate(text, form="五言绝句", seed=0)
        assert all(p.text.startswith(text) for p in poems)
    elif mode == "acrostic":
        poems = generator.acrostic(text, seed=0)
        assert all(p.form == "七言绝句" for p in poems)
        assert all("".join(line[0] for line in p.lines) == text for p in poems)
    elif mode == "theme":
        poems = generator.themed(text, form="五言绝句", seed=0)
        assert all(p.mode == "theme" for p in poems)
    else:
        poems = generator.generate(style=text, form="五言绝句", seed=0)
    assert poems and all(p.checks.format_ok and p.checks.rhyme_ok for p in poems)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=30), mode=st.sampled_from(["start", "acrostic", "theme", "style"]))
def test_arbitrary_unicode_gives_poems_or_the_package_error(generator, text, mode):
    # Mostly refusals: the property above holds the valid texts to poems.
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


def test_cli_without_a_form_writes_a_rhymed_tonal_quatrain(model_dir, capsys):
    code, out, _ = cli(capsys, "--model", str(model_dir), "--start", "春风", "--json")
    (poem,) = json.loads(out)
    assert code == 0 and poem["form"] in ("五言绝句", "七言绝句") and poem["mode"] == "start"
    assert len(poem["lines"]) == 4 and poem["text"].startswith("春风")
    assert poem["checks"]["rhyme_ok"] and poem["checks"]["tone_rate"] == 1.0
    code, out, _ = cli(capsys, "--model", str(model_dir), "--form", "free", "--json")
    assert code == 0 and json.loads(out)[0]["form"] is None and json.loads(out)[0]["mode"] == "free"


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
    # Readable as it is: the characters themselves, two spaces an indent.
    assert out.startswith(f'[\n  {{\n    "text": "{poems[0]["text"]}",\n')
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
        (["--start", ""], "the start is empty"),
        (["--start", "，。！"], "the start has no Han characters"),
        (["--start", "，床前"], "the start begins with ，"),
        (["--start", "床前。。。"], "the start has two marks in a row"),
        (["--temperature", "inf"], "temperature must be a finite number above 0, got inf"),
        (["--temperature", "nan"], "temperature must be a finite number above 0, got nan"),
        (["--n", "2.5"], "argument --n: invalid int value: '2.5'"),
        (["--form", "sonnet"], "unknown form 'sonnet'; the closest: 五言绝句"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(model_dir, capsys, argv, message):
    code, _, err = cli(capsys, "--model", str(model_dir), *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_cli_without_a_model_says_so(capsys, tmp_path):
    code, _, err = cli(capsys, "--model", str(tmp_path / "none"))
    assert code == 2 and "model directory not found" in err


@pytest.mark.parametrize("book", ["pingshui", "xinyun"])
def test_the_rhyme_follows_the_chosen_book(book):
    shipped = PoetryGenerator.from_pretrained()
    other = "xinyun" if book == "pingshui" else "pingshui"
    # Token sampling: the search's likeliest poems favour the groups the books share.
    controls = Controls(form="七言律诗", rhyme_book=book, n=24, seed=2, search="sample")
    poems = shipped.write("start", "床前", controls)
    assert all(check_rhyme(poem.text, FORMS["七言律诗"], book) for poem in poems)
    assert all(poem.checks.rhyme_ok for poem in poems)  # checked by the same book
    # The two books disagree on enough characters that some poems rhyme in one book only.
    assert not all(check_rhyme(poem.text, FORMS["七言律诗"], other) for poem in poems)


def test_an_unknown_rhyme_book_is_refused(capsys):
    with pytest.raises(PoetryError, match="unknown rhyme book 'guangyun'"):
        Controls(rhyme_book="guangyun")
    assert run_cli(main, ["--start", "床前", "--rhyme-book", "guangyun"]) == 2
    assert "--rhyme-book" in capsys.readouterr().err


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_start_of_known_characters_is_accepted_and_kept(generator, data):
    """Valid input is never refused: a start of up to 5 Han characters the model knows always
    gives a 五言绝句 that begins with it."""
    known = sorted(c for c in generator.vocab.tokens if len(c) == 1 and "\u4e00" <= c <= "\u9fff")
    start = "".join(data.draw(st.lists(st.sampled_from(known), min_size=1, max_size=5)))
    (poem,) = generator.generate(start, form="五言绝句", seed=0)
    assert poem.text.startswith(start) and poem.checks.format_ok


# --- revise: keep what the poet likes, rewrite the rest -----------------------------------

# The poets' regular poems, one of each form; the fixture vocabulary has all their characters.
REGULAR = {
    "五言绝句": "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
    "七言绝句": "月落乌啼霜满天，江枫渔火对愁眠。姑苏城外寒山寺，夜半钟声到客船。",
    "五言律诗": "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。"
    "烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
    "七言律诗": "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
    "万里悲秋常作客，百年多病独登台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。",
}


@pytest.mark.parametrize("form", FORM_NAMES)
def test_revise_keeps_the_kept_lines_and_rewrites_the_rest_by_the_rules(generator, form):
    original = split_lines(REGULAR[form])
    keep = [2, 3] if FORMS[form].lines == 4 else [1, 4, 7]
    poems = generator.revise(REGULAR[form], keep, n=8, seed=5)
    for poem in poems:
        lines = split_lines(poem.text)
        assert [lines[i - 1] for i in keep] == [original[i - 1] for i in keep]
        assert poem.form == form and poem.mode == "revise"
        assert poem.checks.format_ok and poem.checks.rhyme_ok
        assert poem.checks.tone_satisfied == poem.checks.tone_checked
    rewritten = [i for i in range(1, FORMS[form].lines + 1) if i not in keep]
    assert any(split_lines(p.text)[i - 1] != original[i - 1] for p in poems for i in rewritten)


def test_revise_keeps_single_characters_given_in_either_script(generator):
    keep = {(1, 1): "白", (3, 5): "目", (4, 5): "樓"}  # 樓: 楼 in traditional characters
    for poem in generator.revise(REGULAR["五言绝句"], keep, n=8, seed=6):
        lines = split_lines(poem.text)
        assert (lines[0][0], lines[2][4], lines[3][4]) == ("白", "目", "楼")
    (traditional,) = generator.revise(REGULAR["五言绝句"], keep, seed=6, script="traditional")
    assert split_lines(traditional.text)[3][4] == "樓"


def test_a_kept_rhyme_line_sets_the_rhyme_group_of_the_lines_before_it(generator):
    """Only line 8 of 春望 is kept: lines 2, 4 and 6, written first, rhyme in a group of 簪
    (下平十二侵 or 十三覃), and none of them takes 簪 itself."""
    assert rhyme_groups("簪") == {"下平十二侵", "下平十三覃"}
    for seed in (7, 8):
        for poem in generator.revise(REGULAR["五言律诗"], [8], n=8, seed=seed):
            ends = [line[-1] for line in split_lines(poem.text)[1::2]]
            assert ends[-1] == "簪" and "簪" not in ends[:-1]
            assert shared_rhymes(ends) & rhyme_groups("簪"), ends


def test_kept_tones_later_in_the_poem_set_the_pattern_of_the_lines_before(generator):
    """Only line 4 of 登鹳雀楼 is kept (更上一层楼: 上 仄 at 2, 层 平 at 4). The tone rules read
    the tones before a position, yet line 1, written first, takes the tones its pattern wants
    there — 仄 at 2, 平 at 4, as 白日依山尽 has them — and the whole poem conforms."""
    for seed in (9, 10):
        for poem in generator.revise(REGULAR["五言绝句"], [4], n=8, seed=seed):
            lines = split_lines(poem.text)
            assert lines[3] == "更上一层楼"
            assert tone_of(lines[0][1]) in (OBLIQUE, None) and tone_of(lines[0][3]) in (LEVEL, None)
            assert poem.checks.tone_satisfied == poem.checks.tone_checked


@pytest.mark.parametrize(
    ("poem", "keep", "controls", "message"),
    [
        (
            "春风又绿江南岸",
            [1],
            {},
            "1 line of 7 characters: not one of 五言绝句, 七言绝句, 五言律诗, 七言律诗",
        ),
        (REGULAR["五言绝句"], [5], {}, "line 5 is out of range: a 五言绝句 has lines 1–4"),
        (REGULAR["五言绝句"], [0], {}, "line 0 is out of range: a 五言绝句 has lines 1–4"),
        (REGULAR["五言绝句"], ["1"], {}, "line '1' is out of range: a 五言绝句 has lines 1–4"),
        (
            REGULAR["五言绝句"],
            {(1, 6): "尽"},
            {},
            "character 6 is out of range: a line of 五言绝句 has characters 1–5",
        ),
        (REGULAR["五言绝句"], {(1, 1): "黑"}, {}, "line 1, character 1 is 白, not '黑'"),
        (REGULAR["五言绝句"], {1: "白"}, {}, "a kept position must be (line, position), got 1"),
        (
            REGULAR["五言绝句"],
            b"\x01",
            {},
            "keep must be line numbers or {(line, position): character}, got b'\\x01'",
        ),
        (
            REGULAR["五言绝句"],
            bytearray(b"\x01"),
            {},
            "keep must be line numbers or {(line, position): character}, got bytearray(b'\\x01')",
        ),
        (
            REGULAR["五言绝句"],
            "1,3",
            {},
            "keep must be line numbers or {(line, position): character}, got '1,3'",
        ),
        (
            REGULAR["五言绝句"],
            [1],
            {"form": "七言绝句"},
            "4 lines of 5, 5, 5, 5 characters: not 七言绝句 (4 lines of 7)",
        ),
        (
            REGULAR["五言绝句"],
            [1],
            {"form": "free"},
            "revising keeps the poem's own form, not free length",
        ),
        (
            "白日依山尽，黄河入海流。欲穷千里靐，更上一层龘。",
            [3, 4],
            {},
            "the kept characters include ones the model does not know: 靐 龘",
        ),
    ],
)
def test_revise_refuses_what_it_cannot_keep(generator, poem, keep, controls, message):
    with pytest.raises(PoetryError) as error:
        generator.revise(poem, keep, **controls)
    assert str(error.value) == message


def test_without_a_form_a_start_of_four_whole_lines_is_that_quatrain(generator):
    (poem,) = generator.generate(REGULAR["五言绝句"], seed=1)
    assert poem.form == "五言绝句" and poem.text == REGULAR["五言绝句"]


def test_revise_refuses_bytes_as_line_numbers(generator):
    # Bytes are a sequence of integers: b"\x01" once kept line 1.
    for keep in (b"\x01", bytearray(b"\x01\x02"), memoryview(b"\x01")):
        with pytest.raises(PoetryError, match="keep must be line numbers or"):
            generator.revise(REGULAR["五言绝句"], keep)


def test_revise_takes_the_poem_generate_returned(generator):
    (written,) = generator.generate("白日", form="五言绝句", seed=3)
    traditional = replace(written, text=to_traditional(written.text))
    for poem in (written, traditional):
        (revised,) = generator.revise(poem, [1, 3], seed=4)
        assert split_lines(revised.text)[::2] == split_lines(written.text)[::2]
        assert revised.form == "五言绝句"


def test_revise_writes_under_the_controls_given(generator, monkeypatch):
    # The controls object and a style: 3 poems of seed 5, primed by the style.
    controls = Controls(n=3, seed=5)
    plain = generator.revise(REGULAR["五言绝句"], [1], controls)
    assert [p.seed for p in plain] == [5, 5, 5] and len({p.text for p in plain}) == 3
    plans = spy_on_plans(generator, monkeypatch)
    styled = generator.revise(REGULAR["五言绝句"], [1], replace(controls, style="秋风落叶"))
    assert [p.style for p in plans] == ["秋风落叶"]
    assert all(p.text.startswith("白日依山尽，") for p in plain + styled)


def test_the_score_is_the_log_likelihood_per_token_and_ranks_the_search(generator):
    controls = Controls(form="五言绝句", search="sample", parallel=False, coherence=0, seed=2)
    (sampled,) = generator.generate("春风", controls)
    vocab, model = generator.vocab, generator.composer.model
    ids = torch.tensor([vocab.encode(sampled.text, wrap=True)])
    with torch.inference_mode():
        logits, _ = model(ids[:, :-1])
    loglik = logits.float().log_softmax(-1).gather(2, ids[:, 1:, None]).sum()
    assert sampled.score == pytest.approx(float(loglik) / (ids.shape[1] - 1), abs=0.02)
    # The coherence term (2 per character at the default weight) raises the same poem's score.
    (weighted,) = generator.generate("春风", replace(controls, coherence=2.0))
    assert weighted.text == sampled.text and weighted.score != sampled.score
    searched = generator.generate("春风", form="五言绝句", n=4, seed=2)
    scores = [poem.score for poem in searched]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4


def test_cli_revises_keeping_the_lines_named(model_dir, capsys):
    code, out, _ = cli(capsys, "--model", str(model_dir), "--revise", REGULAR["七言绝句"],
                       "--keep", "1,4", "--seed", "3", "--json")  # fmt: skip
    (poem,) = json.loads(out)
    original = split_lines(REGULAR["七言绝句"])
    assert code == 0 and poem["mode"] == "revise" and poem["form"] == "七言绝句"
    assert [poem["lines"][0][:7], poem["lines"][3][:7]] == [original[0], original[3]]
    assert isinstance(poem["score"], float) and poem["score"] < 0
    assert poem["seed"] == 3  # the controls reach the revision


def test_cli_revise_without_keep_rewrites_every_line_in_the_form(model_dir, capsys):
    code, out, _ = cli(capsys, "--model", str(model_dir), "--revise", REGULAR["五言绝句"],
                       "--seed", "4", "--json")  # fmt: skip
    (poem,) = json.loads(out)
    assert code == 0 and (poem["mode"], poem["form"]) == ("revise", "五言绝句")
    assert poem["checks"]["format_ok"] and poem["checks"]["rhyme_ok"]
    assert poem["text"] != REGULAR["五言绝句"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--keep", "1"], "--keep goes with --revise"),
        (
            ["--revise", REGULAR["五言绝句"], "--keep", "1;3"],
            "--keep wants line numbers, e.g. 1,3, got '1;3'",
        ),
        (
            ["--revise", "春风", "--keep", "1"],
            "1 line of 2 characters: not one of 五言绝句, 七言绝句, 五言律诗, 七言律诗",
        ),
    ],
)
def test_cli_revise_errors_are_one_line(model_dir, capsys, argv, message):
    code, _, err = cli(capsys, "--model", str(model_dir), *argv)
    assert code == 2 and err == f"error: {message}\n"


def test_revise_lets_the_kept_text_repeat_what_it_repeats(generator, monkeypatch):
    # 萧萧 in the kept line 3 of 登高: 萧 may come again, as the user's own text has it twice.
    plans = spy_on_plans(generator, monkeypatch)
    generator.revise(REGULAR["七言律诗"], [3], seed=1, style="秋风")
    assert [(plan.repeat_ok, plan.style) for plan in plans] == [(frozenset("萧"), "秋风")]


def test_a_backward_model_joins_the_search_from_the_command_line(model_dir, tmp_path, capsys):
    """``--backward``: its reading of each poem from the end changes which lines the search
    keeps; a forward model, or one of another vocabulary, is refused in one line."""
    forward = PoetryGenerator.from_pretrained(model_dir)
    vocab = forward.vocab
    torch.manual_seed(1)
    config = ModelConfig(len(vocab), 16, 32, 1, direction="backward")
    backward = CharRNN(config)
    with torch.no_grad():
        backward.decoder.bias[vocab.index["山"]] = 20.0  # reads 山 everywhere
    save_pretrained(tmp_path / "back", backward, vocab)
    generator = PoetryGenerator.from_pretrained(model_dir, backward=tmp_path / "back")
    assert generator.composer.backward.config.direction == "backward"
    argv = ["--form", "五言绝句", "--seed", "3", "--n", "2", "--model", str(model_dir), "--json"]
    plain = json.loads(cli(capsys, *argv)[1])
    backed = json.loads(cli(capsys, *argv, "--backward", str(tmp_path / "back"))[1])
    assert [poem["text"] for poem in plain] != [poem["text"] for poem in backed]
    assert all(poem["checks"]["format_ok"] and poem["checks"]["rhyme_ok"] for poem in backed)

    code, _, err = cli(capsys, *argv, "--backward", str(model_dir))
    assert code == 2 and err.strip() == (
        f"error: {model_dir} holds a forward model, but a backward one is needed"
    )
    other = Vocab(["<pad>", "<s>", "</s>", "<unk>", "山"])
    save_pretrained(tmp_path / "other", CharRNN(replace(config, vocab_size=5)), other)
    code, _, err = cli(capsys, *argv, "--backward", str(tmp_path / "other"))
    assert code == 2 and "has another vocabulary than the forward model" in err
