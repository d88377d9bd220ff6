"""``python -m poetry_rnn.generate``: runs :mod:`poetry_rnn.app.generate_cli`."""

import sys

from poetry_rnn.app.generate_cli import main
from poetry_rnn.errors import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))
