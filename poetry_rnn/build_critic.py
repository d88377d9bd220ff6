"""Build the critic of a model (:mod:`poetry_rnn.critic`): its poems against the poets'.

    python -m poetry_rnn.build_critic --corpus PATH [--model DIR] [--poems 400] [--seed 0]
                                      [--steps 60] [--l2 1e-4] [--out FILE]

The model writes ``--poems`` poems of each regulated form with the default controls and the
critic off, the modes in turn, each prompt taken from a poem of the corpus's train split of the
same form (its first two characters, its line heads, its title), as the blind reading kit takes
its prompts from the test split. Against them stand three times as many other regulated poems
of the train split, form for form. Each poem counts its characters, its adjacent pairs within
a line (hashed into :data:`poetry_rnn.critic.BUCKETS`) and its characters that stand in an
earlier line; a logistic regression, poets 1 and model 0, is fitted by full-batch Adam
(``--steps`` steps, learning rate 0.05, ``--l2`` times the squared weights added to the loss).
A fifth of each side is held out first to report how well the critic tells them apart (the
area under the ROC curve); then it is fitted on all of them and written, float16, to ``--out``
(default: the package's ``critic.npz``). The critic belongs to the model whose poems it read:
build it again for another model.
"""

from __future__ import annotations

import io
import itertools
import logging
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from poetry_rnn.controls import Controls
from poetry_rnn.critic import BUCKETS, CRITIC_TABLE, Critic, bucket
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.files import write_bytes_atomic
from poetry_rnn.generate import PoetryGenerator
from poetry_rnn.prosody import FORMS
from poetry_rnn.reading import draw_real_poems, model_jobs
from poetry_rnn.text import is_han, split_lines

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).parent
POETS_PER_POEM = 3  # the poets' poems against each of the model's
HELD_OUT = 0.2
LEARNING_RATE = 0.05


def features(text: str) -> tuple[list[str], list[tuple[str, str]], int]:
    """A poem's characters, its adjacent pairs within lines, and how many of its characters
    stand in an earlier line."""
    lines = [[char for char in line if is_han(char)] for line in split_lines(text)]
    chars = [char for line in lines for char in line]
    pairs = [(a, b) for line in lines for a, b in itertools.pairwise(line)]
    repeats = sum(char in {c for earlier in lines[:i] for c in earlier}
                  for i, line in enumerate(lines) for char in line)  # fmt: skip
    return chars, pairs, repeats


def _columns(texts: Sequence[str], chars: str) -> tuple[torch.Tensor, ...]:
    """The texts' features as ``embedding_bag`` inputs over the weights of a critic of
    ``chars``, laid end to end: the characters, the pair buckets, the repeat weight.
    Characters not in ``chars`` are left out."""
    index = {char: i for i, char in enumerate(chars)}
    repeat_column = len(chars) + BUCKETS
    ids: list[int] = []
    offsets, counts = [], []
    for text in texts:
        poem_chars, pairs, repeats = features(text)
        offsets.append(len(ids))
        ids += [index[char] for char in poem_chars if char in index]
        firsts = torch.tensor([ord(a) for a, _ in pairs], dtype=torch.long)
        seconds = torch.tensor([ord(b) for _, b in pairs], dtype=torch.long)
        ids += (len(chars) + bucket(firsts, seconds)).tolist()
        counts += [1.0] * (len(ids) - offsets[-1])
        ids.append(repeat_column)
        counts.append(float(repeats))
    return torch.tensor(ids), torch.tensor(offsets), torch.tensor(counts)


def _weights(critic: Critic) -> torch.Tensor:
    return torch.cat([critic.unigram, critic.bigram, torch.tensor([critic.repeat])])


def log_odds(critic: Critic, texts: Sequence[str]) -> torch.Tensor:
    """(texts,): the critic's log-odds of each text, less its bias."""
    ids, offsets, counts = _columns(texts, critic.chars)
    weights = _weights(critic)[:, None]
    return torch.nn.functional.embedding_bag(
        ids, weights, offsets, mode="sum", per_sample_weights=counts
    ).squeeze(1)


def fit(poets: Sequence[str], model: Sequence[str], steps: int, l2: float) -> Critic:
    """The critic of ``poets``' poems (1) against ``model``'s (0)."""
    chars = "".join(sorted({char for text in [*poets, *model] for char in features(text)[0]}))
    ids, offsets, counts = _columns([*poets, *model], chars)
    labels = torch.tensor([1.0] * len(poets) + [0.0] * len(model))
    weights = torch.zeros(len(chars) + BUCKETS + 1, 1, requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([weights, bias], lr=LEARNING_RATE)
    for _ in range(steps):
        optimizer.zero_grad()
        logits = torch.nn.functional.embedding_bag(
            ids, weights, offsets, mode="sum", per_sample_weights=counts
        ).squeeze(1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits + bias, labels)
        (loss + l2 * weights.pow(2).sum()).backward()
        optimizer.step()
    found = weights.detach().squeeze(1)
    return Critic(
        chars, found[: len(chars)].clone(), found[len(chars) : -1].clone(), float(found[-1])
    )


def area_under_curve(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    above = (positive[:, None] > negative[None, :]).double().mean()
    tied = (positive[:, None] == negative[None, :]).double().mean()
    return float(above + tied / 2)


def critic_npz(critic: Critic) -> bytes:
    """``critic`` as the shipped table's compressed .npz bytes (float16 weights)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, chars=np.array(critic.chars), unigram=critic.unigram.numpy().astype(np.float16),
        bigram=critic.bigram.numpy().astype(np.float16), repeat=np.array(critic.repeat),
    )  # fmt: skip
    return buffer.getvalue()


def model_poems(
    generator: PoetryGenerator, spare: dict[str, list[dict]], per_form: int, seed: int,
    progress: bool = False,
) -> list[str]:  # fmt: skip
    """``per_form`` poems of each form by ``generator``, the critic off, prompts from
    ``spare``'s poems (:func:`poetry_rnn.reading.model_jobs`)."""
    forms = [name for name in FORMS for _ in range(per_form)]
    jobs = model_jobs(generator, forms, seed, spare)
    texts = []
    for job in tqdm(jobs, desc="writing", disable=not progress):
        controls = Controls(form=job["form"], seed=job["seed"], critic=0.0)
        texts.append(generator.write(job["mode"], job["prompt"], controls)[0].text)
    return texts


def build_critic(
    corpus: str | Path, generator: PoetryGenerator, per_form: int, seed: int, steps: int,
    l2: float, progress: bool = False,
) -> tuple[Critic, dict]:  # fmt: skip
    """The critic of ``generator``'s model, and what was measured building it."""
    if per_form < 5:
        raise PoetryError(f"the critic needs at least 5 poems of each form, got {per_form}")
    rng = random.Random(seed)
    _, spare = draw_real_poems(corpus, 0, rng, progress=progress, split="train")
    needed = (1 + POETS_PER_POEM) * per_form
    short = {name: len(poems) for name, poems in spare.items() if len(poems) < needed}
    if short:
        raise PoetryError(f"the train split has too few poems for --poems {per_form}: {short}")
    # The poets' poems from the front of each form's shuffled list; model_jobs takes its
    # prompts from the back.
    poets = [poem["text"] for poems in spare.values() for poem in poems[: needed - per_form]]
    model = model_poems(generator, spare, per_form, seed, progress)
    rng.shuffle(poets)
    rng.shuffle(model)
    cut_poets, cut_model = int(len(poets) * (1 - HELD_OUT)), int(len(model) * (1 - HELD_OUT))
    held = fit(poets[:cut_poets], model[:cut_model], steps, l2)
    auc = area_under_curve(log_odds(held, poets[cut_poets:]), log_odds(held, model[cut_model:]))
    critic = fit(poets, model, steps, l2)
    stats = {"poets' poems": len(poets), "model's poems": len(model), "held-out AUC": auc,
             "characters": len(critic.chars), "repeat weight": critic.repeat}  # fmt: skip
    return critic, stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.build_critic",
        description="Build the critic of a model: its poems against the poets'.",
    )
    parser.add_argument("--corpus", required=True, help="a chinese-poetry checkout")
    parser.add_argument("--model", help="a model directory (default: the shipped model)")
    parser.add_argument("--poems", type=int, default=400, help="the model's poems per form")
    parser.add_argument("--seed", type=int, default=0, help="draws the poems and prompts")
    parser.add_argument("--steps", type=int, default=60, help="Adam steps (60)")
    parser.add_argument("--l2", type=float, default=1e-4, help="weight decay (1e-4)")
    parser.add_argument("--out", default=PACKAGE_DIR / CRITIC_TABLE, help="the table to write")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    started = time.perf_counter()
    generator = PoetryGenerator.from_pretrained(args.model)
    critic, stats = build_critic(
        args.corpus, generator, args.poems, args.seed, args.steps, args.l2, progress=True
    )
    write_bytes_atomic(Path(args.out), critic_npz(critic))
    log.info("wrote %s", args.out)
    stats["seconds"] = round(time.perf_counter() - started, 1)
    for name, value in stats.items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
