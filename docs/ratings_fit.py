"""What goes with the blind readers' ratings of the model's poems
(docs/experiments/blind-reading.md, "What goes with the readers' ratings").

    python docs/ratings_fit.py [--rounds 10-21]

Reads every rated model poem of the rounds in docs/blind, each poem's ratings averaged over its
readers, and prints the mean ratings by form and by mode, then a linear fit of each rating on
the form and mode (fixed effects) and on standardised measures of the poem: the shipped model's
mean log-likelihood of it (fp32) and of its last line, its share of distinct characters, its
coherence score and its share of the model's 20 stock characters. Each coefficient comes with
a 95 % bootstrap interval (300 resamples of the poems, seed 0).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from poetry_rnn.evaluation.ratings import RATINGS_GLOB, SCORES, read_key, read_ratings
from poetry_rnn.model.checkpoint import load_models
from poetry_rnn.poetics.coherence import coherence
from poetry_rnn.text import split_lines

BLIND = Path(__file__).resolve().parent / "blind"
#: The model's 20 commonest characters in round 20's 1,200 poems (docs/blind/README.md, round 20).
STOCK = set("不人风日一春何处无花相山里月知去有江云白")
MEASURES = ("likelihood", "last line", "distinct", "coherence score", "stock")


def rated_poems(rounds: range) -> list[dict]:
    """The model's poems of ``rounds``, each with its mean rating of every score."""
    poems = []
    for number in rounds:
        folder = BLIND / f"round-{number}"
        key = read_key(folder)["poems"]
        readers = [read_ratings(path, set(key))[1] for path in sorted(folder.glob(RATINGS_GLOB))]
        for poem, entry in key.items():
            ratings = [ratings[poem] for ratings in readers if poem in ratings]
            if entry["source"] == "model" and ratings:
                means = {s: float(np.mean([r[s] for r in ratings])) for s in SCORES}
                poems.append({**entry, **means})
    return poems


def measures(poems: list[dict]) -> np.ndarray:
    """One row of MEASURES a poem."""
    model, vocab, _ = load_models(None, precision="fp32")
    rows = []
    with torch.inference_mode():
        for poem in poems:
            text = poem["text"]
            ids = torch.tensor(vocab.encode(text, wrap=True))
            logits, _ = model(ids[None, :-1])
            scores = logits[0].log_softmax(-1).gather(1, ids[1:, None]).squeeze(1)
            last = len(split_lines(text)[-1]) + 1  # its characters and mark, before the end
            chars = [c for c in text if c not in "，。"]
            rows.append([
                float(scores.mean()),
                float(scores[-last - 1 : -1].mean()),
                len(set(chars)) / len(chars),
                coherence(text),
                sum(c in STOCK for c in chars) / len(chars),
            ])  # fmt: skip
    return np.array(rows)


def fit(poems: list[dict], measured: np.ndarray, score: str) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of the standardised measures in a fit with form and mode as fixed effects,
    and the half-widths of their 95 % bootstrap intervals."""
    forms = sorted({p["form"] for p in poems})
    modes = sorted({p["mode"] for p in poems})
    effects = [[1.0] + [p["form"] == f for f in forms[1:]] + [p["mode"] == m for m in modes[1:]]
               for p in poems]  # fmt: skip
    standard = (measured - measured.mean(0)) / measured.std(0)
    x = np.hstack([np.array(effects, dtype=float), standard])
    y = np.array([p[score] for p in poems])
    first = x.shape[1] - standard.shape[1]
    coefficients = np.linalg.lstsq(x, y, rcond=None)[0][first:]
    rng = np.random.default_rng(0)
    resampled = []
    for _ in range(300):
        rows = rng.integers(0, len(y), len(y))
        resampled.append(np.linalg.lstsq(x[rows], y[rows], rcond=None)[0][first:])
    return coefficients, 1.96 * np.array(resampled).std(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", default="10-21", help="first-last round (default 10-21)")
    first, last = (int(n) for n in parser.parse_args().rounds.split("-"))
    poems = rated_poems(range(first, last + 1))
    print(f"{len(poems)} model poems")
    for group in ("form", "mode"):
        for value in sorted({p[group] for p in poems}):
            some = [p for p in poems if p[group] == value]
            means = " ".join(f"{s} {np.mean([p[s] for p in some]):.2f}" for s in SCORES)
            print(f"{value}: {len(some)} poems, {means}")
    measured = measures(poems)
    for score in SCORES:
        coefficients, widths = fit(poems, measured, score)
        terms = zip(MEASURES, coefficients, widths, strict=True)
        print(score + ": " + ", ".join(f"{m} {c:+.2f} ± {w:.2f}" for m, c, w in terms))


if __name__ == "__main__":
    main()
