"""poetry-rnn: classical Chinese poems from a character-level LSTM.

The names below load their module on first use, so ``import poetry_rnn`` stays cheap and
``python -m poetry_rnn.<module>`` runs each module once.
"""

import importlib

from poetry_rnn.errors import PoetryError

#: The one place the version lives: pyproject.toml reads it from here, and a source checkout
#: that is not installed has it too.
__version__ = "0.1.0"

_LAZY = {
    "CorpusOptions": "poetry_rnn.corpus.data",
    "EncodedCorpus": "poetry_rnn.corpus.data",
    "load_corpus": "poetry_rnn.corpus.data",
    "prepare_corpus": "poetry_rnn.corpus.data",
    "CharRNN": "poetry_rnn.model.charrnn",
    "ModelConfig": "poetry_rnn.model.charrnn",
    "Controls": "poetry_rnn.writing.controls",
    "Poem": "poetry_rnn.writing.generate",
    "PoetryGenerator": "poetry_rnn.writing.generate",
    "FORMS": "poetry_rnn.forms",
    "Form": "poetry_rnn.forms",
    "to_simplified": "poetry_rnn.text",
    "to_traditional": "poetry_rnn.text",
    "Vocab": "poetry_rnn.corpus.vocab",
}

__all__ = ["PoetryError", "__version__", *_LAZY]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'poetry_rnn' has no attribute {name!r}")
