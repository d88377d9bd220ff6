"""``python -m poetry_rnn.checkpoint``: runs :mod:`poetry_rnn.app.checkpoint_cli`."""

import sys

from poetry_rnn.app.checkpoint_cli import main
from poetry_rnn.errors import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))
