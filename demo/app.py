"""Start the web demo from a checkout: ``python demo/app.py [--host] [--port] [--model]
[--concurrency]``, the same as ``python -m poetry_rnn.demo`` (see poetry_rnn/demo.py)."""

import sys

from poetry_rnn.app.demo import main
from poetry_rnn.errors import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))
