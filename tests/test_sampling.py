"""Drawing a token: every draw lies within what the step allows, top-k and the nucleus, and in
proportion to the model's probabilities there."""

import pytest
import torch

from poetry_rnn.writing.sampling import Sampling, draw

ROWS = 20_000  # draws of one distribution, all in one batch
#: 12 tokens of distinct probabilities, the likeliest first: 0.394, 0.239, 0.145, 0.088, ...
PROBABILITIES = torch.linspace(0, -5.5, 12).softmax(-1)


def frequencies(sampling: Sampling, allowed: torch.Tensor | None = None) -> torch.Tensor:
    logits = PROBABILITIES.log().expand(ROWS, -1)
    allowed = torch.ones_like(logits, dtype=torch.bool) if allowed is None else allowed
    tokens = draw(logits, allowed.expand(ROWS, -1), sampling, torch.Generator().manual_seed(0))
    return torch.bincount(tokens, minlength=len(PROBABILITIES)).double() / ROWS


def renormalised(kept: int, probabilities: torch.Tensor = PROBABILITIES) -> torch.Tensor:
    """The distribution of the ``kept`` likeliest tokens alone."""
    head = torch.zeros_like(probabilities, dtype=torch.double)
    head[:kept] = probabilities[:kept].double()
    return head / head.sum()


@pytest.mark.parametrize(
    ("top_p", "kept"),
    [
        (1.0, 12),  # no nucleus: every token
        (0.9, 5),  # the 4 likeliest hold 0.867, the 5th brings 0.920
        (0.5, 2),  # the likeliest holds 0.394, the second brings 0.634
        (0.3, 1),  # the likeliest alone holds 0.394
    ],
)
def test_the_nucleus_is_the_fewest_likeliest_tokens_that_hold_top_p_drawn_in_proportion(
    top_p, kept
):
    found = frequencies(Sampling(temperature=1.0, top_p=top_p))
    assert (found[kept:] == 0).all()
    assert (found[:kept] > 0).all()
    assert torch.allclose(found, renormalised(kept), atol=0.012)


def test_a_row_the_draws_keep_missing_is_drawn_from_its_nucleus_all_the_same():
    # 1,000 tokens of nearly equal probability (0.001005 down to 0.000995): a nucleus of 0.0105
    # is the 11 likeliest, and a draw from the whole row lands in it about one time in ninety.
    probabilities = torch.linspace(0, -0.01, 1000).softmax(-1)
    logits = probabilities.log().expand(ROWS, -1)
    allowed = torch.ones_like(logits, dtype=torch.bool)
    generator = torch.Generator().manual_seed(1)
    tokens = draw(logits, allowed, Sampling(temperature=1.0, top_p=0.0105), generator)
    found = torch.bincount(tokens, minlength=1000).double() / ROWS
    assert (found[11:] == 0).all()
    assert torch.allclose(found[:11], renormalised(11, probabilities)[:11], atol=0.012)


def test_top_k_keeps_the_k_likeliest_and_then_their_nucleus():
    found = frequencies(Sampling(temperature=1.0, top_k=3, top_p=1.0))
    assert torch.allclose(found, renormalised(3), atol=0.012)
    # The 3 likeliest renormalised are 0.507, 0.307, 0.186: a nucleus of 0.75 is the first two.
    found = frequencies(Sampling(temperature=1.0, top_k=3, top_p=0.75))
    assert torch.allclose(found, renormalised(2), atol=0.012)


def test_a_draw_never_takes_a_token_the_step_does_not_allow():
    allowed = torch.ones(len(PROBABILITIES), dtype=torch.bool)
    allowed[[0, 2]] = False  # the likeliest and the third: the others share what they held
    rest = PROBABILITIES.masked_fill(~allowed, 0.0)
    found = frequencies(Sampling(temperature=1.0, top_p=1.0), allowed)
    assert torch.allclose(found, rest.double() / rest.sum(), atol=0.012)
    assert (frequencies(Sampling(), allowed)[[0, 2]] == 0).all()


def test_temperature_sharpens_below_one_and_flattens_above():
    cold = frequencies(Sampling(temperature=0.5, top_p=1.0))
    plain = frequencies(Sampling(temperature=1.0, top_p=1.0))
    hot = frequencies(Sampling(temperature=2.0, top_p=1.0))
    squared = PROBABILITIES.double() ** 2
    assert torch.allclose(cold, squared / squared.sum(), atol=0.012)
    assert torch.allclose(plain, PROBABILITIES.double(), atol=0.012)
    root = PROBABILITIES.double().sqrt()
    assert torch.allclose(hot, root / root.sum(), atol=0.012)


def test_a_nucleus_wider_than_the_first_head_is_drawn_whole():
    # 5,000 nearly equal tokens: a nucleus of 0.1 is the 500 likeliest, more than the 256 the
    # head first takes, and a draw from the whole row lands in it one time in ten.
    probabilities = torch.linspace(0, -0.01, 5000).softmax(-1)
    kept = int((probabilities.cumsum(-1) - probabilities <= 0.1).sum())
    assert 400 < kept < 600
    rows = 2000
    logits = probabilities.log().expand(rows, -1)
    allowed = torch.ones_like(logits, dtype=torch.bool)
    tokens = draw(logits, allowed, Sampling(1.0, top_p=0.1), torch.Generator().manual_seed(2))
    assert int(tokens.max()) < kept
    assert int((tokens >= 256).sum()) > rows * 0.4  # the far half of the nucleus is drawn too


@pytest.mark.parametrize(
    "sampling",
    [Sampling(), Sampling(top_p=1.0), Sampling(top_k=5), Sampling(temperature=1.0, top_p=0.0105)],
)
def test_the_same_generator_seed_draws_the_same_tokens_whatever_the_global_seed(sampling):
    probabilities = torch.linspace(0, -0.01, 1000).softmax(-1)  # the last: by the head
    logits = probabilities.log().expand(64, -1)
    allowed = torch.ones_like(logits, dtype=torch.bool)

    def drawn(seed: int, global_seed: int) -> list[int]:
        torch.manual_seed(global_seed)
        return draw(logits, allowed, sampling, torch.Generator().manual_seed(seed)).tolist()

    assert drawn(7, global_seed=1) == drawn(7, global_seed=2)
    assert drawn(7, global_seed=1) != drawn(8, global_seed=1)


def test_a_draw_carried_past_the_last_weight_by_rounding_takes_the_likeliest(monkeypatch):
    # A uniform draw that rounds up to the row's whole weight lands beyond its last token,
    # here one the step does not allow: the row's likeliest is taken instead.
    monkeypatch.setattr(torch, "rand", lambda rows, columns, generator: torch.ones(rows, 1))
    logits = torch.tensor([[0.0, 1.0, 0.5, 0.0], [2.0, 1.0, 0.0, 0.0]])
    allowed = torch.tensor([[True, True, True, False], [True, True, False, False]])
    generator = torch.Generator().manual_seed(0)
    assert draw(logits, allowed, Sampling(top_p=1.0), generator).tolist() == [1, 0]


def test_top_k_holds_for_a_batch_of_fewer_rows_than_k():
    logits = PROBABILITIES.log().expand(2, -1)  # 2 rows, top-k of 3
    allowed = torch.ones_like(logits, dtype=torch.bool)
    generator = torch.Generator().manual_seed(3)
    sampling = Sampling(temperature=1.0, top_k=3, top_p=1.0)
    tokens = torch.cat([draw(logits, allowed, sampling, generator) for _ in range(3000)])
    assert sorted(set(tokens.tolist())) == [0, 1, 2]


@pytest.mark.parametrize("temperature", [1e-4, 1e-20, 1e-40, 5e-324])
def test_a_vanishing_temperature_draws_the_likeliest_allowed_token(temperature):
    # Logits of a model's size, with the likeliest tokens closed: scaled by 1/1e-40 they would
    # leave float32's range, and the closed tokens took every draw.
    logits = torch.randn(64, 500, generator=torch.Generator().manual_seed(1)) * 8
    allowed = torch.rand(64, 500, generator=torch.Generator().manual_seed(2)) < 0.3
    allowed[torch.arange(64), logits.argmax(-1)] = False
    sampling = Sampling(temperature=temperature, top_p=1.0)
    tokens = draw(logits, allowed, sampling, torch.Generator().manual_seed(0))
    assert allowed.gather(1, tokens[:, None]).all()
    assert tokens.tolist() == logits.masked_fill(~allowed, float("-inf")).argmax(-1).tolist()
