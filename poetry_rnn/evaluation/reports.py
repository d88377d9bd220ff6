"""The results of :mod:`poetry_rnn.evaluation.evaluate` as the command line prints them: Markdown
tables of the poets' figures beside the model's, and the rows of a two-column report."""

from __future__ import annotations

from poetry_rnn.poetics.couplets import MEASURES
from poetry_rnn.poetics.rhymes import RHYME_BOOK_NAMES, RHYME_BOOKS
from poetry_rnn.writing.plans import REPEAT_RATES


def format_couplets(result: dict, examples: int = 12) -> str:
    """The couplet measures as Markdown: the poets beside the model, then couplets side by
    side."""
    poets, model = result["poets"], result["model_couplets"]
    rows = [
        f"下联 to {poets['n']} 上联 of middle couplets of the test split's 律诗 "
        f"({result['corpus']}); model: {result['model']}, backward: "
        f"{result['backward'] or 'none'}; seed {result['seed']}, temperature "
        f"{result['temperature']}, top-p {result['top_p']}; "
        f"{result['seconds']} s",
        "",
        "| measure | what it says | poets | model |",
        "| --- | --- | --- | --- |",
    ]
    rows += [f"| {name} | {says} | {_share(poets[name], 2)} | {_share(model[name], 2)} |"
             for name, says in MEASURES]  # fmt: skip
    rows += ["", "| 上联 | the poet's 下联 | the model's 下联 |", "| --- | --- | --- |"]
    rows += [f"| {c['upper']} | {c['poet']} | {c['model']} |"
             for c in result["couplets"][:examples]]  # fmt: skip
    return "\n".join(rows)


def format_report(result: dict) -> str:
    """A Markdown table: each form's real poems, then each mode of the model."""
    rows = [
        f"| form | written by | n | format | {_BOOK_COLUMNS} | 首句 | tone | 叠字 | 重字 | 重词 "
        "| repeats a poem | 重词 a poem | copy | distinct-2 (all) | coherence | clash "
        "| 对仗 middle | 对仗 other | model ppl | theme coverage |",
        "| --- " * 21 + "|",
    ]
    for name, poets in result["poets"].items():
        if poets["n"]:
            rows.append(
                f"| {name} | Tang poets | {poets['n']} | {_share(poets['format_accuracy'])} "
                f"| {_rhyme_cells(poets)} | {_share(poets['unrhymed_opening_rate'])} "
                f"| {_share(poets['tone_conformance'])} "
                f"| {_share(poets['unattested_double_rate'])} "
                f"| {_share(poets['line_repeat_rate'])} | {_share(poets['word_repeat_rate'])} "
                f"| {_repeat_cells(poets)} | | {_share(poets['distinct_2_batch'])} "
                f"| {_share(poets['coherence'])} "
                f"| {_share(poets['clash_rate'])} | {_parallel_cells(poets)} | | |"
            )
        for row in (row for row in result["generated"] if row["form"] == name):
            rows.append(
                f"| {name} | model, {row['mode']} | {row['n']} "
                f"| {_share(row['format_accuracy'])} | {_rhyme_cells(row)} "
                f"| {_share(row['unrhymed_opening_rate'])} | {_share(row['tone_conformance'])} "
                f"| {_share(row['unattested_double_rate'])} | {_share(row['line_repeat_rate'])} "
                f"| {_share(row['word_repeat_rate'])} | {_repeat_cells(row)} "
                f"| {_share(row['copy_rate'])} "
                f"| {_share(row['distinct_2_batch'])} "
                f"| {_share(row['coherence'])} | {_share(row['clash_rate'])} "
                f"| {_parallel_cells(row)} | {row['model_perplexity']:.1f} "
                f"| {_share(row['theme_coverage']) if 'theme_coverage' in row else ''} |"
            )
    notes = [
        f"model {result['model']}; seed {result['seed']}; {_sampling(result)}; rhyme rates "
        f"under each book; 首句: the share of poems whose first line ends 平 without rhyming; "
        "叠字: the share of poems doubling a character no poet doubles; 重字: the share of lines "
        "holding a character twice other than as a doubling; 重词: the share of poems saying a "
        "two-character word twice; repeats a poem: the times a poem says a character again "
        "(but as a doubling the poets attest), 重词 a poem: the words it says again; copy "
        f"rate against the lines of {result['corpus']}; theme coverage: the share of lines with "
        "a keyword character; coherence: the mean association of the content characters of "
        "different lines (docs/coherence.md); clash: the share of poems marking two seasons or "
        "two times of day that poets keep apart; 对仗: the mean parallelism of the middle "
        f"couplets of a 律诗 and of the other couplets (docs/metrics.md); {result['seconds']} s",
    ]
    return "\n".join([*rows, "", *notes])


def _share(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


#: How the tables name the rhyme books.
_BOOK_COLUMNS = " | ".join(f"rhyme {RHYME_BOOK_NAMES[book]}" for book in RHYME_BOOKS)


def _rhyme_cells(metrics: dict) -> str:
    """The rhyme rate under each book, one table cell each."""
    return " | ".join(_share(metrics["rhyme_rate_by_book"][book]) for book in RHYME_BOOKS)


def _repeat_cells(metrics: dict) -> str:
    """The characters and the words said again a poem, one table cell each."""
    chars, words = metrics["repeats_per_poem"], metrics["word_repeats_per_poem"]
    return f"{_share(chars, 2)} | {_share(words)}"


def _parallel_cells(metrics: dict) -> str:
    """The 对仗 of the middle couplets and of the others, one table cell each."""
    return f"{_share(metrics['parallelism_middle'])} | {_share(metrics['parallelism_other'])}"


def _sampling(result: dict) -> str:
    rules = [name for name in ("rhyme", "tone") if result[name]]
    forced = f"{' and '.join(rules)} forced" if rules else "no rules forced"
    book = f"rhyme book {RHYME_BOOK_NAMES[result['rhyme_book']]}"
    top_k = f", top-k {result['top_k']}" if result["top_k"] else ""
    return f"{forced}, {book}, temperature {result['temperature']}{top_k}, top-p {result['top_p']}"


def _perplexity_rows(result: dict) -> list[tuple[str, object]]:
    return [
        ("corpus", result["corpus"]),
        ("model", result["model"]),
        ("split", result["split"]),
        ("form", result["form"]),
        ("precision", result["precision"]),
        ("poems", result["poems"]),
        ("tokens", f"{result['tokens']} (characters + one end token a poem)"),
        ("OOV", f"{result['oov']} ({result['oov_rate']:.4%} of characters, scored as <unk>)"),
        ("perplexity", f"{result['perplexity']:.3f}"),
        ("seconds", result["seconds"]),
    ]


def _generation_rows(result: dict) -> list[tuple[str, object]]:
    copy = "n/a (give --corpus)"
    if result["copy_rate"] is not None:
        copy = f"{result['copy_rate']:.3f} ({result['copied_lines']}/{result['lines']} lines)"
    prompts_used = f" ({' '.join(result['prompts'])})" if result["prompts"] else ""
    return [
        ("model", result["model"]),
        ("form", result["form"]),
        ("mode", result["mode"] + prompts_used),
        ("poems (n)", result["n"]),
        ("sampling", _sampling(result)),
        ("format accuracy", _share(result["format_accuracy"])),
        ("rhyme rate", ", ".join(f"{_share(result['rhyme_rate_by_book'][book])} "
                                 f"{RHYME_BOOK_NAMES[book]}" for book in RHYME_BOOKS)),
        ("tone conformance", f"{_share(result['tone_conformance'])} "
                             f"({result['tone_satisfied']}/{result['tone_checked']} positions)"),
        ("unattested 叠字", f"{_share(result['unattested_double_rate'])} "
                          f"({result['unattested_doubles']}/{result['n']} poems)"),
        ("重字 in a line", f"{_share(result['line_repeat_rate'])} of the lines"),
        ("重词 in a poem", f"{_share(result['word_repeat_rate'])} "
                          f"({result['word_repeats']}/{result['n']} poems)"),
        ("said again a poem", _said_again(result)),
        ("首句 平, unrhymed", f"{_share(result['unrhymed_opening_rate'])} of the poems"),
        ("copy rate", copy),
        ("coherence", f"{result['coherence']:.3f} (mean over the poems)"),
        ("season/time clashes", f"{_share(result['clash_rate'])} "
                                f"({result['clashes']}/{result['n']} poems)"),
        ("对仗", f"{_share(result['parallelism_middle'])} middle couplets, "
                 f"{_share(result['parallelism_other'])} the others"),
        ("distinct-1", f"{_share(result['distinct_1_poem'])} in a poem, "
                       f"{_share(result['distinct_1_batch'])} across the poems"),
        ("distinct-2", f"{_share(result['distinct_2_poem'])} in a poem, "
                       f"{_share(result['distinct_2_batch'])} across the poems"),
        ("model perplexity", f"{result['model_perplexity']:.1f} (the model's own, of its poems)"),
        *([("theme coverage", f"{result['theme_coverage']:.3f} of the lines hold a keyword "
                              "character")] if "theme_coverage" in result else []),
        ("seconds", f"{result['generation_seconds']} generating, {result['seconds']} in all"),
    ]  # fmt: skip


def _said_again(result: dict) -> str:
    """The characters and words the poems say again, a poem, beside the poets' in the form."""
    said = (f"{result['repeats_per_poem']:.2f} characters, "
            f"{result['word_repeats_per_poem']:.3f} words")  # fmt: skip
    rate = REPEAT_RATES.get(result["form"])
    return f"{said} (the poets': {rate.poets:.2f}, {rate.poets_words:.3f})" if rate else said


REPORTS = {"perplexity": _perplexity_rows, "generation": _generation_rows}


def _split_named(split: str) -> str:
    return "" if split == "all" else f", {split} split"


def format_corpus(result: dict) -> str:
    """The poets' figures as a Markdown table, one row per form."""
    header = [
        f"| form | n | format accuracy | {_BOOK_COLUMNS} | tone conformance | unattested 叠字 "
        "| repeats a poem | 重词 a poem | distinct-1 poem / all | distinct-2 poem / all "
        "| 对仗 middle | 对仗 other |",
        "| --- " * 13 + "|",
    ]
    rows = []
    for name, metrics in result["forms"].items():
        if not metrics["n"]:
            rows.append(f"| {name} | 0 |" + " |" * 11)
            continue
        rows.append(
            f"| {name} | {metrics['n']} | {_share(metrics['format_accuracy'])} "
            f"| {_rhyme_cells(metrics)} | {_share(metrics['tone_conformance'])} "
            f"| {_share(metrics['unattested_double_rate'])} | {_repeat_cells(metrics)} "
            f"| {_share(metrics['distinct_1_poem'])} / {_share(metrics['distinct_1_batch'])} "
            f"| {_share(metrics['distinct_2_poem'])} / {_share(metrics['distinct_2_batch'])} "
            f"| {_parallel_cells(metrics)} |"
        )
    notes = [
        f"corpus {result['corpus']}{_split_named(result['split'])}: {result['poems']} poems "
        "after cleaning; a form's poems are those whose lines have its shape.",
        "format accuracy < 1 only where a line ends in ？！； rather than ，/。 alternating; "
        "unattested 叠字: the share of poems doubling a character no poet doubles; repeats a "
        "poem: the times a poem says a character again (but as a doubling the poets attest), "
        "重词 a poem: the two-character words it says again; 对仗: the "
        "mean parallelism of a 律诗's middle couplets and of the other couplets; "
        f"{result['seconds']} s",
    ]
    return "\n".join([*header, *rows, "", *notes])
