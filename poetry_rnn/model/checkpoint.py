"""Model directories and training-state files.

A model directory holds ``config.json``, ``vocab.json`` and the weights: one
``model.safetensors``, or shards ``model-00001-of-0000N.safetensors`` with an index
``model.safetensors.index.json`` in the Hugging Face layout. Everything is safetensors or JSON,
never a pickle; every file is written atomically; every tensor file carries a SHA-256 of its
metadata and tensors, and the metadata binds the weights to their model config and to the
vocabulary's digest, so a damaged, altered, swapped or reordered file is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import Tensor

from poetry_rnn.corpus.vocab import SPECIALS, Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.files import user_path, write_bytes_atomic, write_text_atomic
from poetry_rnn.model.charrnn import CharRNN, ModelConfig, native_bf16
from poetry_rnn.model.quantized import Int8CharRNN, int8_supported

FORMAT = "poetry-rnn/2"
#: The first shipped model: its digest covers the tensors only, and config.json names the
#: vocabulary's digest.
LEGACY_FORMAT = "poetry-rnn/1"
CONFIG, VOCAB, WEIGHTS, METRICS = "config.json", "vocab.json", "model.safetensors", "metrics.json"
INDEX = "model.safetensors.index.json"
_DIGEST_KEY = "sha256"
_TIED = "decoder.weight"  # shares the embedding's storage; saved once, tied again on load
#: The default model, shipped inside the package (see MODEL_CARD.md).
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "pretrained"


def tensor_digest(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> str:
    """SHA-256 over ``metadata`` (if given) and the names, dtypes, shapes and bytes of
    ``tensors``."""
    digest = hashlib.sha256()
    if metadata is not None:
        digest.update(json.dumps(metadata, sort_keys=True, ensure_ascii=False).encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_tensors(path: str | os.PathLike[str], tensors: dict[str, Tensor], metadata: dict) -> None:
    """Write ``tensors`` and string ``metadata`` to one safetensors file, atomically."""
    tensors = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
    metadata = {key: str(value) for key, value in metadata.items()} | {"format": FORMAT}
    metadata[_DIGEST_KEY] = tensor_digest(tensors, metadata)
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
    covered = {key: value for key, value in metadata.items() if key != _DIGEST_KEY}
    legacy = metadata.get("format") == LEGACY_FORMAT
    if metadata.get(_DIGEST_KEY) != tensor_digest(tensors, None if legacy else covered):
        raise PoetryError(f"damaged checkpoint file {path}: its checksum does not match")
    return tensors, metadata


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    header_size = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8 : 8 + header_size]).get("__metadata__", {})
    if not isinstance(metadata, dict):
        raise ValueError("its metadata is not an object")
    return metadata


def save_pretrained(
    directory: str | os.PathLike[str],
    model: CharRNN,
    vocab: Vocab,
    metrics: dict | None = None,
    dtype: torch.dtype | None = None,
    max_shard_bytes: int | None = None,
) -> None:
    """Write ``model`` and ``vocab`` as a model directory; ``dtype`` (e.g. bfloat16) shrinks
    it, and ``max_shard_bytes`` splits the weights into shards of at most that size."""
    directory = user_path(directory, "the model directory")
    weights = {name: t.to(dtype) if dtype else t for name, t in _weights(model).items()}
    binding = _binding(model.config, vocab)
    shards = _shards(weights, max_shard_bytes)
    names = [WEIGHTS] if len(shards) == 1 else _shard_names(len(shards))
    for old in directory.glob("model*.safetensors*"):  # a previous save's other layout
        if old.name not in [*names, INDEX]:
            old.unlink()
    for number, (name, shard) in enumerate(zip(names, shards, strict=True), 1):
        save_tensors(directory / name, shard, binding | {"shard": f"{number}/{len(shards)}"})
    if len(shards) > 1:
        weight_map = {t: name for name, shard in zip(names, shards, strict=True) for t in shard}
        total_size = sum(_nbytes(t) for t in weights.values())
        index = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
        write_text_atomic(directory / INDEX, json.dumps(index, indent=2))
    else:
        (directory / INDEX).unlink(missing_ok=True)
    write_text_atomic(directory / VOCAB, vocab.to_json())
    config = {"format": FORMAT, "model": model.config.to_dict()}
    write_text_atomic(directory / CONFIG, json.dumps(config, indent=2))
    if metrics is not None:
        write_text_atomic(directory / METRICS, json.dumps(metrics, indent=2, ensure_ascii=False))


def _binding(config: ModelConfig, vocab: Vocab) -> dict[str, str]:
    """The metadata that ties a weights file to its model config and vocabulary."""
    return {"config": json.dumps(config.to_dict(), sort_keys=True), "vocab_sha256": vocab.digest()}


def _nbytes(tensor: Tensor) -> int:
    return tensor.numel() * tensor.element_size()


#: A shard file's bytes beside its tensors', at most: the safetensors header's fixed part with
#: the metadata (config, vocabulary digest, shard number, SHA-256), and an entry a tensor
#: besides its name (dtype, shape, offsets).
_HEADER_BYTES, _ENTRY_BYTES = 4096, 128


def _shards(weights: dict[str, Tensor], max_bytes: int | None) -> list[dict[str, Tensor]]:
    """``weights`` in order, cut into groups whose files take at most ``max_bytes`` (a larger
    tensor alone)."""
    if max_bytes is not None and max_bytes < 1:
        raise PoetryError(f"the shard size must be positive, got {max_bytes}")
    shards: list[dict[str, Tensor]] = [{}]
    size = _HEADER_BYTES
    for name, tensor in weights.items():
        stored = _nbytes(tensor) + len(name.encode()) + _ENTRY_BYTES
        if max_bytes is not None and shards[-1] and size + stored > max_bytes:
            shards.append({})
            size = _HEADER_BYTES
        shards[-1][name] = tensor
        size += stored
    return shards


def _shard_names(count: int) -> list[str]:
    return [f"model-{number:05d}-of-{count:05d}.safetensors" for number in range(1, count + 1)]


def _weights(model: CharRNN) -> dict[str, Tensor]:
    """The model's tensors, a tied decoder weight left out (it is the embedding)."""
    state = model.state_dict()
    if model.config.tie_weights:
        del state[_TIED]
    return state


def trimmed(model: CharRNN, vocab: Vocab, size: int) -> tuple[CharRNN, Vocab]:
    """``model`` and ``vocab`` cut to their first ``size`` tokens: the special ones and the most
    frequent characters (a vocabulary lists them in that order), in fp32 and eval mode. The
    characters cut read as ``<unk>`` from then on, and the model never writes them: a smaller
    model to ship at almost no cost, since the rarest characters are the ones cut."""
    if not len(SPECIALS) < size <= len(vocab):
        raise PoetryError(
            f"a vocabulary can be cut to between {len(SPECIALS) + 1} and {len(vocab)} tokens, "
            f"not {size}"
        )
    rows = ("embedding.weight", "decoder.weight", "decoder.bias")
    weights = {name: t[:size] if name in rows else t for name, t in _weights(model).items()}
    config = replace(model.config, vocab_size=size)
    cut = model_from_tensors(config, weights, "the cut model").eval()
    return cut, Vocab(vocab.tokens[:size], vocab.min_freq)


def load_model_config(directory: str | os.PathLike[str]) -> ModelConfig:
    """The model config of a model directory."""
    return _read_config(Path(directory))[0]


def _read_config(directory: Path) -> tuple[ModelConfig, dict]:
    """The model config of a model directory, and the whole of its config.json."""
    path = directory / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PoetryError(f"not a model directory (no {CONFIG}): {directory}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoetryError(f"damaged {path}: {error}") from error
    if not isinstance(config, dict) or config.get("format") not in (FORMAT, LEGACY_FORMAT):
        raise PoetryError(f"{path} is not a {FORMAT} model config")
    if "model" not in config:
        raise PoetryError(f"damaged {path}: it has no model section")
    return ModelConfig.from_dict(config["model"]), config


def model_from_tensors(config: ModelConfig, tensors: dict[str, Tensor], source: str) -> CharRNN:
    """A :class:`CharRNN` of ``config`` holding ``tensors``, as float32; weights that are not
    all finite numbers (a NaN writes nonsense, and stops int8 quantisation) are refused."""
    model = CharRNN(config)
    tensors = {name: tensor.float() for name, tensor in tensors.items()}
    broken = next((name for name, tensor in tensors.items() if not tensor.isfinite().all()), None)
    if broken is not None:
        raise PoetryError(f"{source} holds weights that are not finite numbers (in {broken})")
    if config.tie_weights and "embedding.weight" in tensors:
        tensors[_TIED] = tensors["embedding.weight"]
    try:
        model.load_state_dict(tensors)
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise PoetryError(f"{source} does not match its config: {detail[:300]}") from error
    return model


def from_pretrained(
    directory: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
    direction: str = "forward",
) -> tuple[CharRNN, Vocab]:
    """Load a model directory written by :func:`save_pretrained` (by default the shipped
    model), in fp32 and eval mode; a model reading the other ``direction`` is refused."""
    if directory is None:
        if not SHIPPED_MODEL.is_dir():
            raise PoetryError(
                f"the default model is missing from this installation ({SHIPPED_MODEL}); "
                "reinstall poetry-rnn or give a model directory"
            )
        directory = SHIPPED_MODEL
    directory = user_path(directory, f"a {direction} model's directory")
    if not directory.is_dir():
        raise PoetryError(f"model directory not found: {directory}")
    config, raw_config = _read_config(directory)
    if config.direction != direction:
        raise PoetryError(
            f"{directory} holds a {config.direction} model, but a {direction} one is needed"
        )
    vocab = Vocab.load(directory / VOCAB)
    if len(vocab) != config.vocab_size:
        raise PoetryError(
            f"{directory}: vocab.json has {len(vocab)} tokens but the model expects "
            f"{config.vocab_size}"
        )
    legacy = raw_config["format"] == LEGACY_FORMAT
    if legacy and raw_config.get("vocab_sha256") != vocab.digest():
        raise PoetryError(f"{directory}: vocab.json is not the vocabulary the model was saved with")
    tensors = _read_weights(directory, config, vocab, legacy)
    model = model_from_tensors(config, tensors, str(directory))
    return model.to(device_named(device)).eval(), vocab


class Models(NamedTuple):
    """The models a poem is written or ranked with: a forward model, its vocabulary, and
    optionally a backward model of the same vocabulary."""

    forward: CharRNN | Int8CharRNN
    vocab: Vocab
    backward: CharRNN | Int8CharRNN | None = None


PRECISIONS = ("auto", "int8", "bf16", "fp32")


def load_models(
    path: str | os.PathLike[str] | None = None,
    backward: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
    precision: str = "auto",
) -> Models:
    """The forward model of ``path`` (default: the shipped one) and the backward model of
    ``backward`` (if given), which must share its vocabulary, for inference in ``precision``:
    "int8" (CPU only; :mod:`poetry_rnn.model.quantized`), "bf16", "fp32", or "auto": int8 on a CPU
    whose PyTorch has the kernels, else bf16 where the hardware runs it natively, else fp32.
    A decoding step reads every weight once, so fewer bytes per weight are faster: on an x86
    CPU an int8 step takes about a third of a bf16 one and a ninth of an fp32 one."""
    if precision not in PRECISIONS:
        raise PoetryError(f"precision must be auto, int8, bf16 or fp32, got {precision!r}")
    chosen = device_named(device)
    int8_here = chosen.type == "cpu" and int8_supported()
    if precision == "int8" and not int8_here:
        raise PoetryError(
            "int8 runs on a CPU whose PyTorch has the fbgemm kernels; "
            f"this is {chosen} with {', '.join(torch.backends.quantized.supported_engines)}"
        )
    forward, vocab = from_pretrained(path, chosen)
    backward_model = None
    if backward is not None:
        backward_model, backward_vocab = from_pretrained(backward, chosen, direction="backward")
        if backward_vocab != vocab:
            raise PoetryError(f"{backward} has another vocabulary than the forward model")
    if precision == "auto":
        precision = "int8" if int8_here else "bf16" if native_bf16(chosen) else "fp32"
    convert = {"int8": Int8CharRNN, "bf16": lambda model: model.to(torch.bfloat16)}
    if precision in convert:
        forward = convert[precision](forward)
        if backward_model is not None:
            backward_model = convert[precision](backward_model)
    return Models(forward, vocab, backward_model)


def _read_weights(
    directory: Path, config: ModelConfig, vocab: Vocab, legacy: bool
) -> dict[str, Tensor]:
    """Every weight of a model directory, each file checked against the config and vocab."""
    index_path = directory / INDEX
    if not index_path.exists():
        files = {WEIGHTS: None}
    else:
        try:
            weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
            raise PoetryError(f"damaged {index_path}: {error}") from error
        if not isinstance(weight_map, dict):
            raise PoetryError(f"damaged {index_path}: its weight_map is not an object")
        if not all(isinstance(file, str) for file in weight_map.values()):
            raise PoetryError(f"damaged {index_path}: its weight_map names a file by a non-string")
        files = {name: sorted(t for t, f in weight_map.items() if f == name)
                 for name in dict.fromkeys(weight_map.values())}  # fmt: skip
        if sorted(files) != _shard_names(len(files)):
            raise PoetryError(f"{index_path} names files that are not this model's shards")
    binding = {
        "config": json.dumps(config.to_dict(), sort_keys=True),
        "vocab_sha256": vocab.digest(),
    }
    tensors: dict[str, Tensor] = {}
    for number, (name, expected) in enumerate(files.items(), 1):
        path = directory / name
        shard, metadata = load_tensors(path)
        if not legacy:
            if any(metadata.get(key) != value for key, value in binding.items()):
                raise PoetryError(f"{path} belongs to another model config or vocabulary")
            if metadata.get("shard") != f"{number}/{len(files)}":
                raise PoetryError(f"{path} is not shard {number} of {len(files)}")
        if expected is not None and sorted(shard) != expected:
            raise PoetryError(f"{path} does not hold the tensors {index_path.name} names")
        tensors |= shard
    return tensors


def device_named(name: str | torch.device) -> torch.device:
    """The torch device called ``name`` ("cpu", "cuda", "cuda:N"), which this machine must
    have: anything else is a :class:`PoetryError`."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise PoetryError(f"device must be cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise PoetryError(f"device {name!r} was asked for, but no CUDA device is available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise PoetryError(
                f"no CUDA device {device.index} (this machine has {torch.cuda.device_count()})"
            )
    elif device.type != "cpu":
        raise PoetryError(f"device must be cpu, cuda or cuda:N, got {name!r}")
    return device


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
    if torch.cuda.is_available():  # this process's own device only: under torchrun, its rank's
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    metadata = metadata | {
        "model_config": json.dumps(model.config.to_dict()),
        "param_groups": json.dumps(optimizer_state["param_groups"]),
    }
    save_tensors(path, tensors, metadata)


def load_training_state(path: str | os.PathLike[str]) -> TrainingState:
    """Read a file written by :func:`save_training_state`."""
    tensors, metadata = load_tensors(path)
    if metadata.get("format") != FORMAT:
        raise PoetryError(f"{path} was written by an older poetry-rnn and cannot be resumed")
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
