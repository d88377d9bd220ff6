"""``python -m poetry_rnn.evaluate``: runs :mod:`poetry_rnn.app.evaluate_cli`."""

import sys

from poetry_rnn.app.evaluate_cli import main
from poetry_rnn.errors import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))
