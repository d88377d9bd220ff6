"""Build ``titles.json``: the bank of common titles a poem is given when the user names none.

    python -m poetry_rnn.writing.build_titles --corpus PATH [--out-dir DIR]

From the Tang and Song shi of a chinese-poetry checkout, the titles of the training split (the
split :func:`poetry_rnn.corpus.data.split_of` gives a poem, so that no test poem's title is in the
bank), cleaned as the model reads them (:func:`poetry_rnn.corpus.cleaning.clean_title`), of
``MIN_CHARS`` to ``MAX_CHARS`` characters, borne by at least ``MIN_POEMS`` poems; less the
titles that name no occasion of their own (:data:`NO_OCCASION`: replies to another poem's
rhymes, Buddhist and Daoist verses, lost or missing titles) and the 词牌, which are tunes, not
occasions.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from poetry_rnn.corpus.cleaning import clean_texts, clean_title
from poetry_rnn.corpus.data import split_of
from poetry_rnn.corpus.sources import read_corpus
from poetry_rnn.errors import ArgumentParser, run_cli, setup_logging
from poetry_rnn.files import write_text_atomic
from poetry_rnn.poetics.build_cipai import CIPAI_TABLE
from poetry_rnn.writing.titles import TITLE_BANK

log = logging.getLogger("poetry_rnn.writing.build_titles")  # also when run as __main__

PACKAGE_DIR = Path(__file__).parents[1]
COLLECTIONS = ("tang", "song")
MIN_CHARS, MAX_CHARS = 2, 7
MIN_POEMS = 4
#: Titles matching this name no occasion a reader could hold a poem to: replies to another
#: poem's rhymes, religious verse, elegies for a named person, a form's name, a lost title.
NO_OCCASION = re.compile(
    "[偈颂赞铭挽哭韵丹]|^和|^又|^再|存目|集句|失题|缺题|无题|^句|歌辞|乐章|诗诀|证道|缘识|"
    "绝句|[五六七]言|[一二三四五六七八九十百]+[首章篇则绝咏]"
)


def build_bank(corpus: str | Path, progress: bool = False) -> dict[str, int]:
    """Each title of the bank and how many training poems bear it, commonest first."""
    poems, _, _ = read_corpus(corpus, COLLECTIONS, progress=progress)
    kept, texts, _ = clean_texts(poem.text for poem in poems)
    tunes = set(json.loads((PACKAGE_DIR / CIPAI_TABLE).read_text(encoding="utf-8"))["tunes"])
    counts = Counter(
        clean_title(poems[index].title)
        for index, text in zip(kept, texts, strict=True)
        if split_of(text) == 0
    )
    bank = {
        title: count for title, count in counts.most_common()
        if MIN_CHARS <= len(title) <= MAX_CHARS and count >= MIN_POEMS
        and not NO_OCCASION.search(title) and title not in tunes
    }  # fmt: skip
    return bank


def bank_json(bank: dict[str, int]) -> str:
    about = (
        f"The titles of the Tang and Song shi of chinese-poetry (training split), cleaned, "
        f"{MIN_CHARS} to {MAX_CHARS} characters, borne by at least {MIN_POEMS} poems, less those "
        "that name no occasion and the 词牌; by python -m poetry_rnn.writing.build_titles."
    )
    return json.dumps({"about": about, "titles": bank}, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.writing.build_titles",
        description="Build the bank of titles a poem is given when the user names none.",
    )
    parser.add_argument("--corpus", required=True, help="a chinese-poetry checkout")
    parser.add_argument("--out-dir", type=Path, default=PACKAGE_DIR, help="default: the package")
    args = parser.parse_args(argv)
    setup_logging()
    bank = build_bank(args.corpus, progress=sys.stderr.isatty())
    write_text_atomic(args.out_dir / TITLE_BANK, bank_json(bank))
    log.info("wrote %d titles to %s", len(bank), args.out_dir / TITLE_BANK)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
