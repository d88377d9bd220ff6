"""The decoding rules, pinned: each test breaks if its rule is dropped from the decoder.

The tests decode batches of seeded poems (n=32) with the shipped model and check every poem
against the rule as the prosody tables state it, independently of the decoder.
"""

import itertools

import pytest
import torch

from poetry_rnn.checkpoint import from_pretrained
from poetry_rnn.decoding import FINAL_MARKS, Decoder, Plan, Sampling, form_plan
from poetry_rnn.errors import PoetryError
from poetry_rnn.model import CharRNN, ModelConfig
from poetry_rnn.prosody import (
    FORMS,
    RHYME_BOOKS,
    attested_doubles,
    check_format,
    check_rhyme,
    rhyme_positions,
    tone_conformance,
    tone_of,
    unattested_doubles,
)
from poetry_rnn.text import PUNCTUATION, is_han, split_lines
from poetry_rnn.vocab import SPECIALS, Vocab

N = 32
SAMPLING = Sampling()  # the product's defaults: temperature 0.8, top-p 0.9


@pytest.fixture(scope="module")
def decoder():
    # One thread decodes batches this small fastest, and far faster on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield Decoder(*from_pretrained())
    torch.set_num_threads(threads)


def _rhymes(text: str, form_name: str) -> list[str]:
    lines = split_lines(text)
    return [lines[i][-1] for i in rhyme_positions(FORMS[form_name])]


@pytest.mark.parametrize("book", RHYME_BOOKS)
@pytest.mark.parametrize("form", ["五言律诗", "七言律诗"])
def test_rhyme_characters_share_a_group_are_level_and_never_repeat(decoder, form, book):
    plan = form_plan(FORMS[form], {}, rhyme_book=book)
    for text in decoder.decode(plan, N, SAMPLING, seed=1):
        rhymes = _rhymes(text, form)
        assert check_format(text, FORMS[form]), text
        assert check_rhyme(text, FORMS[form], book), text
        assert all(tone_of(char) == "平" for char in rhymes), text
        assert len(set(rhymes)) == len(rhymes), text


def test_pingshui_is_the_default_and_the_book_decides_the_rhyme(decoder):
    form = FORMS["七言律诗"]
    assert form_plan(form, {}).rhyme_book == "pingshui" == Plan().rhyme_book
    pingshui = decoder.decode(form_plan(form, {}), N, SAMPLING, seed=2)
    xinyun = decoder.decode(form_plan(form, {}, rhyme_book="xinyun"), N, SAMPLING, seed=2)
    # Each book's poems rhyme by it; the other book often does not hear the rhyme.
    assert all(check_rhyme(text, form) for text in pingshui)
    assert all(check_rhyme(text, form, "xinyun") for text in xinyun)
    assert not all(check_rhyme(text, form, "xinyun") for text in pingshui)
    assert not all(check_rhyme(text, form) for text in xinyun)


def test_every_rhyme_shares_a_group_with_all_before_it(decoder):
    # 还 has two level groups (上平十五删, 下平一先): each later rhyme must keep to one group
    # that 还 and every rhyme before it share.
    form = FORMS["五言律诗"]
    fixed = {(1, p): c for p, c in enumerate("故人何日还", start=1)}
    texts = decoder.decode(form_plan(form, fixed), N, SAMPLING, seed=3)
    assert all(text.split("，", 1)[1].startswith("故人何日还。") for text in texts)
    assert all(check_rhyme(text, form) for text in texts)


def _untrained(chars: str) -> Decoder:
    """A decoder over a vocabulary of ``chars``, with an untrained model: the plan's bonuses
    and the rules alone decide."""
    vocab = Vocab([*SPECIALS, "，", "。", *chars])
    torch.manual_seed(0)
    config = ModelConfig(len(vocab), embedding_dim=8, hidden_size=8, num_layers=1)
    return Decoder(CharRNN(config), vocab)


def test_the_first_rhyme_takes_a_group_that_can_fill_every_rhyme():
    # In this vocabulary 交 is the only character of 下平三肴, and 七阳 has four (光 霜 乡 阳).
    # Pushed to 交, a 律诗 still rhymes in 七阳: 交 would leave its later rhymes only 交 again.
    decoder = _untrained("交光霜乡阳天山风月白日云花春秋")
    plan = form_plan(FORMS["五言律诗"], {}, bias={line: {"交": 20.0} for line in range(8)})
    for text in decoder.decode(plan, N, SAMPLING, seed=10):
        rhymes = _rhymes(text, "五言律诗")
        assert "交" in text and sorted(rhymes) == sorted("光霜乡阳"), text


def test_a_pingshui_rhyme_is_shared_in_a_level_group():
    # 为 (上平四支, 去声四寘) and 柴 (上平九佳, 去声四寘), both level-toned, share only an
    # oblique group: pushed to 柴, the rhyme after 为 takes 师 or 迟 (四支) instead.
    decoder = _untrained("为柴师迟天山风月白日云花春秋")
    fixed = {(1, p): c for p, c in enumerate("天山风月为", start=1)}
    plan = form_plan(FORMS["五言绝句"], fixed, bias={3: {"柴": 20.0}})
    for text in decoder.decode(plan, N, SAMPLING, seed=11):
        assert "柴" in text and _rhymes(text, "五言绝句")[1] in "师迟", text


def test_an_unknown_rhyme_book_is_refused_before_decoding():
    with pytest.raises(PoetryError, match="unknown rhyme book 'guangyun'"):
        form_plan(FORMS["五言绝句"], {}, rhyme_book="guangyun")


@pytest.mark.parametrize("form", ["五言律诗", "七言律诗"])
def test_the_tone_rules_hold_when_asked_and_only_then(decoder, form):
    on = decoder.decode(form_plan(FORMS[form], {}), N, SAMPLING, seed=4)
    off = decoder.decode(form_plan(FORMS[form], {}, tone=False), N, SAMPLING, seed=4)
    scores = [tone_conformance(text, FORMS[form]) for text in on]
    assert all(satisfied == checked > 0 for satisfied, checked in scores), on
    scores = [tone_conformance(text, FORMS[form]) for text in off]
    assert sum(checked - satisfied for satisfied, checked in scores) > N  # broken, often
    assert all(check_rhyme(text, FORMS[form]) for text in off)  # the rhyme still holds


# --- doublings -----------------------------------------------------------------------------


@pytest.mark.parametrize("form", [None, "七言绝句", "七言律诗"])
def test_no_unattested_doubling_while_attested_ones_come(decoder, form):
    plan = Plan() if form is None else form_plan(FORMS[form], {})
    texts = [t for seed in (5, 6) for t in decoder.decode(plan, N, SAMPLING, seed=seed)]
    assert all(unattested_doubles(text) == [] for text in texts), texts
    doubled = {c for t in texts for a, c in itertools.pairwise(t) if a == c and is_han(c)}
    assert doubled and doubled <= attested_doubles()  # 萧萧, 悠悠 … as the poets wrote them


@pytest.mark.parametrize("form", [None, "五言绝句"])
def test_a_character_pushed_to_double_doubles_only_where_attested(decoder, form):
    # A large bonus makes the model write 水 (or 悠) wherever it may: 水水 is barred, 悠悠 not.
    lines = range(-1, 4)
    for char, allowed in (("水", False), ("悠", True)):
        bias = {line: {char: 6.0} for line in lines}
        plan = Plan(bias=bias) if form is None else form_plan(FORMS[form], {}, bias=bias)
        texts = decoder.decode(plan, N, SAMPLING, seed=7)
        assert sum(char in text for text in texts) > N / 2
        assert any(char * 2 in text for text in texts) == allowed, texts
        if form is not None:
            assert all(check_format(t, FORMS[form]) and check_rhyme(t, FORMS[form]) for t in texts)


def test_the_users_own_doubling_stays(decoder):
    # 岸岸 is not attested, but the user wrote it: a start is printed as given.
    fixed = {(0, 1): "岸", (0, 2): "岸"}
    for plan in (Plan(context="岸岸"), form_plan(FORMS["五言绝句"], fixed)):
        texts = decoder.decode(plan, N, SAMPLING, seed=8)
        assert all(text.startswith("岸岸") and text[2] != "岸" for text in texts), texts


# --- free writing --------------------------------------------------------------------------


@pytest.mark.parametrize("context", ["", "床前", "床前明月光，", "春风？", "孤"])
def test_free_poems_have_no_bare_punctuation_lines(decoder, context):
    # Hostile: large bonuses for every mark and for the end, so the model wants them at once.
    marks = {char: 5.0 for char in PUNCTUATION} | {"</s>": 5.0}
    plan = Plan(context=context, bias={-1: marks})
    for text in decoder.decode(plan, N, SAMPLING, seed=9):
        assert text.startswith(context) and text[0] not in PUNCTUATION, text
        pairs = itertools.pairwise(text)
        assert not any(a in PUNCTUATION and b in PUNCTUATION for a, b in pairs), text
        assert text[-1] in FINAL_MARKS, text  # never ends on ，； or mid-line
        assert all(any(is_han(c) for c in line) for line in split_lines(text)), text
