"""The scores of a blind reading kit (docs/metrics.md#blind-reading): what readers rate, their
``ratings-*.json`` read and checked against the kit's key, and the scores per source with their
95 % intervals, each variant paired prompt by prompt with another.

``python -m poetry_rnn.evaluate blind-score DIR`` prints them; :mod:`poetry_rnn.evaluation.reading`
writes the kits.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from poetry_rnn.errors import PoetryError

KEY_FILE = "key.json"
RATINGS_GLOB = "ratings-*.json"
#: Each score, what it asks, and the anchors of 1, 3 and 5.
SCALE = (
    ("fluency", "is it natural classical Chinese?", "cannot be parsed", "readable, with slips",
     "reads as a poet wrote it"),
    ("coherence", "one scene, feeling or argument?", "unrelated lines", "partly connected",
     "one whole"),
    ("poeticness", "imagery, diction, craft", "none", "some", "striking"),
)  # fmt: skip
SCORES = tuple(row[0] for row in SCALE)
#: The score a kit that shows titles asks as well.
TITLE_SCALE = ("title_fit", "扣题: is the poem built around its title?", "unrelated to it",
               "touches it", "written to it")  # fmt: skip
TITLE_SCORE = TITLE_SCALE[0]
COUPLET_KIND = "couplet"
#: A couplet kit's scores of each 下联, as :data:`SCALE` writes them.
COUPLET_SCALE = (
    ("apt", "is the 下联 apt as a reply to the 上联 (对仗, sense, tones)?", "no reply to it",
     "answers it in part", "a fitting reply"),
    ("fluency", "is the 下联 natural classical Chinese?", "cannot be parsed",
     "readable, with slips", "reads as a poet wrote it"),
)  # fmt: skip
COUPLET_SCORES = tuple(row[0] for row in COUPLET_SCALE)
MAX_FILE_BYTES = 1 << 20  # a key or a ratings file of 400 poems is far smaller
Z_95 = 1.96


def kit_scores(key: dict) -> tuple[str, ...]:
    """The scores a kit asks: :data:`SCORES`, and 扣题 where it shows titles; a couplet kit's
    :data:`COUPLET_SCORES`."""
    if key.get("kind") == COUPLET_KIND:
        return COUPLET_SCORES
    return (*SCORES, TITLE_SCORE) if key.get("titles") else SCORES


# --- scoring --------------------------------------------------------------------------------


def read_key(kit: str | Path) -> dict:
    """The kit's key: its poems by number, and the variants it compares."""
    path = Path(kit) / KEY_FILE
    key = _read_json(path, str(path))
    if not isinstance(key, dict) or not isinstance(key.get("poems"), dict):
        raise PoetryError(f"{path} is not a blind reading kit's key: it has no poems")
    if not isinstance(key.get("variants", {}), dict):
        raise PoetryError(f"{path}: variants must map names to controls")
    for number, entry in key["poems"].items():
        if not isinstance(entry, dict) or entry.get("source") not in ("poet", "model"):
            raise PoetryError(f"{path}: poem {number} must be an object whose source is poet or "
                              "model")  # fmt: skip
        if entry["source"] == "model" and not isinstance(entry.get("variant"), str):
            raise PoetryError(f"{path}: poem {number} is the model's, but names no variant")
    return key


def read_ratings(
    path: str | Path, numbers: set[str], scores: tuple[str, ...] = SCORES
) -> tuple[str, dict[str, dict]]:
    """(reader, ratings by poem number) of one ratings file, checked against the kit's poem
    ``numbers`` and the ``scores`` it asks; every problem is one line naming the file."""
    path = Path(path)
    ratings = _read_json(path, path.name)
    if not isinstance(ratings, dict) or set(ratings) != {"reader", "ratings"}:
        raise PoetryError(f"{path.name}: expected an object with reader and ratings, nothing else")
    reader, by_poem = ratings["reader"], ratings["ratings"]
    if not isinstance(reader, str) or not reader.strip():
        raise PoetryError(f"{path.name}: reader must be a name")
    if not isinstance(by_poem, dict):
        raise PoetryError(f"{path.name}: ratings must map poem numbers to ratings")
    for number, rating in by_poem.items():
        where = f"{path.name}: poem {number}"
        if number not in numbers:
            raise PoetryError(f"{path.name}: no poem {number} in the kit (1 to {len(numbers)})")
        if not isinstance(rating, dict):
            raise PoetryError(f"{where}: a rating must be an object")
        unknown = sorted(set(rating) - {*scores, "human", "note"})
        missing = [name for name in (*scores, "human") if name not in rating]
        if unknown or missing:
            problem = f"unknown field {unknown[0]}" if unknown else f"missing {missing[0]}"
            raise PoetryError(f"{where}: {problem}")
        for name in scores:
            value = rating[name]
            if type(value) is not int or not 1 <= value <= 5:
                raise PoetryError(f"{where}: {name} must be a whole number 1 to 5, got {value!r}")
        if not isinstance(rating["human"], bool):
            raise PoetryError(f"{where}: human must be true or false, got {rating['human']!r}")
        if not isinstance(rating.get("note", ""), str):
            raise PoetryError(f"{where}: note must be text")
    return reader, by_poem


def _read_json(path: Path, name: str) -> object:
    """A small JSON file; a poem rated twice (a repeated key) is an error, not the last one."""
    if not path.is_file():
        raise PoetryError(f"{name}: not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise PoetryError(f"{name}: larger than {MAX_FILE_BYTES >> 20} MiB")
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise PoetryError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise PoetryError(f"{name}: not JSON ({error.msg}, line {error.lineno})") from None
    except _RepeatedKey as repeated:
        raise PoetryError(f'{name}: "{repeated}" appears twice') from None


class _RepeatedKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKey(key)
        result[key] = value
    return result


def source_of(entry: dict) -> str:
    """How the scores name a poem's source: the poets, or the model and its variant."""
    return "poets" if entry["source"] == "poet" else f"model ({entry['variant']})"


def interval(values: list[float]) -> dict:
    """Mean and 95 % half-width (1.96 · sd / √n, sd over ``values``; None below 2) of
    ``values``, with n."""
    n = len(values)
    half = Z_95 * statistics.stdev(values) / math.sqrt(n) if n > 1 else None
    return {"mean": statistics.fmean(values) if values else None, "half_width": half, "n": n}


def score_kit(kit: str | Path, against: str | None = None) -> dict:
    """The scores of every ``ratings-*.json`` in the kit, per source (docs/metrics.md#blind-
    reading): each poem's ratings averaged over its readers, then the mean over the poems with
    its 95 % interval; the share judged human likewise; and each reader's own means. Where the
    kit compares variants, each of them paired prompt by prompt with ``against`` (default: the
    key's first variant; :func:`paired`)."""
    kit = Path(kit)
    key = read_key(kit)
    poems, scores = key["poems"], kit_scores(key)
    files = sorted(kit.glob(RATINGS_GLOB))
    if not files:
        raise PoetryError(f"no {RATINGS_GLOB} in {kit}")
    readers: dict[str, dict[str, dict]] = {}
    for path in files:
        reader, ratings = read_ratings(path, set(poems), scores)
        if reader in readers:
            raise PoetryError(f"{path.name}: reader {reader} has another ratings file")
        readers[reader] = ratings
    sources = sorted({source_of(entry) for entry in poems.values()}, key=_poets_first)
    result: dict = {
        "kit": str(kit), "poems": len(poems), "readers": list(readers), "scores": list(scores),
        "sources": {},
    }  # fmt: skip
    for source in sources:
        numbers = [number for number, entry in poems.items() if source_of(entry) == source]
        rated = {
            number: [ratings[number] for ratings in readers.values() if number in ratings]
            for number in numbers
        }
        rated = {number: given for number, given in rated.items() if given}
        given = sum(len(ratings) for ratings in rated.values())
        result["sources"][source] = {
            "poems": len(numbers),
            "rated_poems": len(rated),
            "ratings": given,
            "skipped": len(numbers) * len(readers) - given,
            "readers": sum(any(n in ratings for n in numbers) for ratings in readers.values()),
            **{name: interval([_mean(r, name) for r in rated.values()]) for name in scores},
            "human": interval([_mean(r, "human") for r in rated.values()]),
            "by_reader": {
                reader: _reader_means([ratings[n] for n in numbers if n in ratings], scores)
                for reader, ratings in readers.items()
            },
        }
    variants = list(dict.fromkeys([*key.get("variants", {}), *sorted(_variants_of(poems))]))
    if against is not None and against not in variants:
        listed = ", ".join(variants) or "none"
        raise PoetryError(f"no variant {against} in the kit; it has {listed}")
    if len(variants) > 1:
        result["paired"] = paired(poems, readers, against or variants[0], scores)
    return result


def _variants_of(poems: dict[str, dict]) -> set[str]:
    return {entry["variant"] for entry in poems.values() if entry["source"] != "poet"}


def paired(
    poems: dict[str, dict],
    readers: dict[str, dict],
    against: str,
    scores: tuple[str, ...] = SCORES,
) -> dict:
    """Each variant against ``against``, prompt by prompt: the poems written for the same form,
    mode, prompt and seed, each averaged over its readers; per score the mean difference with
    its 95 % interval over the prompts, and how many prompts came out better and worse."""
    by_prompt: dict[tuple, dict[str, str]] = {}
    for number, entry in poems.items():
        if entry["source"] != "poet":
            prompt = tuple(entry.get(name) for name in ("form", "mode", "prompt", "seed"))
            by_prompt.setdefault(prompt, {})[entry["variant"]] = number
    rated = {  # each poem's ratings, one a reader who rated it
        number: [ratings[number] for ratings in readers.values() if number in ratings]
        for number in poems
    }
    result: dict = {"against": against, "variants": {}}
    for variant in sorted(_variants_of(poems) - {against}):
        pairs = [
            (numbers[variant], numbers[against])
            for numbers in by_prompt.values()
            if variant in numbers and against in numbers
            and rated[numbers[variant]] and rated[numbers[against]]
        ]  # fmt: skip
        result["variants"][variant] = {}
        for name in (*scores, "human"):
            changes = [_mean(rated[a], name) - _mean(rated[b], name) for a, b in pairs]
            result["variants"][variant][name] = interval(changes) | {
                "better": sum(change > 0 for change in changes),
                "worse": sum(change < 0 for change in changes),
            }
    return result


def _poets_first(source: str) -> tuple[bool, str]:
    return source != "poets", source


def _mean(ratings: list[dict], name: str) -> float:
    return statistics.fmean(float(rating[name]) for rating in ratings)


def _reader_means(ratings: list[dict], scores: tuple[str, ...]) -> dict:
    means = {name: _mean(ratings, name) if ratings else None for name in (*scores, "human")}
    return {"poems": len(ratings), **means}


def format_scores(result: dict) -> str:
    """The scores as Markdown: one row per source, then each reader's own means."""
    names = (*result["scores"], "human")
    heads = " | ".join({"human": "judged human"}.get(name, name) for name in names)
    rule = " | ".join("---" for _ in names)
    rows = [
        f"blind reading {result['kit']}: {result['poems']} poems, {len(result['readers'])} "
        f"readers ({', '.join(result['readers'])})",
        "",
        f"| source | poems rated / in kit | ratings | skipped | readers | {heads} |",
        f"| --- | --- | --- | --- | --- | {rule} |",
    ]
    for source, scores in result["sources"].items():
        cells = " | ".join(_interval(scores[name]) for name in names)
        rows.append(
            f"| {source} | {scores['rated_poems']} / {scores['poems']} | {scores['ratings']} "
            f"| {scores['skipped']} | {scores['readers']} | {cells} |"
        )
    rows += [
        "",
        "± is the 95 % interval over the poems: mean ± 1.96·sd/√n, n = the source's rated poems, "
        "each poem's ratings first averaged over its readers; judged human: the share of a "
        "poem's readers who guessed a poet, averaged likewise.",
        "",
        "Each reader's own means (a reader's bias shows here):",
        "",
        f"| reader | source | poems rated | {heads} |",
        f"| --- | --- | --- | {rule} |",
    ]
    for reader in result["readers"]:
        for source, scores in result["sources"].items():
            own = scores["by_reader"][reader]
            cells = " | ".join(_number(own[name]) for name in names)
            rows.append(f"| {reader} | {source} | {own['poems']} | {cells} |")
    if "paired" in result:
        against = result["paired"]["against"]
        rows += [
            "",
            f"Each variant against {against}, paired by prompt (the poems of one form, mode, "
            "prompt and seed): the mean difference ± its 95 % interval over the prompts (prompts "
            "better / worse):",
            "",
            f"| variant − {against} | prompts | {heads} |",
            f"| --- | --- | {rule} |",
        ]
        for variant, changes in result["paired"]["variants"].items():
            cells = " | ".join(_change(changes[name]) for name in names)
            rows.append(f"| {variant} | {changes['fluency']['n']} | {cells} |")
    return "\n".join(rows)


def _change(stats: dict) -> str:
    if stats["mean"] is None:
        return "n/a"
    spread = "" if stats["half_width"] is None else f" ± {stats['half_width']:.2f}"
    return f"{stats['mean']:+.2f}{spread} ({stats['better']} / {stats['worse']})"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _interval(stats: dict) -> str:
    if stats["half_width"] is None:
        return _number(stats["mean"])
    return f"{stats['mean']:.2f} ± {stats['half_width']:.2f}"
