"""The blind reading kit (docs/metrics.md#blind-reading): real poems of the corpus's test split
and the model's poems in the same forms, shuffled and numbered for readers who do not know who
wrote which, with the rubric they rate them by.

``python -m poetry_rnn.evaluate blind --out DIR`` writes the kit, ``python -m
poetry_rnn.evaluate blind-score DIR`` scores the ``ratings-*.json`` readers put beside it
(:mod:`poetry_rnn.evaluation.ratings`).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from tqdm import tqdm

from poetry_rnn.corpus.cleaning import clean_texts, clean_title
from poetry_rnn.corpus.data import SPLITS, split_of
from poetry_rnn.corpus.sources import DEFAULT_INCLUDE, read_corpus
from poetry_rnn.errors import PoetryError
from poetry_rnn.evaluation.ci_rates import CI_COLLECTION, of_shape, tune_prompt
from poetry_rnn.evaluation.prompts import PROMPT_SOURCES, middle_couplets, prompts, usable_prompt
from poetry_rnn.evaluation.ratings import (
    COUPLET_KIND,
    COUPLET_SCALE,
    KEY_FILE,
    SCALE,
    SCORES,
    TITLE_SCALE,
    TITLE_SCORE,
    kit_scores,
)
from poetry_rnn.files import write_text_atomic
from poetry_rnn.forms import FORMS, form_of, join_lines
from poetry_rnn.model.checkpoint import PRECISIONS
from poetry_rnn.poetics.patterns import cipai, is_tune, unknown_form
from poetry_rnn.text import PUNCTUATION, split_lines, to_simplified
from poetry_rnn.writing.controls import Controls
from poetry_rnn.writing.generate import PoetryGenerator

MIN_POEMS, MAX_POEMS = 4, 400
DEFAULT_POEMS = 48
DEFAULT_VARIANT = "default"
MAX_THEME_CHARS = 10  # a longer title is no theme a user would type
#: Controls the kit sets itself for every poem, so a variant may not.
KIT_CONTROLS = frozenset({"form", "n", "seed", "script"})
POEMS_FILE, RUBRIC_FILE = "poems.md", "RUBRIC.md"
_VARIANT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_PRINTED_LINE = re.compile(f"[^{PUNCTUATION}]+[{PUNCTUATION}]")


# --- the kit --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """What writes one of the kit's sources: its controls, its model directory (None: the
    kit's model) and the precision the model runs in, so that two models, or one model in two
    precisions, can be read side by side on the same prompts."""

    controls: Controls
    model: str | None = None
    backward: str | None = None  # a backward model's directory, whose score joins the search's
    precision: str = "auto"  # see checkpoint.load_models

    @property
    def writer(self) -> tuple[str | None, str | None, str]:
        """What the variant's generator is loaded from: variants alike in it share one."""
        return self.model, self.backward, self.precision


def parse_variants(specs: list[str], base: Controls) -> dict[str, Variant]:
    """Named variants from ``NAME=JSON`` specs (``lines={"search": "lines"}``), each the
    ``base`` controls with the object's fields changed, ``"model": DIR`` for a model of its
    own, ``"backward": DIR`` for a backward model beside it and ``"precision"`` for how they
    run; none given: ``base`` alone, named "default". Any field of :class:`Controls` passes
    through, except those the kit sets."""
    if not specs:
        return {DEFAULT_VARIANT: Variant(base)}
    names = {field.name for field in fields(Controls)} - KIT_CONTROLS
    variants: dict[str, Variant] = {}
    for spec in specs:
        name, _, given = spec.partition("=")
        if not _VARIANT_NAME.fullmatch(name) or not given:
            raise PoetryError(
                f"a variant is NAME=JSON (NAME of letters, digits, _.-), got {spec!r}"
            )
        if name in variants:
            raise PoetryError(f"variant {name} is given twice")
        try:
            changes = json.loads(given)
        except json.JSONDecodeError as error:
            raise PoetryError(f"variant {name}: its controls are not JSON ({error.msg})") from None
        if not isinstance(changes, dict):
            raise PoetryError(f"variant {name}: its controls must be a JSON object")
        models = {key: changes.pop(key, None) for key in ("model", "backward")}
        for key, model in models.items():
            if model is not None and not isinstance(model, str):
                raise PoetryError(f"variant {name}: its {key} must be a directory, got {model!r}")
        precision = changes.pop("precision", "auto")
        if precision not in PRECISIONS:
            raise PoetryError(
                f"variant {name}: its precision must be one of {', '.join(PRECISIONS)}, "
                f"got {precision!r}"
            )
        unknown = sorted(set(changes) - names)
        if unknown:
            raise PoetryError(
                f"variant {name}: {', '.join(unknown)} cannot be set; controls: "
                f"model, backward, precision, {', '.join(sorted(names))}"
            )
        try:
            variants[name] = Variant(replace(base, **changes), **models, precision=precision)
        except PoetryError as error:
            raise PoetryError(f"variant {name}: {error}") from None
    return variants


def draw_real_poems(
    corpus: str | Path,
    count: int,
    rng: random.Random,
    include: tuple[str, ...] = DEFAULT_INCLUDE,
    progress: bool = False,
) -> tuple[list[dict], dict[str, list[dict]]]:
    """``count`` regulated poems of the corpus's test split (cleaned as for training), drawn
    at random and the forms taken in turn, so that every form has its share while it lasts;
    and the split's other regulated poems by form, shuffled (the kit's prompts come from
    them)."""
    poems, _, _ = read_corpus(corpus, include, progress=progress)
    kept, texts, _ = clean_texts(poem.text for poem in poems)
    pool: dict[str, list[dict]] = {name: [] for name in FORMS}
    for index, text in zip(kept, texts, strict=True):
        form = form_of(text)
        if form is not None and split_of(text) == SPLITS.index("test"):
            poem = poems[index]
            pool[form.name].append({
                "source": "poet", "form": form.name, "author": to_simplified(poem.author),
                "title": clean_title(poem.title), "text": join_lines(split_lines(text)),
            })  # fmt: skip
    available = sum(len(group) for group in pool.values())
    if available < count:
        raise PoetryError(
            f"the test split of {corpus} holds {available} regulated poems, {count} needed: "
            "ask for fewer poems or give a larger corpus"
        )
    return _in_turn(pool, count, rng), pool


def _in_turn(pool: dict[str, list[dict]], count: int, rng: random.Random) -> list[dict]:
    """``count`` entries of ``pool`` (which holds them), its groups shuffled and then taken in
    turn, so that every group has its share while it lasts; the rest stay in ``pool``."""
    for group in pool.values():
        rng.shuffle(group)
    drawn: list[dict] = []
    while len(drawn) < count:
        for group in pool.values():
            if group and len(drawn) < count:
                drawn.append(group.pop())
    return drawn


def draw_real_ci(
    corpus: str | Path,
    count: int,
    rng: random.Random,
    tunes: Sequence[str],
    progress: bool = False,
) -> list[dict]:
    """``count`` 词 of ``tunes`` (词牌 names) from the corpus's test split (its 宋词 cleaned as
    for training, the split by the cleaned text), each of its tune's main shape, drawn at
    random, the tunes taken in turn so that every tune has its share while it lasts."""
    for tune in tunes:
        if not is_tune(tune) or tune not in cipai():
            raise PoetryError(unknown_form(tune) if not is_tune(tune) else
                              f"{tune} is a variant: name its tune")  # fmt: skip
    poems, _, _ = read_corpus(corpus, CI_COLLECTION, progress=progress)
    kept, texts, _ = clean_texts(poem.text for poem in poems)
    names = {clean_title(tune): tune for tune in tunes}
    pool: dict[str, list[dict]] = {tune: [] for tune in tunes}
    for index, text in zip(kept, texts, strict=True):
        tune = names.get(clean_title(poems[index].title))
        if tune is None or split_of(text) != SPLITS.index("test"):
            continue
        if of_shape([text], cipai()[tune][0]):
            pool[tune].append({"source": "poet", "form": tune, "title": tune, "text": text,
                               "author": to_simplified(poems[index].author)})  # fmt: skip
    available = sum(len(group) for group in pool.values())
    if available < count:
        raise PoetryError(
            f"the test split of {corpus} holds {available} 词 of those tunes, {count} needed: "
            "ask for fewer poems or name more tunes"
        )
    return _in_turn(pool, count, rng)


def ci_jobs(generator: PoetryGenerator, tunes: list[str], first_seed: int) -> list[dict]:
    """What the model writes, a 词 for each of ``tunes``: within a tune the modes in turn, on
    the prompts its pattern takes (:func:`poetry_rnn.evaluation.ci_rates.tune_prompt`); the seeds
    count up from ``first_seed``."""
    modes, jobs, written = list(generator.modes), [], Counter()
    for number, tune in enumerate(tunes):
        mode = modes[written[tune] % len(modes)]
        prompt = tune_prompt(mode, cipai()[tune][0], written[tune] // len(modes))
        written[tune] += 1
        jobs.append({"form": tune, "mode": mode, "prompt": prompt,
                     "prompt_source": "fixed" if prompt else "none",
                     "seed": first_seed + number})  # fmt: skip
    return jobs


def model_jobs(
    generator: PoetryGenerator,
    forms: list[str],
    first_seed: int,
    spare: dict[str, list[dict]] | None = None,
) -> list[dict]:
    """What the model writes, one poem for each of ``forms``: within a form the modes in turn;
    the seeds count up from ``first_seed``.

    Each prompt comes from a poem of ``spare`` of the same form, each poem used once (its first
    two characters to start from, its line heads, its title as the theme) where the model can
    take it; otherwise, and without ``spare``, from the fixed prompts, in turn. Each job says
    which (``prompt_source``: corpus, fixed, or none for free writing).
    """
    modes, jobs, written, fixed = list(generator.modes), [], Counter(), Counter()
    spare = {name: list(poems) for name, poems in (spare or {}).items()}
    for number, name in enumerate(forms):
        mode = modes[written[name] % len(modes)]
        written[name] += 1
        prompt, source = "", "none"  # free writing has no prompt
        if mode != "free":
            prompt, source = _spare_prompt(generator, mode, spare.get(name, [])), "corpus"
        if prompt is None:
            choices = prompts(generator, mode, FORMS[name])
            prompt = choices[fixed[name, mode] % len(choices)]
            fixed[name, mode] += 1
            source = "fixed"
        jobs.append({"form": name, "mode": mode, "prompt": prompt, "prompt_source": source,
                     "seed": first_seed + number})  # fmt: skip
    return jobs


def _spare_prompt(generator: PoetryGenerator, mode: str, poems: list[dict]) -> str | None:
    """The ``mode`` prompt of the next poem of ``poems`` the model can take (the poems it
    cannot are passed over and used up); None when none is left."""
    while poems:
        poem = poems.pop()
        lines = split_lines(poem["text"])
        prompt = {"start": lines[0][:2], "acrostic": "".join(line[0] for line in lines),
                  "theme": poem["title"], "title": poem["title"]}[mode]  # fmt: skip
        if 2 <= len(prompt) <= MAX_THEME_CHARS and usable_prompt(generator, mode, prompt):
            return prompt
    return None


def write_kit(
    out: str | Path,
    generator: PoetryGenerator,
    corpus: str | Path,
    n: int = DEFAULT_POEMS,
    variants: dict[str, Variant] | None = None,
    seed: int = 0,
    include: tuple[str, ...] = DEFAULT_INCLUDE,
    about: dict | None = None,
    progress: bool = False,
    prompt_source: str = "corpus",
    tunes: Sequence[str] = (),
) -> dict:
    """Write ``poems.md``, ``key.json`` and ``RUBRIC.md`` to ``out``; returns the key.

    ``n`` poems, an equal share for the poets and for each of ``variants`` (named controls and
    models; default: the default controls): the real poems first, then for each the model
    writes one poem of its form in every variant, on the same prompt and seed, the prompts
    chosen by ``generator``. All are shuffled by ``seed``. ``about`` (the model's name, say)
    is recorded in the key. ``prompt_source``: "corpus" draws the prompts from other poems of
    the test split (:func:`model_jobs`), "fixed" cycles the fixed prompts of ``evaluate``.
    ``tunes``: a kit of 词 of these 词牌 instead (:func:`draw_real_ci`, :func:`ci_jobs`).
    """
    if prompt_source not in PROMPT_SOURCES:
        raise PoetryError(f"prompts come from {' or '.join(PROMPT_SOURCES)}, not {prompt_source!r}")
    variants = variants or {DEFAULT_VARIANT: Variant(Controls())}
    sources = 1 + len(variants)
    if not MIN_POEMS <= n <= MAX_POEMS:
        raise PoetryError(f"a kit holds {MIN_POEMS} to {MAX_POEMS} poems, got {n}")
    if n % sources:
        raise PoetryError(
            f"{n} poems do not divide among {sources} sources (the poets and "
            f"{len(variants)} variants): give a multiple of {sources}"
        )
    out = Path(out)
    if (out / KEY_FILE).exists():
        raise PoetryError(f"{out} already holds a kit; choose another directory")
    kits_own = Variant(Controls()).writer
    writers = {kits_own: generator}
    for model, backward, precision in {v.writer for v in variants.values()} - {kits_own}:
        writers[model, backward, precision] = PoetryGenerator.from_pretrained(
            model, backward=backward, precision=precision
        )  # once for all the variants that share it
    rng = random.Random(seed)
    if tunes:
        entries = draw_real_ci(corpus, n // sources, rng, tunes, progress)
        jobs = ci_jobs(generator, [entry["form"] for entry in entries], seed)
    else:
        entries, spare = draw_real_poems(corpus, n // sources, rng, include, progress)
        forms = [entry["form"] for entry in entries]
        jobs = model_jobs(generator, forms, seed, spare if prompt_source == "corpus" else None)
    for job in tqdm(jobs, desc="writing", disable=not progress):
        for name, variant in variants.items():
            controls = replace(variant.controls, form=job["form"], n=1, seed=job["seed"])
            (poem,) = writers[variant.writer].write(job["mode"], job["prompt"], controls)
            text = poem.text if tunes else join_lines(split_lines(poem.text))
            entries.append(
                {"source": "model", "variant": name, **job, "title": poem.title, "text": text}
            )
    rng.shuffle(entries)
    # Titles are shown where every poem of the model has one: else they would tell the poets'.
    titled = all(entry["title"] for entry in entries if entry["source"] == "model")
    key = {
        "n": n,
        "seed": seed,
        "prompts": "fixed" if tunes else prompt_source,
        **({"tunes": list(tunes)} if tunes else {}),
        "titles": titled,
        "corpus": str(corpus),
        **(about or {}),
        "variants": {name: _recorded(variant) for name, variant in variants.items()},
        "poems": {str(number): entry for number, entry in enumerate(entries, 1)},
    }
    write_text_atomic(out / KEY_FILE, json.dumps(key, ensure_ascii=False, indent=1) + "\n")
    shown = [(entry["title"] if titled else "", entry["text"]) for entry in entries]
    write_text_atomic(out / POEMS_FILE, poems_markdown(shown))
    write_text_atomic(out / RUBRIC_FILE, rubric(n, kit_scores(key)))
    return key


def _recorded(variant: Variant) -> dict:
    """The controls of a variant, but for those the kit sets for each poem; its model and
    precision where they are not the kit's."""
    controls = asdict(variant.controls)
    recorded = {name: value for name, value in controls.items() if name not in KIT_CONTROLS}
    models = {"model": variant.model, "backward": variant.backward}
    recorded |= {key: path for key, path in models.items() if path is not None}
    return recorded | ({"precision": variant.precision} if variant.precision != "auto" else {})


def poems_markdown(poems: list[tuple[str, str]]) -> str:
    """The poems as readers see them: a number, the title in 《》 where there is one, and the
    lines, one a row; nothing else."""
    parts = [f"# {len(poems)} poems\n\nRate them as {RUBRIC_FILE} asks.\n"]
    for number, (title, text) in enumerate(poems, 1):
        heading = [f"《{title}》", ""] if title else []
        parts.append(f"## {number}\n\n" + "\n".join([*heading, *printed_lines(text)]) + "\n")
    return "\n".join(parts)


def printed_lines(text: str) -> list[str]:
    """The lines of a canonical poem, each with the mark that ends it."""
    return _PRINTED_LINE.findall(text)


def rubric(n: int, scores: tuple[str, ...] = SCORES) -> str:
    """The instructions to a reader, with the exact shape of the ratings file."""
    titled = TITLE_SCORE in scores
    first = {"fluency": 4, "coherence": 3, "poeticness": 3} | ({TITLE_SCORE: 4} if titled else {})
    second = {"fluency": 2, "coherence": 2, "poeticness": 1} | ({TITLE_SCORE: 1} if titled else {})
    example = {
        "reader": "your-name",
        "ratings": {
            "1": first | {"human": True, "note": "..."},
            "2": second | {"human": False},
        },
    }
    shape = json.dumps(example, ensure_ascii=False, indent=2)
    rows = [*SCALE, *([TITLE_SCALE] if titled else [])]
    scale = "\n".join(
        ["| score | asks | 1 | 3 | 5 |", "| --- | --- | --- | --- | --- |"]
        + [f"| {' | '.join(row)} |" for row in rows]
    )
    names = ", ".join(f"`{name}`" for name in scores)
    count = {3: "three", 4: "four"}[len(scores)]
    titles = " Each poem stands under its title, in 《》." if titled else ""
    return f"""# Reading the poems

{POEMS_FILE} holds {n} classical Chinese poems, numbered 1 to {n}.{titles} Some were written by
Tang poets, some by a machine; you are not told how many of each. Read each poem once, on its
own, without looking anything up, and give it {count} scores from 1 to 5 and one guess:

{scale}

and **human**: true if you think a poet wrote it, false if a machine did.

Scores are whole numbers 1 to 5 (2 and 4 lie between the anchors). Skip a poem you cannot
judge by leaving its number out. A note is optional.

## Your answers

Save them as `ratings-<name>.json` (your name or initials, letters and digits), UTF-8 JSON of
exactly this shape: `reader` your name; `ratings` maps a poem's number (as text) to its
{names} (1 to 5), `human` (true or false) and optionally `note` (text). Nothing else.

```json
{shape}
```
"""


# --- the couplet kit -----------------------------------------------------------------------


def write_couplet_kit(
    out: str | Path,
    generator: PoetryGenerator,
    corpus: str | Path,
    n: int = DEFAULT_POEMS,
    controls: Controls | None = None,
    seed: int = 0,
    include: tuple[str, ...] = DEFAULT_INCLUDE,
    about: dict | None = None,
    progress: bool = False,
) -> dict:
    """A couplet kit in ``out``: ``n`` / 2 middle couplets of the test split's 律诗 as the poets
    wrote them, and the same 上联 with the model's 下联 (written with ``controls``, the seeds
    counting up from ``seed``), shuffled by ``seed``; readers rate each 下联 as a reply to its
    上联 (:data:`COUPLET_SCALE`) and guess who wrote it. Returns the key, which
    :func:`poetry_rnn.evaluation.ratings.score_kit` reads as any kit's."""
    if not MIN_POEMS <= n <= MAX_POEMS or n % 2:
        raise PoetryError(f"a couplet kit holds an even number of couplets, {MIN_POEMS} to "
                          f"{MAX_POEMS}, got {n}")  # fmt: skip
    out = Path(out)
    if (out / KEY_FILE).exists():
        raise PoetryError(f"{out} already holds a kit; choose another directory")
    controls = controls or Controls()
    entries = []
    pairs = middle_couplets(corpus, n // 2, seed, include, progress)
    for number, (upper, lower) in enumerate(tqdm(pairs, desc="writing", disable=not progress)):
        (poem,) = generator.couplet(upper, controls=replace(controls, n=1, seed=seed + number))
        entries += [
            {"source": "poet", "upper": upper, "lower": lower},
            {"source": "model", "variant": DEFAULT_VARIANT, "upper": upper, "lower": poem.lower,
             "seed": seed + number},
        ]  # fmt: skip
    random.Random(seed).shuffle(entries)
    key = {
        "n": n, "seed": seed, "kind": COUPLET_KIND, "corpus": str(corpus), **(about or {}),
        "variants": {DEFAULT_VARIANT: _recorded(Variant(controls))},
        "poems": {str(number): entry for number, entry in enumerate(entries, 1)},
    }  # fmt: skip
    write_text_atomic(out / KEY_FILE, json.dumps(key, ensure_ascii=False, indent=1) + "\n")
    write_text_atomic(out / POEMS_FILE, couplets_markdown(entries))
    write_text_atomic(out / RUBRIC_FILE, couplet_rubric(n))
    return key


def couplets_markdown(entries: list[dict]) -> str:
    """The couplets as readers see them: a number, the 上联 and the 下联; nothing else."""
    parts = [f"# {len(entries)} couplets\n\nRate each 下联 as {RUBRIC_FILE} asks.\n"]
    for number, entry in enumerate(entries, 1):
        parts.append(f"## {number}\n\n上联：{entry['upper']}\n下联：{entry['lower']}\n")
    return "\n".join(parts)


def couplet_rubric(n: int) -> str:
    """The instructions to a reader of a couplet kit, with the exact shape of the ratings."""
    example = {
        "reader": "your-name",
        "ratings": {
            "1": {"apt": 4, "fluency": 4, "human": True},
            "2": {"apt": 2, "fluency": 3, "human": False},
        },
    }
    shape = json.dumps(example, ensure_ascii=False, indent=2)
    scale = "\n".join(
        ["| score | asks | 1 | 3 | 5 |", "| --- | --- | --- | --- | --- |"]
        + [f"| {' | '.join(row)} |" for row in COUPLET_SCALE]
    )
    return f"""# Reading the couplets

{POEMS_FILE} holds {n} couplets (对联), numbered 1 to {n}: each a 上联 and a 下联. The 上联 are
taken from Tang regulated verse; each comes twice, once with the poet's own 下联 and once with a
machine's. Read each couplet on its own, without looking anything up, and rate its **下联**
with two scores from 1 to 5 and one guess:

{scale}

and **human**: true if you think the poet wrote the 下联, false if a machine did.

Scores are whole numbers 1 to 5 (2 and 4 lie between the anchors). Skip a couplet you cannot
judge by leaving its number out. A note is optional.

## Your answers

Save them as `ratings-<name>.json` (your name or initials, letters and digits), UTF-8 JSON of
exactly this shape: `reader` your name; `ratings` maps a couplet's number (as text) to its
`apt` and `fluency` (1 to 5), `human` (true or false) and optionally `note` (text).

```json
{shape}
```
"""
