"""``python -m poetry_rnn.train``: runs :mod:`poetry_rnn.training.train`."""

import sys

from poetry_rnn.errors import run_cli
from poetry_rnn.training.train import main

if __name__ == "__main__":
    sys.exit(run_cli(main))
