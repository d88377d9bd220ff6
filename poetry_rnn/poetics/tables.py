"""The tables the package ships: their names, their folder, the poems they are built from, and
their one reader.

Characters are simplified: every table is keyed by simplified characters. The tables are built
by ``python -m poetry_rnn.poetics.build_tables``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from poetry_rnn.corpus.sources import POEM_FOLDER
from poetry_rnn.errors import PoetryError

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

PACKAGE_DIR = Path(__file__).parents[1]
#: The collections whose poems attest doublings and 对仗 pairs.
POEM_COLLECTIONS = ("tang", "song")
POEMS_SOURCE = f"chinese-poetry {POEM_FOLDER}/poet.tang.*.json poet.song.*.json"


def read_table(name: str, *keys: str) -> tuple:
    """The entries under ``keys`` of a shipped table (its users read it once)."""
    try:
        data = json.loads(resources.files("poetry_rnn").joinpath(name).read_text("utf-8"))
        return tuple(data[key] for key in keys)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PoetryError(f"cannot read the table {name}: {error!r}") from error
