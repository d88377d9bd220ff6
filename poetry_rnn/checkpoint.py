"""Model directories (config.json, vocab.json, model.safetensors) and training state files.

Everything is safetensors or JSON, never a pickle; every file is written atomically, and every
tensor file carries a SHA-256 of its tensors, so a damaged or tampered file is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import Tensor

from poetry_rnn.errors import PoetryError
from poetry_rnn.files import write_bytes_atomic, write_text_atomic
from poetry_rnn.model import CharRNN, ModelConfig
from poetry_rnn.vocab import Vocab

FORMAT = "poetry-rnn/1"
CONFIG, VOCAB, WEIGHTS, METRICS = "config.json", "vocab.json", "model.safetensors", "metrics.json"
_DIGEST_KEY = "sha256"
_TIED = "decoder.weight"  # shares the embedding's storage; saved once, tied again on load
#: The default model, shipped inside the package (see MODEL_CARD.md).
SHIPPED_MODEL = Path(__file__).resolve().parent / "pretrained"


def tensor_digest(tensors: dict[str, Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of ``tensors``."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_tensors(path: str | os.PathLike[str], tensors: dict[str, Tensor], metadata: dict) -> None:
    """Write ``tensors`` and string ``metadata`` to one safetensors file, atomically."""
    tensors = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
    metadata = {key: str(value) for key, value in metadata.items()}
    metadata[_DIGEST_KEY] = tensor_digest(tensors)
    write_bytes_atomic(path, save_safetensors(tensors, metadata=metadata))


def load_tensors(path: str | os.PathLike[str]) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Read a file written by :func:`save_tensors`; a :class:`PoetryError` if damaged."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PoetryError(f"missing {path}") from None
    except OSError as error:
        raise PoetryError(f"cannot read {path}: {error.strerror}") from error
    try:
        tensors = load_safetensors(data)
        metadata = _safetensors_metadata(data)
    except (SafetensorError, ValueError, json.JSONDecodeError) as error:
        raise PoetryError(f"damaged checkpoint file {path}: {error}") from error
    if metadata.get(_DIGEST_KEY) != tensor_digest(tensors):
        raise PoetryError(f"damaged checkpoint file {path}: its checksum does not match")
    return tensors, metadata


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    header_size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + header_size]).get("__metadata__", {})


def save_pretrained(
    directory: str | os.PathLike[str],
    model: CharRNN,
    vocab: Vocab,
    metrics: dict | None = None,
    dtype: torch.dtype | None = None,
) -> None:
    """Write ``model`` and ``vocab`` as a model directory; ``dtype`` (e.g. float16) shrinks it."""
    directory = Path(directory)
    weights = {name: t.to(dtype) if dtype else t for name, t in _weights(model).items()}
    config = {"format": FORMAT, "model": model.config.to_dict()}
    save_tensors(directory / WEIGHTS, weights, {"format": FORMAT})
    write_text_atomic(directory / VOCAB, vocab.to_json())
    write_text_atomic(directory / CONFIG, json.dumps(config, indent=2))
    if metrics is not None:
        write_text_atomic(directory / METRICS, json.dumps(metrics, indent=2, ensure_ascii=False))


def _weights(model: CharRNN) -> dict[str, Tensor]:
    """The model's tensors, a tied decoder weight left out (it is the embedding)."""
    state = model.state_dict()
    if model.config.tie_weights:
        del state[_TIED]
    return state


def load_model_config(directory: str | os.PathLike[str]) -> ModelConfig:
    """The model config of a model directory."""
    path = Path(directory) / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PoetryError(f"not a model directory (no {CONFIG}): {directory}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoetryError(f"damaged {path}: {error}") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise PoetryError(f"{path} is not a {FORMAT} model config")
    try:
        return ModelConfig.from_dict(config["model"])
    except (KeyError, TypeError) as error:
        raise PoetryError(f"damaged {path}: {error}") from error


def model_from_tensors(config: ModelConfig, tensors: dict[str, Tensor], source: str) -> CharRNN:
    """A :class:`CharRNN` of ``config`` holding ``tensors``, as float32."""
    model = CharRNN(config)
    tensors = {name: tensor.float() for name, tensor in tensors.items()}
    if config.tie_weights and "embedding.weight" in tensors:
        tensors[_TIED] = tensors["embedding.weight"]
    try:
        model.load_state_dict(tensors)
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise PoetryError(f"{source} does not match its config: {detail[:300]}") from error
    return model


def from_pretrained(
    directory: str | os.PathLike[str] | None = None, device: str | torch.device = "cpu"
) -> tuple[CharRNN, Vocab]:
    """Load a model directory written by :func:`save_pretrained` (by default the shipped
    model), in fp32 and eval mode."""
    if directory is None:
        if not SHIPPED_MODEL.is_dir():
            raise PoetryError(
                f"the default model is missing from this installation ({SHIPPED_MODEL}); "
                "reinstall poetry-rnn or give a model directory"
            )
        directory = SHIPPED_MODEL
    directory = Path(directory)
    if not directory.is_dir():
        raise PoetryError(f"model directory not found: {directory}")
    config = load_model_config(directory)
    vocab = Vocab.load(directory / VOCAB)
    if len(vocab) != config.vocab_size:
        raise PoetryError(
            f"{directory}: vocab.json has {len(vocab)} tokens but the model expects "
            f"{config.vocab_size}"
        )
    tensors, _ = load_tensors(directory / WEIGHTS)
    model = model_from_tensors(config, tensors, str(directory / WEIGHTS))
    return model.to(device).eval(), vocab


@dataclass
class TrainingState:
    """What a run needs to continue: current weights, optimizer state, RNG states, metadata."""

    model: CharRNN
    optimizer_state: dict
    rng: dict[str, Tensor]
    metadata: dict[str, str]


def save_training_state(
    path: str | os.PathLike[str],
    model: CharRNN,
    optimizer: torch.optim.Optimizer,
    metadata: dict[str, str],
) -> None:
    """Write weights, optimizer and RNG states and ``metadata`` as one atomic file."""
    tensors = {f"model.{name}": t for name, t in _weights(model).items()}
    optimizer_state = optimizer.state_dict()
    for index, slots in optimizer_state["state"].items():
        tensors |= {f"optimizer.{index}.{key}": value for key, value in slots.items()}
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors |= {f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
    metadata = metadata | {
        "format": FORMAT,
        "model_config": json.dumps(model.config.to_dict()),
        "param_groups": json.dumps(optimizer_state["param_groups"]),
    }
    save_tensors(path, tensors, metadata)


def load_training_state(path: str | os.PathLike[str]) -> TrainingState:
    """Read a file written by :func:`save_training_state`."""
    tensors, metadata = load_tensors(path)
    try:
        config = ModelConfig.from_dict(json.loads(metadata["model_config"]))
        param_groups = json.loads(metadata["param_groups"])
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise PoetryError(f"damaged training state {path}: {error}") from error
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    slots: dict[int, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            slots.setdefault(int(index), {})[name] = value
    rng = {k.removeprefix("rng."): v for k, v in tensors.items() if k.startswith("rng.")}
    return TrainingState(
        model=model_from_tensors(config, weights, str(path)),
        optimizer_state={"state": slots, "param_groups": param_groups},
        rng=rng,
        metadata=metadata,
    )
