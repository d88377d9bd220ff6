"""Starting a model from a trained one (``--init``): its weights carried over to a new
vocabulary."""

from __future__ import annotations

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.model.charrnn import CharRNN


@torch.no_grad()
def transplant(source: CharRNN, source_vocab: Vocab, target: CharRNN, vocab: Vocab) -> None:
    """Copy ``source``'s weights into ``target``, a model of the same shape over ``vocab``.

    Rows indexed by token (the embedding, and an untied output layer) move with their token;
    a token new to ``target`` keeps its fresh embedding and takes the output bias of
    ``<unk>``, the id that stood for it in ``source``; but a new ``<sep>``, which ends a title
    where the poem begins, starts as ``<s>``, the token that began every poem so far.
    """
    old = torch.tensor([source_vocab.index.get(token, -1) for token in vocab.tokens])
    known = old >= 0
    by_token = {"embedding.weight", "decoder.weight", "decoder.bias"}
    targets = target.state_dict(keep_vars=True)
    for name, weight in source.state_dict().items():
        if name not in by_token:
            targets[name].copy_(weight)
    target.embedding.weight[known] = source.embedding.weight[old[known]]
    if not target.config.tie_weights:
        target.decoder.weight[known] = source.decoder.weight[old[known]]
    target.decoder.bias[known] = source.decoder.bias[old[known]]
    target.decoder.bias[~known] = source.decoder.bias[source_vocab.unk_id]
    if vocab.sep_id is not None and source_vocab.sep_id is None:
        target.embedding.weight[vocab.sep_id] = source.embedding.weight[source_vocab.start_id]
        if not target.config.tie_weights:
            target.decoder.weight[vocab.sep_id] = source.decoder.weight[source_vocab.start_id]
