"""Rhyme books: the groups a character rhymes in, and which groups may rhyme.

The last characters of lines 2, 4 (6, 8) rhyme when they belong to one group of a
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
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

from pypinyin import Style, pinyin

from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import Form
from poetry_rnn.poetics.tables import PINGSHUI_TABLE, RHYMED_TABLE, read_table
from poetry_rnn.poetics.tones import LEVEL, OBLIQUE, tone_of
from poetry_rnn.text import is_han, split_lines, standard_form


def groups_of(*tables: dict[str, str]) -> dict[str, frozenset[str]]:
    """Character → every group of ``tables`` (group → its characters) that lists it."""
    members: dict[str, set[str]] = {}
    for table in tables:
        for group, chars in table.items():
            for char in chars:
                members.setdefault(char, set()).add(group)
    return {char: frozenset(groups) for char, groups in members.items()}


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
    level, oblique, attested = read_table(PINGSHUI_TABLE, LEVEL, OBLIQUE, "attested")
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
    (groups,) = read_table(RHYMED_TABLE, "groups")
    return groups_of(groups)


def shared_rhymes(chars: Iterable[str], book: str = DEFAULT_RHYME_BOOK) -> frozenset[str]:
    """The groups that may rhyme in which every one of ``chars`` stands: they rhyme iff any."""
    shared = frozenset(rhyming_groups(book))
    for char in chars:
        shared &= rhyme_groups(char, book)
    return shared


def rhyme_positions(form: Form) -> list[int]:
    """The 0-based lines whose last characters must rhyme: 1, 3 (, 5, 7)."""
    return list(range(1, form.lines, 2))


def unrhymed_level_opening(text: str, form: Form, book: str = DEFAULT_RHYME_BOOK) -> bool:
    """True when the first line ends on a level (平) character that does not rhyme with the
    poem's rhyme characters: what a reader hears as a broken rhyme (a poem of the form only)."""
    lines = split_lines(text)
    if len(lines) != form.lines or tone_of(lines[0][-1]) != LEVEL:
        return False
    return not shared_rhymes([lines[0][-1], *(lines[i][-1] for i in rhyme_positions(form))], book)
