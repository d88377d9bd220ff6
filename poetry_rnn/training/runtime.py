"""Where a training process runs: its device and precision, and its rank among the
processes ``torchrun`` started."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from poetry_rnn.errors import PoetryError
from poetry_rnn.model.charrnn import native_bf16


@dataclass(frozen=True)
class Runtime:
    """Where this process trains: its device, and its rank among ``world_size`` processes."""

    device: torch.device
    bf16: bool = False
    rank: int = 0
    world_size: int = 1

    def autocast(self) -> torch.autocast:
        """bf16 mixed precision where the hardware runs it natively; else a no-op."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


def start_runtime(device: str, precision: str = "auto") -> Runtime:
    """Pick the device and precision; join the process group when started by torchrun."""
    if device == "cuda" and not torch.cuda.is_available():
        raise PoetryError("--device cuda was asked for, but no CUDA device is available")
    if device not in ("auto", "cpu", "cuda"):
        raise PoetryError(f"--device must be auto, cpu or cuda, got {device!r}")
    if precision not in ("auto", "bf16", "fp32"):
        raise PoetryError(f"--precision must be auto, bf16 or fp32, got {precision!r}")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    world_size = _process_number("WORLD_SIZE", 1, 1)
    rank = _process_number("RANK", 0, 0, world_size - 1)
    if use_cuda:
        local_rank = _process_number("LOCAL_RANK", 0, 0)
        torch.cuda.set_device(local_rank)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    bf16 = precision == "bf16" or (precision == "auto" and native_bf16(chosen))
    if world_size > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Runtime(chosen, bf16, rank, world_size)


def _process_number(name: str, default: int, low: int, high: int | None = None) -> int:
    """The whole number torchrun sets in the environment variable ``name`` (``default`` where
    it is unset), from ``low`` to ``high``."""
    text = os.environ.get(name)
    if text is None:
        return default
    value = int(text.strip()) if text.strip().isdecimal() and text.strip().isascii() else None
    if value is None or value < low or (high is not None and value > high):
        within = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise PoetryError(f"the environment's {name} must be a whole number {within}, got {text!r}")
    return value


def agree(runtime: Runtime, value: object) -> object:
    """Rank 0's ``value``, on every rank."""
    if runtime.world_size == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
