"""A CharRNN for CPU inference with int8 weights.

Writing a poem takes one model step per character, and each step reads every weight once
for a handful of rows: on a CPU it is bound by memory, not arithmetic. Weights of one byte
(each row scaled to ±127 on its own) halve what a bf16 step reads. The products run through
PyTorch's fbgemm kernels, which quantize the activations of each call on the fly ("dynamic"
quantization); the LSTM's gates and state stay in fp32. docs/training.md, "Precision: int8
on a CPU", has what it costs in perplexity and buys in time.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from poetry_rnn.model.charrnn import CharRNN, State


def int8_supported() -> bool:
    """True where this PyTorch build has the int8 kernels (fbgemm, on x86 CPUs)."""
    return "fbgemm" in torch.backends.quantized.supported_engines


def _packed(weight: Tensor, bias: Tensor | None = None) -> torch.ScriptObject:
    """``weight`` (out, in) as fbgemm's packed int8 matrix: one scale per output row."""
    weight = weight.detach().float()
    scales = (weight.abs().amax(1) / 127).clamp_min(1e-12).double()
    zeros = torch.zeros(len(weight), dtype=torch.long)
    with warnings.catch_warnings():
        # PyTorch marks its quantized tensor types for removal; the packed kernels are the
        # fast path here, and load_models falls back to bf16 where they are missing.
        warnings.simplefilter("ignore", UserWarning)
        quantized = torch.quantize_per_channel(weight, scales, zeros, 0, torch.qint8)
    return torch.ops.quantized.linear_prepack(quantized, None if bias is None else bias.float())


def _linear(x: Tensor, packed: torch.ScriptObject) -> Tensor:
    # reduce_range: 7-bit activations, so that fbgemm's 16-bit accumulation cannot saturate.
    # (The overload itself: the packet's dispatch in Python costs as much as a small kernel.)
    return torch.ops.quantized.linear_dynamic.default(x, packed, True)


class Int8CharRNN(nn.Module):
    """The inference half of a :class:`CharRNN` (``forward``, ``step``) with int8 matrices.

    The embedding stays in fp32 for the lookup; the output layer gets its own int8 copy of it
    when the weights are tied. Built from a trained model; it cannot be trained itself.
    """

    #: A row's step depends on the other rows only through the range of the inputs, which
    #: leaving out duplicate rows keeps; the integer products are exact.
    duplicates_step_once = True

    def __init__(self, model: CharRNN) -> None:
        super().__init__()
        self.config = model.config
        self.embedding = nn.Embedding.from_pretrained(model.embedding.weight.detach().float())
        lstm = model.lstm
        self.hidden_size = size = lstm.hidden_size
        # PyTorch's gate order is i, f, g, o; as i, f, o, g the three sigmoid gates are one
        # slice, which one call computes.
        order = torch.cat([torch.arange(2 * size), torch.arange(3 * size, 4 * size),
                           torch.arange(2 * size, 3 * size)])  # fmt: skip
        self.layers = []
        for layer in range(lstm.num_layers):
            bias = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
            self.layers.append((
                _packed(getattr(lstm, f"weight_ih_l{layer}")[order], bias[order]),
                _packed(getattr(lstm, f"weight_hh_l{layer}")[order]),
            ))  # fmt: skip
        self.projection = None if model.projection is None else _packed(model.projection.weight)
        self.decoder = _packed(model.decoder.weight, model.decoder.bias)
        self.eval()

    def train(self, mode: bool = True) -> Int8CharRNN:
        if mode:
            raise RuntimeError("an Int8CharRNN is for inference; train the CharRNN it came from")
        return super().train(False)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Logits (batch, time, vocab) in fp32 for every position of ``tokens`` (batch, time)."""
        batch, time = tokens.shape
        x = nn.functional.embedding(tokens, self.embedding.weight)
        h, c = self._state(state, batch, x)
        hidden, cell = [], []
        for layer, (input_weights, hidden_weights) in enumerate(self.layers):
            inputs = _linear(x.reshape(batch * time, -1), input_weights).view(batch, time, -1)
            outputs = []
            h_layer, c_layer = h[layer], c[layer]
            for t in range(time):
                h_layer, c_layer = self._cell(inputs[:, t], h_layer, c_layer, hidden_weights)
                outputs.append(h_layer)
            hidden.append(h_layer)
            cell.append(c_layer)
            x = torch.stack(outputs, 1)
        logits = self._logits(x.reshape(batch * time, -1)).view(batch, time, -1)
        return logits, (torch.stack(hidden), torch.stack(cell))

    def step(self, token: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One decoding step: logits (batch, vocab) for one token per sequence (batch,); the
        same as ``forward`` over one position, in fewer operations."""
        x = nn.functional.embedding(token, self.embedding.weight)
        h, c = self._state(state, len(token), x)
        hidden, cell = [], []
        for layer, (input_weights, hidden_weights) in enumerate(self.layers):
            x, c_layer = self._cell(_linear(x, input_weights), h[layer], c[layer], hidden_weights)
            hidden.append(x)
            cell.append(c_layer)
        return self._logits(x), (torch.stack(hidden), torch.stack(cell))

    def _state(self, state: State | None, batch: int, x: Tensor) -> State:
        if state is not None:
            return state
        zeros = x.new_zeros(len(self.layers), batch, self.hidden_size)
        return zeros, zeros

    def _cell(
        self, inputs: Tensor, h: Tensor, c: Tensor, hidden_weights: torch.ScriptObject
    ) -> tuple[Tensor, Tensor]:
        """One LSTM step of a layer from its input projection: the new h and c."""
        gates = inputs + _linear(h, hidden_weights)
        size = self.hidden_size
        i, f, o = torch.sigmoid(gates[:, : 3 * size]).chunk(3, 1)
        c = f * c + i * torch.tanh(gates[:, 3 * size :])
        return o * torch.tanh(c), c

    def _logits(self, x: Tensor) -> Tensor:
        if self.projection is not None:
            x = _linear(x, self.projection)
        return _linear(x, self.decoder)
