"""``python -m poetry_rnn.demo``: runs :mod:`poetry_rnn.app.demo`."""

import sys

from poetry_rnn.app.demo import main
from poetry_rnn.errors import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))
