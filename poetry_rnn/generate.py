"""``python -m poetry_rnn.generate``: runs :mod:`poetry_rnn.writing.generate`."""

import sys

from poetry_rnn.errors import run_cli
from poetry_rnn.writing.generate import main

if __name__ == "__main__":
    sys.exit(run_cli(main))
