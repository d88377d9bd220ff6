"""Reading a request: the user's texts and controls into a :class:`Request` for the decoder.

Each mode's reading checks the user's text against the vocabulary, resolves the form and lays
the user's fixed characters into its slots (:mod:`poetry_rnn.writing.layout`), draws the titles,
and steers the lines with keywords grown from the text and the title.
:class:`poetry_rnn.writing.generate.PoetryGenerator` decodes what it reads.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from poetry_rnn.corpus.cleaning import clean_title
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import Form
from poetry_rnn.poetics.check import read_poem
from poetry_rnn.poetics.coherence import plan_keywords
from poetry_rnn.poetics.couplets import (
    LOWER,
    UPPER,
    joined,
    read_line,
    refuse_level_upper,
    refuse_oblique_lower,
)
from poetry_rnn.poetics.patterns import (
    BANNER,
    COUPLET,
    COUPLET_LENGTHS,
    Family,
    banner_pattern,
    couplet_pattern,
    is_tune,
)
from poetry_rnn.text import PUNCTUATION, is_han, to_simplified, user_text
from poetry_rnn.writing.controls import FREE, MAX_INPUT_CHARS, Controls, is_integer
from poetry_rnn.writing.decoding import Composer
from poetry_rnn.writing.layout import (
    acrostic_form,
    align_start,
    chosen_form,
    kept_slots,
    line_count,
    shape,
    tune,
)
from poetry_rnn.writing.plans import Plan, form_plan
from poetry_rnn.writing.titles import choose_title, user_title

THEME_KEYWORDS = 8
PLAN_BONUS = 3.0  # logit bonus for a line's planned keyword
MAX_THEME_TITLE_CHARS = 10  # a theme of more characters is a sentence, not a title
#: Keyword characters a 联 written to a theme favours, and the logit bonus of each.
COUPLET_KEYWORDS, COUPLET_BONUS = 3, 1.5 * PLAN_BONUS
#: Words that make a theme the new year's (春联): its keywords then take in NEW_YEAR_SEEDS, the
#: images of the season's couplets that Tang verse knows too.
NEW_YEAR_WORDS = ("新春", "春节", "新年", "过年", "除夕", "元旦", "元日", "春联", "迎春", "贺岁",
                  "拜年", "守岁", "岁首", "新岁", "辞旧", "迎新")  # fmt: skip
NEW_YEAR_SEEDS = "春岁福喜新瑞梅"
#: What a new year's couplet keeps away from (Tang verse grieves at spring's end): a logit
#: malus on each, in every line.
NEW_YEAR_AVOIDS = "愁泪残恨悲哀死断孤苦怨衰病老泣"


@dataclass(frozen=True)
class Request:
    """A call read for the decoder: the plan (its lines steered by ``keywords``), the mode, and
    where the keywords came from ("" without them). ``from_first_line``: the statistics knew
    none of the request's words, so each poem is planned from its own first line as written
    (:func:`from_first_line`)."""

    plan: Plan
    mode: str
    keywords: Sequence[str] = ()
    source: str = ""
    from_first_line: bool = False


# --- the modes ------------------------------------------------------------------------------


def start_request(composer: Composer, start: str, mode: str, controls: Controls) -> Request:
    """A poem continuing ``start`` (checked by :func:`start_text`), or a free one without it."""
    style = style_text(composer.vocab, controls)
    if controls.form == FREE:
        plan = Plan(
            context=start,
            style=style,
            repeat_ok=_repeated(start),
            title=controls.title,
            repeat_penalty=controls.repeat_penalty,
        )
        return Request(plan, mode)
    form = shape(controls.form) if controls.form else chosen_form(composer, start, style)
    fixed = align_start(start, form)
    plan = controlled_plan(form, controls, fixed, style=style, repeat_ok=_repeated(start))
    if controls.plan:
        return planned(composer.vocab, plan, controls, mode, start, printed=start, source=mode)
    return Request(plan, mode)


def acrostic_request(vocab: Vocab, heads: str, controls: Controls) -> Request:
    """A poem whose lines begin with the characters of ``heads`` (藏头诗)."""
    form = acrostic_form(controls.form, len(heads))
    fixed = {(line, 1): char for line, char in enumerate(heads)}
    style = style_text(vocab, controls)
    plan = controlled_plan(form, controls, fixed, style=style, repeat_ok=_repeated(heads))
    if controls.plan:
        return planned(vocab, plan, controls, "acrostic", heads, printed=heads, source="heads")
    return Request(plan, "acrostic")


def theme_request(composer: Composer, chars: list[str], steer: str, controls: Controls) -> Request:
    """A poem on the theme whose characters are ``chars`` (:func:`theme_characters`), steered
    as ``steer`` says (see :meth:`poetry_rnn.writing.generate.PoetryGenerator.themed`)."""
    vocab = composer.vocab
    style = style_text(vocab, controls) + ("".join(chars) if steer != "plan" else "")
    if controls.form == FREE:  # free length: no lines to plan into
        bias = {-1: dict.fromkeys(chars, PLAN_BONUS / 3)} if steer != "prime" else {}
        plan = Plan(
            style=style,
            bias=bias,
            title=controls.title,
            repeat_penalty=controls.repeat_penalty,
        )
        return Request(plan, "theme")
    form = shape(controls.form) if controls.form else chosen_form(composer, "", style)
    plan = controlled_plan(form, controls, {}, style=style)
    if steer == "prime":
        return Request(plan, "theme")
    if controls.plan:
        theme = "".join(chars)
        return planned(vocab, plan, controls, "theme", theme, printed="", source="theme")
    keywords = [chars[line % len(chars)] for line in range(line_count(form))]
    return Request(_steered(plan, keywords, vocab), "theme", keywords, "theme")


def kept_characters(
    vocab: Vocab, poem: str, keep: Sequence[int] | Mapping[tuple[int, int], str], controls: Controls
) -> tuple[Form, dict[tuple[int, int], str]]:
    """The form of ``poem`` and the characters of it that ``keep`` keeps, as a form plan's
    fixed characters (see :meth:`poetry_rnn.writing.generate.PoetryGenerator.revise`)."""
    if controls.form == FREE:
        raise PoetryError("revising keeps the poem's own form, not free length")
    lines, form = read_poem(poem, controls.form)
    fixed = kept_slots(lines, form, keep)
    kept = "".join(fixed.values())
    unknown = vocab.unknown_chars(kept)
    if unknown:
        raise PoetryError(f"the kept characters include ones the model does not know: "
                          f"{' '.join(unknown)}")  # fmt: skip
    return form, fixed


def revision_request(vocab: Vocab, form: Form, fixed: dict, controls: Controls) -> Request:
    """A poem of ``form`` around the ``fixed`` characters a revision keeps."""
    kept = "".join(fixed.values())
    style = style_text(vocab, controls)
    plan = controlled_plan(form, controls, fixed, style=style, repeat_ok=_repeated(kept))
    return Request(plan, "revise")


def couplet_request(
    vocab: Vocab,
    controls: Controls,
    upper: str | None,
    lower: str | None,
    theme: str | None,
    length: int,
) -> Request:
    """A 对联 (see :meth:`poetry_rnn.writing.generate.PoetryGenerator.couplet`): the given 联
    fixed in the plan, a theme's keywords (:func:`couplet_keywords`) steering the lines
    written, the request's keywords all of them, a line's in turn."""
    if upper is not None and lower is not None:
        raise PoetryError("give a 上联 or a 下联, not both: the other is written")
    if upper is None and lower is None and theme is None:
        raise PoetryError("a couplet needs a 上联, a 下联 or a theme")
    if upper is not None:
        parts = read_line(upper, UPPER)
        refuse_level_upper("".join(parts))
        pattern, given = couplet_pattern(joined(parts)), 0
    elif lower is not None:
        parts = read_line(lower, LOWER)
        refuse_oblique_lower("".join(parts))
        comma = len(parts[0]) if len(parts) == 2 else None
        chars = "".join(parts)
        pattern, given = couplet_pattern(len(chars), comma, lower=chars), len(parts)
    else:
        if not is_integer(length) or length not in COUPLET_LENGTHS:
            raise PoetryError(f"a 联 has {COUPLET_LENGTHS[0]} to {COUPLET_LENGTHS[-1]} "
                              f"characters, got {length!r}")  # fmt: skip
        parts, pattern, given = [], couplet_pattern(length), 0
    fixed = {(given + line, p): char for line, part in enumerate(parts)
             for p, char in enumerate(part, start=1)}  # fmt: skip
    plan = controlled_plan(
        Family(COUPLET, (pattern,)), controls, fixed, style=style_text(vocab, controls),
        repeat_ok=_repeated("".join(parts)),
    )  # fmt: skip
    lines = len(pattern.lines)
    keywords = couplet_keywords(vocab, theme, lines, "".join(parts)) if theme else []
    avoided = [c for c in NEW_YEAR_AVOIDS if c in vocab] if _new_year(theme) else []
    avoids = dict.fromkeys(avoided, -COUPLET_BONUS)
    bias = {
        line: avoids | dict.fromkeys(keywords[line] if keywords else "", COUPLET_BONUS)
        for line in range(lines)
    }
    bias = {line: chars for line, chars in bias.items() if chars}
    flat = [char for chars in keywords for char in chars]
    return Request(replace(plan, bias=bias), "couplet", flat, "theme" * bool(theme))


def banner_request(
    vocab: Vocab, couplet: str, keywords: Sequence[str], controls: Controls
) -> Request:
    """A 横批 written after the text of a ``couplet``, favouring its keywords."""
    plan = controlled_plan(
        Family(BANNER, (banner_pattern(),)), controls, {}, context=couplet,
        style=style_text(vocab, controls),
    )  # fmt: skip
    plan = replace(plan, bias={0: dict.fromkeys(keywords, COUPLET_BONUS)} if keywords else {})
    return Request(plan, "banner")


# --- the user's texts -----------------------------------------------------------------------


def checked_text(
    vocab: Vocab,
    text: str,
    what: str,
    required: bool,
    punctuation: bool = False,
    check_vocab: bool = True,
) -> str:
    """User text, simplified and checked: Han characters (and punctuation where allowed)."""
    text = user_text(text, what, MAX_INPUT_CHARS)
    if not text:
        if required:
            raise PoetryError(f"the {what} is empty")
        return text
    allowed = PUNCTUATION if punctuation else ""
    other = [c for c in dict.fromkeys(text) if not is_han(c) and c not in allowed]
    if other and (check_vocab or not any(is_han(c) for c in text)):
        listed = " ".join(other)
        raise PoetryError(f"the {what} has characters that are not Han characters: {listed}")
    if check_vocab:
        unknown = [c for c in vocab.unknown_chars(text) if c not in PUNCTUATION]
        if unknown:
            raise PoetryError(
                f"the {what} has characters the model does not know: {' '.join(unknown)}"
            )
    return text


def start_text(vocab: Vocab, start: str) -> str:
    """The start, checked: Han characters, each mark ending a line; empty for none."""
    start = checked_text(vocab, start, "start", required=False, punctuation=True)
    if not start:
        return start
    if not any(is_han(char) for char in start):
        raise PoetryError("the start has no Han characters")
    if start[0] in PUNCTUATION:
        raise PoetryError(f"the start begins with {start[0]}: a mark may only end a line")
    if any(a in PUNCTUATION and b in PUNCTUATION for a, b in itertools.pairwise(start)):
        raise PoetryError("the start has two marks in a row: one mark ends a line")
    return start


def style_text(vocab: Vocab, controls: Controls) -> str:
    return checked_text(vocab, controls.style, "style", required=False, punctuation=True)


def theme_text(vocab: Vocab, text: str) -> str:
    """A theme, checked: it may mix other text with its Han characters."""
    return checked_text(vocab, text, "theme", required=True, check_vocab=False, punctuation=True)


def required_start(text: str) -> str:
    if not text.split():
        raise PoetryError("the start is empty")
    return text


def required_title(text: str) -> str:
    if not user_title(text):
        raise PoetryError("the title is empty")
    return text


def theme_characters(vocab: Vocab, text: str) -> list[str]:
    """The characters of ``text``'s jieba keywords that the vocabulary knows, in order; where
    no keyword has one (jieba passes over single characters amid other text), the known
    Han characters of ``text`` itself."""
    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)  # not its dictionary-loading chatter on stderr
    text = to_simplified(text)
    words = jieba.analyse.extract_tags(text, topK=THEME_KEYWORDS) or [text]
    chars = [c for word in words for c in word if is_han(c) and c in vocab]
    chars = chars or [c for c in text if is_han(c) and c in vocab]
    if not chars:
        raise PoetryError("none of the theme's words are in the model's vocabulary")
    return list(dict.fromkeys(chars))


def couplet_keywords(vocab: Vocab, theme: str, lines: int, printed: str = "") -> list[list[str]]:
    """The keyword characters each of a couplet's ``lines`` favours: the theme's (and for a
    new-year theme, :data:`NEW_YEAR_SEEDS`), grown with the corpus statistics
    (:func:`poetry_rnn.poetics.coherence.plan_keywords`), :data:`COUPLET_KEYWORDS` a line in
    turn; ``printed``: the given 联, whose characters steer nothing."""
    theme = theme_text(vocab, theme)
    chars = theme_characters(vocab, theme)
    seeds = "".join(chars) + (NEW_YEAR_SEEDS if _new_year(theme) else "")
    grown = plan_keywords(seeds, COUPLET_KEYWORDS * lines, printed) or chars
    known = [c for c in grown if c in vocab and c not in printed] or chars
    return [known[line::lines] for line in range(lines)]


def _new_year(theme: str | None) -> bool:
    """Whether ``theme`` names the new year (:data:`NEW_YEAR_WORDS`)."""
    return theme is not None and any(word in to_simplified(theme) for word in NEW_YEAR_WORDS)


def as_title(theme: str) -> str:
    """A theme that reads as a title (秋夜思乡: a phrase of Han characters, not a sentence)
    stands as the poem's title; "" for any other."""
    try:
        title = user_title(theme)
    except PoetryError:
        return ""
    return title if len(title) <= MAX_THEME_TITLE_CHARS else ""


def _repeated(text: str) -> frozenset[str]:
    """Characters the user's text itself uses more than once: they may recur."""
    return frozenset(c for c, k in Counter(text).items() if k > 1 and c not in PUNCTUATION)


# --- titles and seeds -----------------------------------------------------------------------


def seed_of(controls: Controls) -> int:
    """The user's seed, or one drawn afresh; the poems report it, so they can be written again."""
    return controls.seed if controls.seed is not None else secrets.randbelow(2**31)


def titled_controls(vocab: Vocab, controls: Controls, prompt: str) -> list[Controls] | None:
    """The controls of each poem, one a title: None where the controls' own title stands (or a
    model trained without titles takes none), else one call a poem, each to a title of its own
    drawn from the bank by the user's ``prompt`` and the poem's seed
    (:func:`poetry_rnn.writing.titles.choose_title`). A 词 is headed by its tune, not by a
    title of the bank (:func:`controlled_plan`)."""
    if vocab.sep_id is None or controls.title or is_tune(controls.form):
        if controls.title and vocab.sep_id is None:
            raise PoetryError("this model was not trained with titles: it cannot take one")
        return None
    seed = seed_of(controls)
    each = []
    taken: frozenset[str] = frozenset()  # as drawn: a poem prints its title in its script
    for number in range(controls.n):
        title = choose_title(prompt, seed + number, avoid=taken)
        taken |= {title}
        each.append(replace(controls, title=title, n=1, seed=seed + number))
    return each


# --- forms and plans ------------------------------------------------------------------------


def controlled_plan(
    form: Form | Family, controls: Controls, fixed: dict, **options: object
) -> Plan:
    """The plan of ``form``: a shi form under the controls' rhyme book, its header the
    controls' title; a 词牌's family under its own book (词林正韵), its header the tune,
    as the corpus's 词 were trained (``<s>浣溪沙<sep>``, the tune's name cleaned as the
    corpus's titles are); the user's title of a 词 steers
    through the plan's keywords (:func:`planned`) and names the poem after the tune."""
    ci = isinstance(form, Family) and form.kind == "ci"
    return form_plan(
        form, fixed, rhyme=controls.rhyme, tone=controls.tone,
        rhyme_book=form.rhyme_book if ci else controls.rhyme_book,
        search=controls.line_search, parallel=controls.parallel,
        coherence=controls.coherence,
        title=clean_title(tune(form.name)) if ci else controls.title,
        repeat_penalty=controls.repeat_penalty, **options,
    )  # fmt: skip


def planned(
    vocab: Vocab, plan: Plan, controls: Controls, mode: str, seeds: str, source: str, printed: str
) -> Request:
    """``plan`` with each line steered by its keyword: the plan grown from ``seeds`` and the
    title (``printed``: the text the poem prints anyway), or, where the statistics know none
    of them, from each poem's own first line."""
    assert plan.pattern is not None and plan.slots is not None
    lines = len(plan.pattern.lengths)
    keywords = plan_keywords(seeds + controls.title, lines, printed)
    source = "title" if controls.title and not seeds else source
    if keywords:
        return Request(_steered(plan, keywords, vocab), mode, keywords, source)
    return Request(plan, mode, from_first_line=True)


def from_first_line(vocab: Vocab, request: Request, line: str) -> Request:
    """``request`` for one poem, planned from its first ``line`` as written: the line kept, its
    keywords steering the rest."""
    plan = request.plan
    assert plan.pattern is not None and plan.slots is not None
    keywords = plan_keywords(line, len(plan.pattern.lengths), printed=line)
    slots = tuple(
        replace(slot, fixed=line[slot.position - 1])
        if slot.line == 0 and slot.position else slot
        for slot in plan.slots
    )  # fmt: skip
    one = _steered(replace(plan, slots=slots), keywords, vocab)
    return Request(one, request.mode, keywords, "first line" if keywords else "")


def _steered(plan: Plan, keywords: Sequence[str], vocab: Vocab) -> Plan:
    """``plan`` with each line favouring its keyword (one the vocabulary has)."""
    bias = {line: {char: PLAN_BONUS} for line, char in enumerate(keywords) if char in vocab}
    return replace(plan, bias=bias)
