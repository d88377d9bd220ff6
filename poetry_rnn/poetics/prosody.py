"""Prosody: forms, rhyme books, tones, reduplication and the checkers that score a poem.

The one place that knows the rules; the decoder and the checkers both read them from here.
Characters are simplified: every table is keyed by simplified characters.

Rhyme books. The last characters of lines 2, 4 (6, 8) rhyme when they belong to one group of a
rhyme book; line 1 may join. Two books:

- ``pingshui`` (平水韵), the default: the classical book Tang poets rhymed by, 106 groups. The
  30 groups of the level tone (上平 一东 … 十五删, 下平 一先 … 十五咸) are its *level groups*;
  the 76 of the rising, departing and entering tones (上声, 去声, 入声) are oblique. The rhyme
  characters of regulated verse are level, so under 平水韵 the rhyme must be shared in a level
  group. A character with several readings (多音字) belongs to every group of each reading:
  还 to 上平十五删 (huán) and 下平一先 (xuán), 行 to four groups. A simplified character also
  belongs to every group of each traditional character it stands for. A few characters the
  book lacks join the level group the poets' own rhymes attest (啼 and 溪 上平八齐).
- ``xinyun`` (中华新韵): the 14 modern groups, keyed by the final of the character's default
  Mandarin reading (pypinyin); a character has at most one group, and any group may rhyme.

A third book rhymes the 词 (词牌), not the 诗: ``cilin`` (词林正韵, 戈载 1821), 19 部 merged
from the groups of 平水韵; each 部 of 1–14 has a 平 group and a 仄 (上去) group, 部 15–19 are
入声. A group of 平水韵 the book splits (灰, 佳, 元 and their 上去) goes by the character's
Mandarin final (灰 梅 第三部, 灰 来 第五部). See :func:`cilin_tone`.

A poem rhymes when its rhyme characters share at least one group that may rhyme.

Tones. 平 (level) or 仄 (oblique) in the Tang sense, from a table derived from the Tang corpus;
a character it labels both ways is "either" (None).

Parallelism (对仗). In a 律诗 the two lines of each middle couplet (颔联, 颈联) correspond
position by position; a table derived from the poets' 律诗 scores how strongly a pair of
characters at the same position marks a middle couplet rather than a first or last one.

Reduplication (叠字). Two identical characters side by side read as one word (悠悠, 依依) only
where poets wrote that word; an attested list, derived from the Tang and Song collections,
says which doublings are real.

The tables ship in the package and are built by ``python -m poetry_rnn.poetics.build_tables``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

from pypinyin import Style, pinyin

from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import Form, join_lines
from poetry_rnn.text import PUNCTUATION, is_han, split_lines, standard_form, to_simplified

# --- the shipped tables --------------------------------------------------------------------

#: 平, 仄 and "either": simplified characters under each label.
TONE_TABLE = "tones.json"
#: 平水韵: under 平 and 仄, each group's simplified characters, in the book's order.
PINGSHUI_TABLE = "pingshui.json"
#: The attested doublings: ``chars`` holds each character whose doubling poets wrote.
DOUBLES_TABLE = "doubles.json"
#: 对仗: under each score, its character pairs joined (two characters a pair).
PARALLEL_TABLE = "parallel.json"
#: 平水韵 as the poets rhymed it: under ``groups``, each level group's characters that the poets'
#: regulated poems rhyme in it.
RHYMED_TABLE = "rhymed.json"


def groups_of(*tables: dict[str, str]) -> dict[str, frozenset[str]]:
    """Character → every group of ``tables`` (group → its characters) that lists it."""
    members: dict[str, set[str]] = {}
    for table in tables:
        for group, chars in table.items():
            for char in chars:
                members.setdefault(char, set()).add(group)
    return {char: frozenset(groups) for char, groups in members.items()}


def _read_table(name: str, *keys: str) -> tuple:
    """The entries under ``keys`` of a shipped table (its users read it once)."""
    try:
        data = json.loads(resources.files("poetry_rnn").joinpath(name).read_text("utf-8"))
        return tuple(data[key] for key in keys)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PoetryError(f"cannot read the table {name}: {error!r}") from error


# --- tones (平仄) --------------------------------------------------------------------------

LEVEL, OBLIQUE = "平", "仄"
EITHER = "either"
#: How a tone is shown: ○ 平, ● 仄, ◐ either.
TONE_SIGNS = {LEVEL: "○", OBLIQUE: "●", None: "◐"}


@functools.cache
def _tone_table() -> dict[str, str | None]:
    """Character → 平, 仄 or None (either)."""
    level, oblique, either = _read_table(TONE_TABLE, LEVEL, OBLIQUE, EITHER)
    labels = {LEVEL: level, OBLIQUE: oblique, None: either}
    return {char: tone for tone, chars in labels.items() for char in chars}


@functools.cache
def tone_of(char: str) -> str | None:
    """平, 仄, or None ("either"): the Tang table first, pypinyin for characters it lacks.

    A character the table marks "either" stays None; pypinyin is never asked about it. A
    variant character has its standard form's tone (:func:`poetry_rnn.text.standard_form`).
    """
    if not is_han(char):
        return None
    char = standard_form(char)
    table = _tone_table()
    if char in table:
        return table[char]
    return mandarin_tone(char)


def modern_reading(char: str) -> str | None:
    """The default Mandarin reading :func:`tone_of` assumes for a Han character the Tang table
    lacks (see :func:`mandarin_reading`). None for a character the table labels, and for a
    non-Han one."""
    if not is_han(char) or char in _tone_table():
        return None
    return mandarin_reading(char)


def mandarin_reading(char: str) -> str:
    """A character's default Mandarin reading, whatever the Tang table says, in pinyin with its
    tone number ("ta1"; none for the neutral tone); "" where pypinyin knows none."""
    readings = pinyin(char, style=Style.TONE3, errors="ignore")
    return readings[0][0] if readings else ""


def mandarin_tone(char: str) -> str | None:
    """The tone of :func:`mandarin_reading`: 1, 2 → 平; 3, 4 → 仄; neutral or none → None."""
    tone = mandarin_reading(char)[-1:]
    return LEVEL if tone in ("1", "2") else OBLIQUE if tone in ("3", "4") else None


def is_level(char: str) -> bool:
    """True for a level-toned (平) character: what the rhyme of regulated verse needs."""
    return tone_of(char) == LEVEL


# --- rhyme books ---------------------------------------------------------------------------

#: The books a 诗 rhymes by; 词林正韵 (``cilin``), the book of 词, rhymes the 词牌 only.
RHYME_BOOKS: tuple[str, ...] = ("pingshui", "xinyun")
DEFAULT_RHYME_BOOK = "pingshui"
CILIN = "cilin"
RHYME_BOOK_NAMES = {"pingshui": "平水韵", "xinyun": "中华新韵", CILIN: "词林正韵"}


class _Pingshui(NamedTuple):
    groups_of: dict[str, frozenset[str]]  # character → its groups
    level: tuple[str, ...]  # the level groups, in the book's order
    every: tuple[str, ...]  # every group, in the book's order


@functools.cache
def _pingshui() -> _Pingshui:
    level, oblique, attested = _read_table(PINGSHUI_TABLE, LEVEL, OBLIQUE, "attested")
    return _Pingshui(groups_of(level, oblique, attested), tuple(level), (*level, *oblique))


#: 中华新韵: the pinyin finals of each group, as pypinyin writes them with ``strict=True`` (ü
#: as v, iu as iou, ui as uei, un as uen). The bare ``i`` is split by the initial, see below.
_XINYUN_FINALS: dict[str, tuple[str, ...]] = {
    "一麻": ("a", "ia", "ua"),
    "二波": ("o", "e", "uo"),
    "三皆": ("ie", "ve"),
    "四开": ("ai", "uai"),
    "五微": ("ei", "uei"),
    "六豪": ("ao", "iao"),
    "七尤": ("ou", "iou"),
    "八寒": ("an", "ian", "uan", "van"),
    "九文": ("en", "in", "uen", "vn"),
    "十唐": ("ang", "iang", "uang"),
    "十一庚": ("eng", "ing", "ong", "iong", "ueng"),
    "十二齐": ("i", "er", "v"),
    "十三支": (),  # the -i of zhi chi shi ri zi ci si
    "十四姑": ("u",),
}
XINYUN_GROUPS: tuple[str, ...] = tuple(_XINYUN_FINALS)
_XINYUN_GROUP_OF_FINAL = {final: group for group, fs in _XINYUN_FINALS.items() for final in fs}
_APICAL_INITIALS = frozenset({"zh", "ch", "sh", "r", "z", "c", "s"})


def _xinyun_group(char: str) -> str | None:
    """The 中华新韵 group of a character's default reading, or None (not Han, no reading)."""
    final = _final(char)
    initials = pinyin(char, style=Style.INITIALS, strict=True, errors="ignore")
    if final is None or not initials:
        return None
    initial = initials[0][0]
    if final == "i" and initial in _APICAL_INITIALS:
        return "十三支"
    return _XINYUN_GROUP_OF_FINAL.get(final)


def _final(char: str) -> str | None:
    """The final of a character's default Mandarin reading as pypinyin writes it with
    ``strict=True``, or None (not Han, no reading)."""
    finals = pinyin(char, style=Style.FINALS, strict=True, errors="ignore")
    return finals[0][0] if finals else None


#: 词林正韵 (戈载, 1821): its 19 部 as merges of the 平水韵 groups, named by their rhyme
#: character. 部 1–14 are 舒声, their 平 part (the level groups) apart from their 仄 part (the
#: rising and departing groups, 上去通押); 部 15–19 are 入声.
_CILIN_MERGES: tuple[tuple[str, ...], ...] = (
    ("东冬", "董肿送宋"),
    ("江阳", "讲养绛漾"),
    ("支微齐灰", "纸尾荠贿寘未霁泰队"),
    ("鱼虞", "语麌御遇"),
    ("佳灰", "蟹贿泰卦队"),
    ("真文元", "轸吻阮震问愿"),
    ("元寒删先", "阮旱潸铣愿翰谏霰"),
    ("萧肴豪", "筿巧皓啸效号"),
    ("歌", "哿个"),
    ("佳麻", "马卦祃"),
    ("庚青蒸", "梗迥敬径"),
    ("尤", "有宥"),
    ("侵", "寝沁"),
    ("覃盐咸", "感琰豏勘艳陷"),
    ("屋沃",),
    ("觉药",),
    ("质陌锡职缉",),
    ("物月曷黠屑叶",),
    ("合洽",),
)
#: The 平水韵 groups two 部 share (the book's 半): the 部 (1-based) a character goes to when the
#: final of its default Mandarin reading is one of ``finals``, and the 部 otherwise. 灰 梅 回
#: (-ei, -uei) rhyme in 第三部, 来 台 (-ai) in 第五部; 佳 涯 (-a, -ia, -ua) in 第十部, 街 怀 in
#: 第五部; 元 门 魂 (-en, -uen) in 第六部, 元 言 (-an, -uan) in 第七部.
_CILIN_SPLITS: dict[str, tuple[int, tuple[str, ...], int]] = {
    **dict.fromkeys("灰贿队泰", (3, ("ei", "uei"), 5)),
    **dict.fromkeys("佳卦", (10, ("a", "ia", "ua"), 5)),
    **dict.fromkeys("元阮愿", (6, ("en", "in", "uen", "vn"), 7)),
}
_NUMERALS = "一二三四五六七八九十"
#: How a group of 平水韵 is heard under 词林正韵: 上平 and 下平 平, 上声 and 去声 仄, 入声 入.
ENTERING = "入"
_CILIN_TONES = {"上平": LEVEL, "下平": LEVEL, "上声": OBLIQUE, "去声": OBLIQUE, "入声": ENTERING}


def _cilin_name(section: int, tone: str) -> str:
    tens, units = divmod(section, 10)
    numeral = ("十" if tens else "") + (_NUMERALS[units - 1] if units else "")
    return f"第{numeral}部{tone}"


#: The groups of 词林正韵 in its order: 第一部平, 第一部仄, …, 第十四部仄, then 第十五部入 …
#: 第十九部入.
CILIN_GROUPS: tuple[str, ...] = tuple(
    _cilin_name(section, tone)
    for section, merge in enumerate(_CILIN_MERGES, 1)
    for tone in ((LEVEL, OBLIQUE) if len(merge) == 2 else (ENTERING,))
)


def cilin_tone(group: str) -> str:
    """The tone class a group of 词林正韵 rhymes in: 平, 仄 (上去) or 入."""
    return group[-1]


def cilin_section(group: str) -> str:
    """The 部 of a group of 词林正韵 (第三部 for 第三部平 and 第三部仄): a 平 group and the 仄
    group of its 部 are one rhyme to the ear where a 词牌 lets them rhyme together (西江月)."""
    return group[:-1]


@functools.cache
def _cilin() -> dict[str, frozenset[str]]:
    """Character → its groups of 词林正韵, derived from the shipped 平水韵 (attested included)."""
    sections: dict[tuple[str, str], list[int]] = {}
    for section, merge in enumerate(_CILIN_MERGES, 1):
        for names in merge:
            tone = ENTERING if len(merge) == 1 else (LEVEL, OBLIQUE)[merge.index(names)]
            for name in names:
                sections.setdefault((name, tone), []).append(section)
    members: dict[str, set[str]] = {}
    for char, groups in _pingshui().groups_of.items():
        for group in groups:
            tone, name = _CILIN_TONES[group[:2]], group[-1]
            if name in _CILIN_SPLITS:
                inside, finals, outside = _CILIN_SPLITS[name]
                section = inside if _final(char) in finals else outside
            else:
                (section,) = sections[(name, tone)]
            members.setdefault(char, set()).add(_cilin_name(section, tone))
    return {char: frozenset(groups) for char, groups in members.items()}


def book_groups(book: str = DEFAULT_RHYME_BOOK) -> tuple[str, ...]:
    """Every group of ``book``, in its order: 106 for 平水韵, 14 for 中华新韵, 33 for 词林正韵
    (the 平 and 仄 parts of 部 1–14, then the 入声 部 15–19).

    An unknown book is a :class:`PoetryError`.
    """
    if book == "pingshui":
        return _pingshui().every
    if book == "xinyun":
        return XINYUN_GROUPS
    if book == CILIN:
        return CILIN_GROUPS
    books = ", ".join((*RHYME_BOOKS, CILIN))
    raise PoetryError(f"unknown rhyme book {book!r}; choose one of {books}")


def require_rhyme_book(book: str, books: tuple[str, ...] = RHYME_BOOKS) -> None:
    """A :class:`PoetryError` unless ``book`` is one of ``books`` (by default those of 诗)."""
    if book not in books:
        raise PoetryError(f"unknown rhyme book {book!r}; choose one of {', '.join(books)}")


def rhyming_groups(book: str = DEFAULT_RHYME_BOOK) -> tuple[str, ...]:
    """The groups of ``book`` a rhyme may be shared in, in its order: the 30 level groups of
    平水韵, all 14 of 中华新韵, all 33 of 词林正韵 (a 词牌 rhymes 仄 and 入 too)."""
    return _pingshui().level if book == "pingshui" else book_groups(book)


@functools.cache
def rhyme_groups(char: str, book: str = DEFAULT_RHYME_BOOK) -> frozenset[str]:
    """Every group of ``char`` in ``book`` (level and oblique); empty for a character the book
    lacks or a non-Han one. Under 中华新韵 at most one group. A variant character has its
    standard form's groups."""
    book_groups(book)  # rejects an unknown book
    if not is_han(char):
        return frozenset()
    char = standard_form(char)
    if book == "pingshui":
        return _pingshui().groups_of.get(char, frozenset())
    if book == CILIN:
        return _cilin().get(char, frozenset())
    group = _xinyun_group(char)
    return frozenset() if group is None else frozenset({group})


def heard_rhyme_groups(char: str, book: str = DEFAULT_RHYME_BOOK) -> frozenset[str]:
    """The groups of ``book`` that a reader hears ``char`` rhyme in, those a writer may rhyme
    it in. Under 平水韵 its level groups in which the poets rhyme it (the shipped
    rhymed.json): 台 rhymes in 上平十灰, not in 上平四支 by its rare reading yí, and 才 not in
    下平十五咸 by 纔, a traditional source it took from the simplification; none for a
    character they do not rhyme. Under 中华新韵 its one group (the modern reading)."""
    if book == "pingshui":
        return _poets_rhymes().get(standard_form(char), frozenset())
    return rhyme_groups(char, book)


@functools.cache
def _poets_rhymes() -> dict[str, frozenset[str]]:
    (groups,) = _read_table(RHYMED_TABLE, "groups")
    return groups_of(groups)


def shared_rhymes(chars: Iterable[str], book: str = DEFAULT_RHYME_BOOK) -> frozenset[str]:
    """The groups that may rhyme in which every one of ``chars`` stands: they rhyme iff any."""
    shared = frozenset(rhyming_groups(book))
    for char in chars:
        shared &= rhyme_groups(char, book)
    return shared


# --- reduplication (叠字) ------------------------------------------------------------------


@functools.cache
def attested_doubles() -> frozenset[str]:
    """The characters whose doubling (悠悠) poets attest as a word."""
    (chars,) = _read_table(DOUBLES_TABLE, "chars")
    return frozenset(chars)


def unattested_doubles(text: str) -> list[str]:
    """The doubled characters inside the lines of ``text`` that no poet attests (岸岸 → 岸)."""
    doubles = attested_doubles()
    return [
        line[i]
        for line in split_lines(text)
        for i in range(1, len(line))
        if line[i] == line[i - 1] and is_han(line[i]) and line[i] not in doubles
    ]


def repeated_in_line(line: str) -> list[str]:
    """The characters of ``line`` that stand in it already, other than right after themselves
    (a doubling such as 悠悠): 月明明月 → 月, 鸥鹭随鸥鹭 → 鸥 鹭; the decoder writes none."""
    return [char for i, char in enumerate(line) if char in line[:i] and line[i - 1] != char]


def repeated_chars(text: str) -> list[str]:
    """The characters of ``text`` said again, one entry for each time a character comes after
    its first, in order; the second of a doubling the poets attest (悠悠) is no repeat:
    明月照山，山月 → 山 月. Poets repeat 0.28 (五言绝句) to 0.91 (七言律诗) a poem."""
    seen: set[str] = set()
    again = []
    for line in split_lines(text):
        for i, char in enumerate(line):
            if not is_han(char) or (i and line[i - 1] == char and char in attested_doubles()):
                continue
            if char in seen:
                again.append(char)
            seen.add(char)
    return again


def repeated_words(text: str) -> list[str]:
    """The two-character words of ``text`` (adjacent characters of one line, other than a
    doubling) that it says more than once, in the order they come again: 春风 in
    春风吹柳色，又见春风归 → 春风. Poets do it in 3 % of their regulated poems."""
    pairs = [line[i : i + 2] for line in split_lines(text) for i in range(len(line) - 1)]
    return list(dict.fromkeys(p for i, p in enumerate(pairs) if p[0] != p[1] and p in pairs[:i]))


def unrhymed_level_opening(text: str, form: Form, book: str = DEFAULT_RHYME_BOOK) -> bool:
    """True when the first line ends on a level (平) character that does not rhyme with the
    poem's rhyme characters: what a reader hears as a broken rhyme (a poem of the form only)."""
    lines = split_lines(text)
    if len(lines) != form.lines or tone_of(lines[0][-1]) != LEVEL:
        return False
    return not shared_rhymes([lines[0][-1], *(lines[i][-1] for i in rhyme_positions(form))], book)


# --- parallelism (对仗) -------------------------------------------------------------------


def parallel_couplets(form: Form) -> list[int]:
    """The 0-based first lines of the couplets that 对仗: 颔联 and 颈联 (2, 4) of a 律诗; none
    of a 绝句."""
    return [2, 4] if form.lines == 8 else []


@functools.cache
def parallel_pairs() -> dict[str, float]:
    """Each parallel pair (its two characters in code-point order) → its score, above 0."""
    (scores,) = _read_table(PARALLEL_TABLE, "scores")
    return {
        pairs[i : i + 2]: float(score)
        for score, pairs in scores.items()
        for i in range(0, len(pairs), 2)
    }


def pair_score(a: str, b: str) -> float:
    """How strongly ``a`` facing ``b`` (either way round) marks a middle couplet: the log of
    how much more often the poets' middle couplets pair them than their first and last
    couplets do (see ``poetry_rnn.poetics.build_tables``); 0 for a pair the table lacks."""
    return parallel_pairs().get(min(a, b) + max(a, b), 0.0)


def parallelism(first: str, second: str) -> float:
    """The 对仗 score of a couplet: the mean over positions of :func:`pair_score` of the two
    lines' characters there, unknown pairs (and a character facing itself) 0.

    The lines must have the same number of characters (marks left out).
    """
    first, second = (line.rstrip(PUNCTUATION) for line in (first, second))
    if len(first) != len(second) or not first:
        raise PoetryError("the lines of a couplet must have the same, non-zero length")
    return sum(pair_score(a, b) for a, b in zip(first, second, strict=True)) / len(first)


# --- tone rules ----------------------------------------------------------------------------
#
# Checked at the even positions p of each line i (1-based p, 0-based i):
#   二四六分明  the tone at p differs from the tone at p + 2 of the same line;
#   对          in the second line of a couplet (i odd), it differs from line i - 1 at p;
#   粘          in the first line of a later couplet (i even, i >= 2), it equals line i - 1.
# A rule involving an "either" (None) tone holds. Together the rules fix every even position
# once one is known: the tone at (i, p) is the tone at (0, 2) flipped _flips(i, p) times.


def tone_positions(form: Form) -> list[int]:
    """The 1-based positions the tone rules check: 2, 4 (五言) or 2, 4, 6 (七言)."""
    return list(range(2, form.chars, 2))


class ToneRule(NamedTuple):
    """A tone rule checked at a position, against the position ``line`` (0-based),
    ``position`` (1-based): the two tones must be ``equal`` (粘) or differ."""

    name: str  # 二四六分明, 对 or 粘
    line: int
    position: int
    equal: bool


def tone_rules(line: int, position: int, form: Form) -> list[ToneRule]:
    """The rules checked at ``position`` (1-based, even) of ``line`` (0-based)."""
    rules = []
    if position + 2 < form.chars:
        rules.append(ToneRule("二四六分明", line, position + 2, False))
    if line % 2 == 1:
        rules.append(ToneRule("对", line - 1, position, False))
    elif line >= 2:
        rules.append(ToneRule("粘", line - 1, position, True))
    return rules


def broken_rules(
    tones: Sequence[Sequence[str | None]], form: Form, line: int, position: int
) -> list[ToneRule]:
    """The rules checked at (``line``, ``position``) that ``tones`` (each line's tones, None
    for "either") break; a rule involving an "either" character holds."""
    tone = tones[line][position - 1]
    return [
        rule
        for rule in tone_rules(line, position, form)
        if not _holds(tone, tones[rule.line][rule.position - 1], rule.equal)
    ]


def _holds(tone: str | None, other: str | None, equal: bool) -> bool:
    return tone is None or other is None or (tone == other) == equal


def _flips(line: int, position: int) -> int:
    """How often the tone has changed from (0, 2) to (line, position) in a conforming poem."""
    return (line + 1) // 2 + position // 2 - 1


def _opposite(tone: str) -> str:
    return OBLIQUE if tone == LEVEL else LEVEL


def required_tone(tones: Sequence[Sequence[str | None]], line: int, position: int) -> str | None:
    """The tone (平/仄) the rules demand at ``position`` (1-based) of ``line`` (0-based).

    ``tones`` holds the tones chosen so far, line by line (the current line may be partial;
    anything at or after (line, position) is ignored). Odd positions are free. The first
    known tone at an even position, in reading order, sets the poem's pattern; before it every
    position is free (None). A poem whose even positions all get the demanded tone or an
    "either" character conforms fully.
    """
    if position % 2:
        return None
    for i, line_tones in enumerate(tones[: line + 1]):
        end = min(position - 1, len(line_tones)) if i == line else len(line_tones)
        for p in range(2, end + 1, 2):
            tone = line_tones[p - 1]
            if tone is not None:
                flipped = (_flips(line, position) - _flips(i, p)) % 2
                return _opposite(tone) if flipped else tone
    return None


# --- checkers ------------------------------------------------------------------------------


def check_format(text: str, form: Form) -> bool:
    """Exactly the form's lines of Han characters, ，/。 alternating, nothing else."""
    lines = split_lines(text)
    return (
        len(lines) == form.lines
        and all(_is_full_line(line, form) for line in lines)
        and text == join_lines(lines)
    )


def _is_full_line(line: str, form: Form) -> bool:
    return len(line) == form.chars and all(is_han(char) for char in line)


def rhyme_positions(form: Form) -> list[int]:
    """The 0-based lines whose last characters must rhyme: 1, 3 (, 5, 7)."""
    return list(range(1, form.lines, 2))


def check_rhyme(text: str, form: Form, book: str = DEFAULT_RHYME_BOOK) -> bool:
    """True when the required rhyme characters share a group of ``book`` that may rhyme (a
    level group of 平水韵); line 1 may join, need not. A missing rhyme line fails."""
    lines = split_lines(text)
    positions = rhyme_positions(form)
    if len(lines) <= positions[-1]:
        return False
    return bool(shared_rhymes((lines[i][-1] for i in positions), book))


def tone_conformance(text: str, form: Form) -> tuple[int, int]:
    """(satisfied, checked) even positions under the tone rules.

    Only the leading complete lines count (at most the form's lines, each of exactly its
    length in Han characters): a broken line ends the chain of 粘 and 对.
    """
    lines = []
    for line in split_lines(text)[: form.lines]:
        if not _is_full_line(line, form):
            break
        lines.append([tone_of(char) for char in line])
    satisfied = checked = 0
    for i in range(len(lines)):
        for p in tone_positions(form):
            checked += 1
            satisfied += not broken_rules(lines, form, i, p)
    return satisfied, checked


@dataclass(frozen=True)
class PoemChecks:
    """What the checkers say about one poem."""

    format_ok: bool
    rhyme_ok: bool
    tone_satisfied: int
    tone_checked: int

    @property
    def tone_rate(self) -> float:
        """Satisfied share of the checked positions; 0.0 when nothing could be checked."""
        return self.tone_satisfied / self.tone_checked if self.tone_checked else 0.0


def check_poem(text: str, form: Form, rhyme_book: str = DEFAULT_RHYME_BOOK) -> PoemChecks:
    """All checks of ``text`` against ``form``, the rhyme by ``rhyme_book``.

    When the format fails the others still run on the lines there are: the rhyme fails if a
    rhyme line is missing, the tone rules cover the leading complete lines only.
    """
    satisfied, checked = tone_conformance(text, form)
    rhyme_ok = check_rhyme(text, form, rhyme_book)
    return PoemChecks(check_format(text, form), rhyme_ok, satisfied, checked)


@dataclass(frozen=True)
class Mark:
    """One character of a poem as the rules see it: its tone, and its rhyme group where it
    ends a line that rhymes."""

    char: str
    tone: str | None  # 平, 仄, or None (either)
    rhyme: str | None = None


def annotate(text: str, rhyme_book: str = DEFAULT_RHYME_BOOK) -> list[list[Mark]]:
    """The marks of each line of ``text`` (punctuation left out), for showing a poem's prosody.

    The last characters of the even lines carry their group in ``rhyme_book``: the group they
    share (the first in the book's order where they share several), which the first line's
    last character joins where it belongs to it too (首句入韵); where they share none, each
    shows its own groups, joined by "/".
    """
    lines = split_lines(text)
    simplified = [[to_simplified(char) for char in line] for line in lines]
    ends = [rhyme_groups(line[-1], rhyme_book) for line in simplified]
    rhyming = list(range(1, len(lines), 2))
    shared = shared_rhymes((simplified[n][-1] for n in rhyming), rhyme_book) if rhyming else None
    if shared and shared & ends[0]:
        shared &= ends[0]
        rhyming.insert(0, 0)
    order = book_groups(rhyme_book).index
    labels = {
        n: min(shared, key=order) if shared else "/".join(sorted(ends[n], key=order)) or None
        for n in rhyming
    }
    return [
        [
            Mark(char, tone_of(plain), labels.get(n) if i == len(line) - 1 else None)
            for i, (char, plain) in enumerate(zip(line, simplified[n], strict=True))
        ]
        for n, line in enumerate(lines)
    ]
