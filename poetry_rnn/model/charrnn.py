"""The CharRNN: embedding, a multi-layer LSTM, and a linear map back to the vocabulary."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from poetry_rnn.errors import PoetryError

State = tuple[Tensor, Tensor]


DIRECTIONS = ("forward", "backward")
#: Upper bounds checked before anything is allocated: far above any useful model, far below
#: what would exhaust a machine's memory.
LIMITS = {"vocab_size": 1_000_000, "embedding_dim": 8192, "hidden_size": 8192, "num_layers": 16}
MAX_PARAMETERS = 1_000_000_000


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a :class:`CharRNN`, and the direction it reads poems in.

    A ``backward`` model reads each poem right to left (start token, last character first,
    end token); decoding uses it to score whole lines from their end.
    """

    vocab_size: int
    embedding_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2
    tie_weights: bool = True
    direction: str = "forward"

    def __post_init__(self) -> None:
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise PoetryError(f"{name} must be an integer, got {value!r}")
            if not 1 <= value <= limit:
                raise PoetryError(f"{name} must be between 1 and {limit:,}, got {value:,}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float):
            raise PoetryError(f"dropout must be a number, got {self.dropout!r}")
        if not 0 <= self.dropout < 1:
            raise PoetryError(f"dropout must be in [0, 1), got {self.dropout}")
        if not isinstance(self.tie_weights, bool):
            raise PoetryError(f"tie_weights must be true or false, got {self.tie_weights!r}")
        if self.direction not in DIRECTIONS:
            raise PoetryError(f"direction must be forward or backward, got {self.direction!r}")
        if self.num_parameters() > MAX_PARAMETERS:
            raise PoetryError(
                f"a model of {self.num_parameters():,} parameters is too large "
                f"(at most {MAX_PARAMETERS:,})"
            )

    def num_parameters(self) -> int:
        """The parameter count of a :class:`CharRNN` of this shape, computed without one."""
        vocab, embedding, hidden = self.vocab_size, self.embedding_dim, self.hidden_size
        inputs = [embedding] + [hidden] * (self.num_layers - 1)
        lstm = sum(4 * hidden * (size + hidden + 2) for size in inputs)
        projected = self.tie_weights and hidden != embedding
        projection = hidden * embedding if projected else 0
        output = vocab if self.tie_weights else hidden * vocab + vocab
        return vocab * embedding + lstm + projection + output

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        if not isinstance(data, dict):
            raise PoetryError(f"a model config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise PoetryError(f"unknown model config keys: {', '.join(sorted(unknown))}")
        if "vocab_size" not in data:
            raise PoetryError("the model config has no vocab_size")
        return cls(**data)


#: Named shapes. ``reference`` is the textbook recipe's (docs/baseline.md); ``small`` is the
#: default on every device and trains well on a CPU; ``base`` and ``large`` want a GPU.
PRESETS: dict[str, dict] = {
    "reference": {
        "embedding_dim": 128, "hidden_size": 256, "num_layers": 2, "dropout": 0.0,
        "tie_weights": False,
    },
    "small": {
        "embedding_dim": 256, "hidden_size": 512, "num_layers": 2, "dropout": 0.2,
        "tie_weights": True,
    },
    "base": {
        "embedding_dim": 384, "hidden_size": 768, "num_layers": 2, "dropout": 0.3,
        "tie_weights": True,
    },
    "large": {
        "embedding_dim": 512, "hidden_size": 1024, "num_layers": 2, "dropout": 0.3,
        "tie_weights": True,
    },
}  # fmt: skip


def preset_config(name: str, vocab_size: int, **overrides: object) -> ModelConfig:
    """The config of preset ``name`` for ``vocab_size``, with ``overrides`` (None ones ignored)."""
    if name not in PRESETS:
        raise PoetryError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    chosen = {key: value for key, value in overrides.items() if value is not None}
    return ModelConfig(vocab_size=vocab_size, **(PRESETS[name] | chosen))


class CharRNN(nn.Module):
    """Embedding → LSTM → (projection) → Linear over the vocabulary.

    With ``tie_weights`` the output layer shares the embedding matrix; where the hidden size
    differs from the embedding size, a projection maps the LSTM output down to it first.
    """

    #: Whether a batch's duplicate rows may step once, with no change to any row's result:
    #: not here, where fp32 matrix products round differently for a different number of rows.
    duplicates_step_once = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            config.embedding_dim,
            config.hidden_size,
            config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        out_dim = config.hidden_size
        self.projection = None
        if config.tie_weights and config.hidden_size != config.embedding_dim:
            self.projection = nn.Linear(config.hidden_size, config.embedding_dim, bias=False)
            out_dim = config.embedding_dim
        self.decoder = nn.Linear(out_dim, config.vocab_size)
        if config.tie_weights:
            self.decoder.weight = self.embedding.weight
        nn.init.normal_(self.embedding.weight, std=0.05)
        nn.init.zeros_(self.decoder.bias)

    def features(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """The vectors the decoder reads, (batch, time, features), and the LSTM state."""
        output, state = self.lstm(self.dropout(self.embedding(tokens)), state)
        output = self.dropout(output)
        if self.projection is not None:
            output = self.projection(output)
        return output, state

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Logits (batch, time, vocab) for every position of ``tokens`` (batch, time)."""
        output, state = self.features(tokens, state)
        return self.decoder(output), state

    def step(self, token: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One decoding step: logits (batch, vocab) for one token per sequence (batch,).

        The same computation as :meth:`forward` on a sequence of one, through ``lstm_cell``:
        the fused LSTM kernels pay a large set-up cost per call that one time step never repays.
        """
        lstm = self.lstm
        x = self.dropout(self.embedding(token))
        if state is None:
            zeros = x.new_zeros(lstm.num_layers, len(token), lstm.hidden_size)
            state = (zeros, zeros)
        hidden, cell = [], []
        for layer in range(lstm.num_layers):
            h, c = torch.lstm_cell(
                x,
                (state[0][layer], state[1][layer]),
                getattr(lstm, f"weight_ih_l{layer}"),
                getattr(lstm, f"weight_hh_l{layer}"),
                getattr(lstm, f"bias_ih_l{layer}"),
                getattr(lstm, f"bias_hh_l{layer}"),
            )
            hidden.append(h)
            cell.append(c)
            # nn.LSTM's dropout between layers has the same rate as the one after the last.
            x = self.dropout(h)
        if self.projection is not None:
            x = self.projection(x)
        return self.decoder(x), (torch.stack(hidden), torch.stack(cell))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def masked_loss(
    model: nn.Module,
    batch: Tensor,
    ignore: Sequence[int],
    reduction: str = "mean",
    header: Tensor | None = None,
) -> Tensor:
    """The one negative log-likelihood: cross-entropy of predicting each next token of
    ``batch`` (batch, time), in fp32. Targets whose id is in ``ignore`` are not predicted
    (padding; in a front-padded layout also the start token), nor, where ``header`` (batch,)
    is given, the first ``header[i]`` targets of row i (a title and its separator, so that
    the poem is scored given its title). ``reduction``: "mean" over the predicted targets,
    or "sum"."""
    logits, _ = model(batch[:, :-1])
    targets = batch[:, 1:].masked_fill(_skipped(batch[:, 1:], ignore, header), -100)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        targets.reshape(-1),
        ignore_index=-100,
        reduction=reduction,
    )


@torch.no_grad()
def total_nll(
    model: nn.Module,
    batches: Iterable[Tensor],
    ignore: Sequence[int],
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    headers: Iterable[Tensor | None] | None = None,
) -> tuple[float, int]:
    """The summed negative log-likelihood of ``batches`` and how many targets it predicts, in
    eval mode (the model's mode is restored afterwards); ``headers``, one per batch, as
    :func:`masked_loss` takes them."""
    was_training = model.training
    model.eval()
    total, count = None, None
    try:
        for batch, header in zip(batches, headers or itertools.repeat(None), strict=False):
            with autocast():
                loss = masked_loss(model, batch, ignore, reduction="sum", header=header)
            predicted = (~_skipped(batch[:, 1:], ignore, header)).sum()
            total = loss if total is None else total + loss
            count = predicted if count is None else count + predicted
    finally:
        model.train(was_training)
    return (0.0, 0) if total is None else (total.item(), int(count.item()))


def _skipped(targets: Tensor, ignore: Sequence[int], header: Tensor | None) -> Tensor:
    skipped = torch.isin(targets, torch.tensor(list(ignore), device=targets.device))
    if header is not None:
        position = torch.arange(targets.shape[1], device=targets.device)
        skipped |= position < header.to(targets.device)[:, None]
    return skipped


def native_bf16(device: torch.device) -> bool:
    """True where bf16 matrix products run natively: recent GPUs, CPUs with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, check, lambda: False)() for check in checks)
