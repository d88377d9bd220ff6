"""``python -m poetry_rnn.data``: runs :mod:`poetry_rnn.corpus.data`."""

import sys

from poetry_rnn.corpus.data import main
from poetry_rnn.errors import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))
