"""``python -m poetry_rnn.evaluate``: runs :mod:`poetry_rnn.evaluation.evaluate`."""

import sys

from poetry_rnn.errors import run_cli
from poetry_rnn.evaluation.evaluate import main

if __name__ == "__main__":
    sys.exit(run_cli(main))
