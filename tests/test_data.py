"""The corpus pipeline on the fixture corpus: reading, filters, vocab, encoding, splits, cache."""

import json
import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURE_CORPUS

from poetry_rnn.app.data_cli import main
from poetry_rnn.corpus.batching import (
    LengthBucketedBatches,
    padded_rows,
    padding_share,
    textbook_padding_share,
)
from poetry_rnn.corpus.data import (
    CorpusOptions,
    EncodedCorpus,
    build_corpus,
    encode_poems,
    load_corpus,
    prepare_corpus,
    save_corpus,
    split_of,
)
from poetry_rnn.corpus.sources import RawPoem, find_poem_files, read_corpus, read_poem_file
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError, run_cli

QUIET = {"progress": False}


def build(**options) -> EncodedCorpus:
    """The fixture corpus, all in train and every character in the vocabulary, so that texts
    decode exactly."""
    options = {"min_freq": 1, "maxlen": 512, "split": (1.0, 0.0, 0.0)} | options
    return build_corpus(FIXTURE_CORPUS, CorpusOptions(**options), progress=False)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture corpus."""
    return Path(shutil.copytree(FIXTURE_CORPUS, tmp_path / "corpus"))


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = run_cli(main, argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- reading ------------------------------------------------------------------------------


def test_checkout_reads_the_tang_poems_by_default():
    files = find_poem_files(FIXTURE_CORPUS)
    assert [f.name for f in files] == ["poet.tang.0.json", "poet.tang.1000.json"]


def test_include_picks_collections():
    files = find_poem_files(FIXTURE_CORPUS, ("tang", "song", "tang300"))
    assert {f.name for f in files} == {
        "poet.tang.0.json", "poet.tang.1000.json", "poet.song.0.json", "唐诗三百首.json"
    }  # fmt: skip


def test_one_file_and_the_poem_folder_are_accepted():
    folder = FIXTURE_CORPUS / "全唐诗"
    assert len(find_poem_files(folder)) == 2
    poems, _, _ = read_corpus(folder / "唐诗三百首.json", progress=False)
    assert len(poems) == 6


def test_any_folder_of_poem_lists_is_read_and_non_poem_json_passed_over(tmp_path):
    (tmp_path / "mine.json").write_text(
        json.dumps([{"paragraphs": ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]}]),
        encoding="utf-8",
    )
    (tmp_path / "authors.json").write_text(json.dumps([{"name": "王之渙"}]), encoding="utf-8")
    poems, files, bad = read_corpus(tmp_path, progress=False)
    assert [p.text for p in poems] == ["白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"]
    assert bad == [] and len(files) == 1


POEM = {"paragraphs": ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]}


def _json_files(folder: Path, files: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


def test_files_are_read_in_their_numbers_order_once_each(tmp_path):
    names = ["poet.tang.10000.json", "poet.tang.2000.json", "poet.tang.0.json"]
    _json_files(tmp_path / "全唐诗", {name: [POEM] for name in names})
    files = find_poem_files(tmp_path, ("tang", "tang"))
    assert [f.name for f in files] == [names[2], names[1], names[0]]


def test_any_file_names_sort_numbers_among_text(tmp_path):
    names = ["poems.json", "poems.10.json", "poems.2.json", "poems².json", "poems.1a.json"]
    names.append("b.json")
    _json_files(tmp_path, {name: [POEM] for name in names})
    files = find_poem_files(tmp_path)
    assert [f.name for f in files] == [
        "b.json", "poems.1a.json", "poems.2.json", "poems.10.json", "poems.json", "poems².json"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("include", "message"),
    [
        (("tang", "yuan"), "unknown collection 'yuan'; choose from tang, song, tang300, ci"),
        (("song", "tang300"), "no song/tang300 poem files in {root}"),
    ],
)
def test_a_collection_unknown_or_absent_is_named(include, message, tmp_path):
    folder = _json_files(tmp_path / "全唐诗", {"poet.tang.0.json": [POEM]})
    with pytest.raises(PoetryError, match=f"^{re.escape(message.format(root=tmp_path))}$"):
        find_poem_files(tmp_path, include)
    assert find_poem_files(folder, ("tang",)) == [folder / "poet.tang.0.json"]


def test_a_poem_keeps_its_author_and_title_and_its_collection(tmp_path):
    titled = POEM | {"author": "王之渙", "title": "登鸛雀樓"}
    folder = _json_files(tmp_path, {"poet.song.0.json": [titled], "mine.json": [POEM]})
    text = "".join(POEM["paragraphs"])
    song = RawPoem(author="王之渙", title="登鸛雀樓", text=text, source="song")
    assert read_poem_file(folder / "poet.song.0.json") == [song]
    assert read_poem_file(folder / "mine.json") == [RawPoem("", "", text, source="other")]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"paragraphs": ["山"]}, "expected a JSON list of poems"),
        (["山", "水"], "item 0 is not an object"),
        ([POEM, {"paragraphs": "山"}], "item 1 has no list of 'paragraphs'"),
        ([{"paragraphs": ["山", 1]}], "item 0 has no list of 'paragraphs'"),
    ],
)
def test_a_malformed_file_among_poems_is_named_or_skipped_and_logged(data, why, tmp_path, caplog):
    folder = _json_files(tmp_path, {"mine.json": [POEM], "odd.json": data})
    error = f"malformed poem file {folder / 'odd.json'}: {why}"
    with pytest.raises(
        PoetryError, match=f"^{re.escape(error)} \\(--skip-bad skips such files\\)$"
    ):
        read_corpus(folder, progress=False)
    poems, files, bad = read_corpus(folder, skip_bad=True, progress=False)
    assert len(poems) == 1 and files == [folder / "mine.json"] and bad == [folder / "odd.json"]
    assert caplog.messages == [f"skipping {error}"]


def test_json_that_holds_no_poems_is_passed_over_in_a_folder_and_refused_alone(tmp_path, caplog):
    folder = _json_files(tmp_path / "authors", {"authors.json": [{"name": "王之渙"}]})
    caplog.set_level(logging.DEBUG, logger="poetry_rnn.corpus.sources")
    with pytest.raises(PoetryError, match=f"^no poems in {re.escape(str(folder))}$"):
        read_corpus(folder, progress=False)
    assert caplog.messages == [f"passing over {folder / 'authors.json'}: not a poem file"]
    one = folder / "authors.json"
    with pytest.raises(PoetryError, match=r"^malformed poem file .*: item 0 has no list of"):
        read_corpus(one, progress=False)


def test_a_poem_file_that_cannot_be_read_is_named(tmp_path):
    unreadable = tmp_path / "poems.json"
    unreadable.mkdir()
    with pytest.raises(PoetryError, match=f"^cannot read poem file {re.escape(str(unreadable))}: "):
        read_poem_file(unreadable)


@pytest.mark.parametrize(
    ("options", "files", "shown"),
    [({}, 2, True), ({"progress": True}, 1, False), ({"progress": False}, 2, False)],
)
def test_reading_many_files_shows_its_progress(options, files, shown, tmp_path, capsys):
    folder = _json_files(tmp_path, {f"{n}.json": [POEM] for n in range(files)})
    read_corpus(folder, **options)
    bar = re.search(r"(^|\r)reading: 100%.* 2/2 \[.*(file/s|s/file)\]", capsys.readouterr().err)
    assert (bar is not None) is shown


def test_fixture_totals_match_the_dirt_table(tmp_path):
    corpus = build()
    stats = corpus.stats
    assert stats["poems_read"] == 40 and stats["poems_kept"] == 32
    assert stats["dropped"] == {"lost_characters": 3, "non_han": 1, "too_short": 2, "duplicates": 2}
    changed = stats["changed"]
    assert changed["annotations"] == 3 and changed["title_marks"] == 1
    assert changed["markup_and_ascii"] == 1 and changed["punctuation"] == 1
    every = build(include=("tang", "song", "tang300"))
    assert every.stats["poems_kept"] == 43


def test_the_corpus_reading_of_jingyesi_survives():
    texts = build().texts()
    assert "床前看月光，疑是地上霜。举头望山月，低头思故乡。" in texts


# --- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "lines", "chars"),
    [("五言绝句", 4, 5), ("七言绝句", 4, 7), ("五言律诗", 8, 5), ("七言律诗", 8, 7)],
)
def test_form_filter_keeps_only_that_form(form, lines, chars):
    corpus = build(form=form)
    assert corpus.stats["poems_kept"] > 0
    for text in corpus.texts():
        rows = text.replace("，", "|").replace("。", "|").rstrip("|").split("|")
        assert len(rows) == lines and all(len(row) == chars for row in rows)


def test_regulated_filter_keeps_all_fixed_forms_and_no_other():
    stats = build(form="regulated").stats
    assert stats["forms"]["other"] == 0
    assert stats["poems_kept"] == sum(stats["forms"].values()) == 32 - stats["filtered"]["form"]


def test_author_filter_accepts_traditional_names():
    corpus = build(author="李白")
    assert corpus.stats["poems_kept"] >= 2
    assert any(text.startswith("床前看月光") for text in corpus.texts())
    assert build(author="王維").stats["poems_kept"]


def test_length_filter():
    corpus = build(min_chars=21, max_chars=28)
    lengths = [len(t) - sum(t.count(p) for p in "，。？！；") for t in corpus.texts()]
    assert lengths and all(21 <= n <= 28 for n in lengths)


# --- vocabulary and encoding --------------------------------------------------------------


def test_vocab_round_trip_and_save(tmp_path):
    texts = ["床前看月光，疑是地上霜。", "举头望山月，低头思故乡。"]
    vocab = Vocab.build(texts)
    assert vocab.tokens[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert vocab.tokens[4] in "，。"  # the most frequent characters come first
    for text in texts:
        ids = vocab.encode(text, wrap=True)
        assert ids[0] == vocab.start_id and ids[-1] == vocab.end_id
        assert vocab.decode(ids) == text
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json") == vocab


def test_vocab_min_freq_maps_rare_characters_to_unknown():
    vocab = Vocab.build(["山山水", "山水月"], min_freq=2)
    assert "月" not in vocab and vocab.encode("月") == [vocab.unk_id]
    assert vocab.unknown_chars("山月花") == ["月", "花"]


def test_vocab_orders_by_frequency_then_character_and_keeps_its_min_freq():
    vocab = Vocab.build(["水山月", "山水"], min_freq=1)
    assert vocab.tokens[4:] == ["山", "水", "月"]  # 2, 2 (山 before 水), 1
    assert vocab.min_freq == 1 and Vocab(vocab.tokens).min_freq == 1
    assert Vocab.build(["山山水"], min_freq=2).min_freq == 2
    # A file written before min_freq was saved reads as 1.
    assert Vocab.from_json(json.dumps({"tokens": vocab.tokens})).min_freq == 1


def test_equal_vocabularies_are_one_key():
    a, b = Vocab.build(["山水"]), Vocab.build(["水山"])
    assert a == b and hash(a) == hash(b) and len({a: 1, b: 2}) == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Vocab(["山", "<pad>", "<s>", "</s>", "<unk>"]),
         "a vocabulary must begin with the special tokens \\('<pad>', '<s>', '</s>', '<unk>'\\)"),
        (lambda: Vocab(["<pad>", "<s>", "</s>", "<unk>", "山", "山"]),
         "^a vocabulary must not repeat a token$"),
        (lambda: Vocab.build(["山"], min_freq=0), "^min_freq must be at least 1, got 0$"),
    ],
)  # fmt: skip
def test_a_bad_vocabulary_is_refused_in_words(make, message):
    with pytest.raises(PoetryError, match=message):
        make()


def test_an_unreadable_vocab_file_is_refused_in_one_line(tmp_path):
    with pytest.raises(PoetryError, match=f"^cannot read vocabulary {tmp_path}: "):
        Vocab.load(tmp_path)  # a folder


def test_damaged_vocab_is_refused(tmp_path):
    (tmp_path / "v.json").write_text('{"tokens": ["a"', encoding="utf-8")
    with pytest.raises(PoetryError, match="damaged vocabulary"):
        Vocab.load(tmp_path / "v.json")


def _two_poems() -> tuple[np.ndarray, np.ndarray, Vocab]:
    texts = ["山水，", "明月光，照我。"]
    vocab = Vocab.build(texts)
    chars, offsets = encode_poems(texts, vocab)
    return chars, offsets, vocab


def test_poems_are_one_flat_stream_with_offsets():
    chars, offsets, vocab = _two_poems()
    assert offsets.tolist() == [0, 3, 10]
    assert vocab.decode(chars.tolist()) == "山水，明月光，照我。"
    assert chars.dtype == np.uint16


def test_right_and_left_padding_and_cuts():
    chars, offsets, vocab = _two_poems()
    s, e, p = vocab.start_id, vocab.end_id, vocab.pad_id
    right = padded_rows(chars, offsets, [0, 1], vocab, maxlen=6)
    assert right[0].tolist() == [s, *vocab.encode("山水，"), e, p]
    assert right[1].tolist() == [s, *vocab.encode("明月光，照")]  # cut: no end token
    left = padded_rows(chars, offsets, [0, 1], vocab, maxlen=6, padding="left")
    assert left[0].tolist() == [p, s, *vocab.encode("山水，"), e]
    assert left[1].tolist() == right[1].tolist()
    wide = padded_rows(chars, offsets, [0], vocab, maxlen=6, padding="left", width=8)
    assert wide[0].tolist() == [p, p, p, s, *vocab.encode("山水，"), e]


def test_backward_rows_read_each_poem_from_its_end():
    chars, offsets, vocab = _two_poems()
    s, e, p = vocab.start_id, vocab.end_id, vocab.pad_id
    rows = padded_rows(chars, offsets, [0, 1], vocab, maxlen=12, direction="backward")
    assert rows[0].tolist() == [s, *vocab.encode("，水山"), e, p, p, p, p]
    assert rows[1].tolist() == [s, *vocab.encode("。我照，光月明"), e]
    cut = padded_rows(chars, offsets, [1], vocab, maxlen=6, direction="backward")
    assert cut[0].tolist() == [s, *vocab.encode("。我照，光")]  # the end is kept, the head cut


def test_maxlen_cuts_are_reported():
    corpus = build(maxlen=30)
    # Counted from the fixture: the poems of more than 28 characters, punctuation included.
    assert corpus.stats["cut_by_maxlen"] == 25  # all but the 7 poems of 24 or 26 characters
    assert corpus.batch(np.arange(len(corpus))).shape[1] == 30
    assert int(corpus.lengths.max()) == 30


def test_max_chars_zero_is_a_filter_not_off():
    with pytest.raises(PoetryError, match="min_chars <= max_chars"):
        CorpusOptions(min_chars=1, max_chars=0)
    with pytest.raises(PoetryError, match="no poems left"):
        build(max_chars=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"maxlen": 10**9}, "maxlen must be between 3"),
        ({"maxlen": 2}, "maxlen must be between 3"),
        ({"maxlen": 256.0}, "maxlen must be an integer"),
        ({"split": (float("nan"), 0.5, 0.5)}, "split must be three shares"),
        ({"split": (1.0, float("inf"), 0.0)}, "split must be three shares"),
        ({"split": (1.2, -0.1, -0.1)}, "split must be three shares"),
        ({"author": 123}, "author must be a name, got 123"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(PoetryError, match=message):
        CorpusOptions(**options)


# --- splits -------------------------------------------------------------------------------


def test_split_depends_on_the_text_alone():
    texts = [f"第{i}首诗，山水月光{i}。" for i in range(2000)]
    parts = [split_of(t) for t in texts]
    # Pinned: a poem's split is a hash of its text, the same in every run and release (a new
    # hash or new thresholds would move poems between splits, and so change every figure).
    assert [i for i, part in enumerate(parts) if part == 1][:5] == [12, 20, 21, 135, 172]
    assert [i for i, part in enumerate(parts) if part == 2][:5] == [69, 155, 197, 202, 207]
    shares = np.bincount(parts, minlength=3) / len(parts)
    assert shares[0] > 0.93 and 0.005 < shares[1] < 0.04 and 0.005 < shares[2] < 0.04


def test_split_is_stable_when_the_corpus_grows(corpus_copy):
    small = build_corpus(corpus_copy, CorpusOptions(maxlen=512, min_freq=1), **QUIET)
    before = dict(zip(small.texts(), small.split.tolist(), strict=True))
    extra = corpus_copy / "全唐诗" / "poet.tang.2000.json"
    extra.write_text(
        json.dumps([{"paragraphs": ["千山鳥飛絕，萬徑人蹤滅。", "孤舟蓑笠翁，獨釣寒江雪。"]}]),
        encoding="utf-8",
    )
    grown = build_corpus(corpus_copy, CorpusOptions(maxlen=512, min_freq=1), **QUIET)
    after = dict(zip(grown.texts(), grown.split.tolist(), strict=True))
    assert len(after) == len(before) + 1
    assert all(after[text] == part for text, part in before.items())


# --- batching -----------------------------------------------------------------------------


def test_bucketed_batches_cover_every_row_once_and_pad_little():
    rng = np.random.default_rng(0)
    lengths = rng.integers(12, 100, size=5000)
    batches = list(LengthBucketedBatches(lengths, batch_size=64, seed=1))
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(5000))
    assert padding_share(lengths, batches) < 0.05
    assert textbook_padding_share(lengths - 2) > 0.3


def test_padding_shares_count_exactly():
    lengths = np.array([10, 6, 8, 8])
    # Batches cut to 10 and to 8: 20 + 16 tokens, 32 of them real.
    assert padding_share(lengths, [np.array([0, 1]), np.array([2, 3])]) == pytest.approx(4 / 36)
    assert padding_share(lengths, []) == 0.0
    # The textbook adds start and end and cuts at 125: 5 + 125 real tokens of 250.
    assert textbook_padding_share(np.array([3, 200])) == pytest.approx(1 - 130 / 250)
    assert textbook_padding_share(np.array([], dtype=int)) == 0.0


def test_a_batch_of_one_is_allowed_and_none_is_refused():
    assert [b.tolist() for b in LengthBucketedBatches(np.array([3, 4]), 1, shuffle=False)] == [
        [0], [1]
    ]  # fmt: skip
    with pytest.raises(PoetryError, match=r"^batch size must be at least 1, got 0$"):
        LengthBucketedBatches(np.array([3, 4]), 0)


@pytest.mark.parametrize(("direction", "padding"), [("sideways", "right"), ("forward", "middle")])
def test_an_unknown_layout_is_refused(direction, padding):
    chars, offsets, vocab = _two_poems()
    with pytest.raises(PoetryError, match=f"^no {direction} {padding}-padded layout$"):
        padded_rows(chars, offsets, [0], vocab, 6, direction=direction, padding=padding)


def test_bucketed_batches_are_deterministic_and_change_per_epoch():
    lengths = np.arange(1000) % 97 + 3
    sampler = LengthBucketedBatches(lengths, batch_size=32, seed=5)
    first = [b.tolist() for b in sampler]
    assert first == [b.tolist() for b in LengthBucketedBatches(lengths, batch_size=32, seed=5)]
    sampler.set_epoch(1)
    assert first != [b.tolist() for b in sampler]


def test_ranks_get_disjoint_equal_shares():
    lengths = np.arange(1000) % 50 + 3
    shares = [list(LengthBucketedBatches(lengths, 32, rank=r, world_size=3)) for r in range(3)]
    assert [len(s) for s in shares] == [len(LengthBucketedBatches(lengths, 32, world_size=3))] * 3
    seen = [row for share in shares for batch in share for row in batch.tolist()]
    assert len(seen) == len(set(seen))


def test_batch_is_cut_to_its_longest_row():
    corpus = build()
    rows = np.argsort(corpus.lengths)[:4]
    batch = corpus.batch(rows)
    assert batch.shape == (4, corpus.lengths[rows].max())
    assert (batch[:, 0] == corpus.vocab.start_id).all()
    texts = corpus.texts(rows)
    assert [corpus.vocab.decode(row.tolist()) for row in batch] == texts
    backward = corpus.batch(rows, direction="backward")
    assert [corpus.vocab.decode(row.tolist()) for row in backward] == [t[::-1] for t in texts]


def test_each_poem_knows_its_collection():
    corpus = build(include=("tang", "song", "tang300"))
    assert corpus.sources == ["tang", "song", "tang300"]
    assert corpus.stats["sources"] == {"tang": 32, "song": 5, "tang300": 6}
    song = corpus.texts(np.flatnonzero(corpus.source == 1))
    assert len(song) == 5
    every_val = corpus.indices("val")
    assert corpus.indices("val", "tang").tolist() == [
        row for row in every_val.tolist() if corpus.source[row] == 0
    ]
    with pytest.raises(PoetryError, match="has no 'yuan' poems"):
        corpus.indices("val", "yuan")


def test_a_subset_holds_its_rows_poems_in_order_and_everything_else_alike():
    corpus = build(include=("tang", "song", "tang300"))
    rows = np.array([40, 3, 17, 0, 35])
    part = corpus.subset(rows)
    assert part.texts() == corpus.texts(rows)
    assert part.split.tolist() == corpus.split[rows].tolist()
    assert part.source.tolist() == corpus.source[rows].tolist()
    assert (part.vocab, part.sources, part.maxlen) == (corpus.vocab, corpus.sources, corpus.maxlen)
    assert np.array_equal(part.batch(np.arange(5)), corpus.batch(rows))


# --- cache --------------------------------------------------------------------------------


def test_cache_is_reused_and_loaded_without_pickles(corpus_copy, tmp_path):
    cache = tmp_path / "cache"
    built = prepare_corpus(corpus_copy, cache_dir=cache, **QUIET)
    assert not built.stats["cached"]
    assert (cache / "tang.npz").exists() and (cache / "tang.vocab.json").exists()
    loaded = prepare_corpus(corpus_copy, cache_dir=cache, **QUIET)
    assert loaded.stats["cached"]
    for corpus in (built, loaded):  # the seconds it took, as the report shows them
        assert isinstance(corpus.stats["seconds"], float) and 0 <= corpus.stats["seconds"] < 600
    assert np.array_equal(loaded.chars, built.chars) and loaded.vocab == built.vocab
    assert np.array_equal(loaded.offsets, built.offsets) and loaded.sources == built.sources
    assert Vocab.load(cache / "tang.vocab.json") == built.vocab
    with np.load(cache / "tang.npz", allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)


def test_other_options_get_another_cache_and_never_replace_the_full_one(corpus_copy, tmp_path):
    cache = tmp_path / "cache"
    full = prepare_corpus(corpus_copy, cache_dir=cache, **QUIET)
    regulated = prepare_corpus(corpus_copy, CorpusOptions(form="regulated"), cache, **QUIET)
    assert Path(regulated.stats["cache"]).name.startswith("tang-")
    assert Path(full.stats["cache"]).name == "tang.npz"
    assert load_corpus(cache / "tang.npz").stats["poems_kept"] == full.stats["poems_kept"]
    one_file = prepare_corpus(corpus_copy / "全唐诗" / "唐诗三百首.json", cache_dir=cache, **QUIET)
    assert Path(one_file.stats["cache"]).name == "tang300.npz"
    (tmp_path / "mine").mkdir()
    shutil.copy(corpus_copy / "全唐诗" / "poet.tang.0.json", tmp_path / "mine" / "mine.json")
    mine = prepare_corpus(tmp_path / "mine" / "mine.json", cache_dir=cache, **QUIET)
    assert Path(mine.stats["cache"]).name == "mine.npz"
    refused = "holds a corpus prepared with other options; give another --name, or --rebuild to"
    with pytest.raises(PoetryError, match=f"{refused} replace it$"):
        prepare_corpus(corpus_copy, CorpusOptions(min_freq=1), cache, name="tang", **QUIET)
    replaced = prepare_corpus(
        corpus_copy, CorpusOptions(min_freq=1), cache, name="tang", rebuild=True, **QUIET
    )
    assert not replaced.stats["cached"] and load_corpus(cache / "tang.npz").vocab == replaced.vocab


def test_each_choice_of_collections_and_options_has_its_own_cache_name(
    corpus_copy, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the default cache folder is ./data
    both = prepare_corpus(corpus_copy, CorpusOptions(include=("tang", "song")), **QUIET)
    assert both.stats["cache"] == str(Path("data") / "tang+song.npz")
    assert set(both.sources) == {"tang", "song"}
    names = [
        Path(prepare_corpus(corpus_copy, options, **QUIET).stats["cache"]).name
        for options in (CorpusOptions(form="regulated"), CorpusOptions(min_freq=1))
    ]
    assert all(re.fullmatch(r"tang-[0-9a-f]{8}\.npz", name) for name in names), names
    assert names[0] != names[1]


def test_rebuild_builds_anew(corpus_copy, tmp_path):
    cache = tmp_path / "cache"
    prepare_corpus(corpus_copy, cache_dir=cache, **QUIET)
    assert prepare_corpus(corpus_copy, cache_dir=cache, **QUIET).stats["cached"]
    assert not prepare_corpus(corpus_copy, cache_dir=cache, rebuild=True, **QUIET).stats["cached"]


def test_another_package_version_rebuilds(corpus_copy, tmp_path, monkeypatch):
    from poetry_rnn.corpus import data

    cache = tmp_path / "cache"
    prepare_corpus(corpus_copy, cache_dir=cache, **QUIET)
    monkeypatch.setattr(data, "__version__", "99.0.0")
    assert not prepare_corpus(corpus_copy, cache_dir=cache, **QUIET).stats["cached"]


def test_changed_option_or_corpus_rebuilds(corpus_copy, tmp_path):
    cache = tmp_path / "cache"
    prepare_corpus(corpus_copy, cache_dir=cache, **QUIET)
    other = CorpusOptions(min_freq=1)
    assert not prepare_corpus(corpus_copy, other, cache, **QUIET).stats["cached"]
    assert prepare_corpus(corpus_copy, other, cache, **QUIET).stats["cached"]
    poem_file = corpus_copy / "全唐诗" / "poet.tang.0.json"
    poems = json.loads(poem_file.read_text(encoding="utf-8"))
    poems[0]["paragraphs"][0] = "千山鳥飛絕，萬徑人蹤滅。"
    poem_file.write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    rebuilt = prepare_corpus(corpus_copy, CorpusOptions(min_freq=1), cache, **QUIET)
    assert not rebuilt.stats["cached"]
    assert any(text.startswith("千山鸟飞绝") for text in rebuilt.texts())


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "deflate"])
def test_damaged_cache_is_detected_and_rebuilt(corpus_copy, tmp_path, damage):
    cache = tmp_path / "cache"
    built = prepare_corpus(corpus_copy, cache_dir=cache, **QUIET)
    path = cache / "tang.npz"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(b"not a zip file at all")
    elif damage == "flip":
        data[len(data) // 3] ^= 0xFF  # inside the token array: the zip CRC catches it
    else:  # the token array's deflate stream opens with a block of a type deflate lacks
        with zipfile.ZipFile(path) as archive:
            member = archive.getinfo("chars.npy")
        # A local file header: 30 bytes, the name's and the extra field's lengths at 26 and 28.
        name, extra = struct.unpack_from("<HH", data, member.header_offset + 26)
        start = member.header_offset + 30 + name + extra
        data[start : start + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    with pytest.raises(PoetryError, match="damaged"):
        load_corpus(path)
    again = prepare_corpus(corpus_copy, cache_dir=cache, **QUIET)
    assert not again.stats["cached"] and np.array_equal(again.chars, built.chars)
    assert load_corpus(path).key == again.key


def test_a_corpus_saved_as_npz_xz_is_smaller_and_loads_the_same(tmp_path):
    corpus = build(include=("tang", "song", "tang300"))
    save_corpus(corpus, tmp_path / "c.npz")
    save_corpus(corpus, tmp_path / "c.npz.xz")
    assert (tmp_path / "c.npz.xz").stat().st_size < (tmp_path / "c.npz").stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz", "c.npz.xz", "c.vocab.json"]
    loaded = load_corpus(tmp_path / "c.npz.xz")
    assert np.array_equal(loaded.chars, corpus.chars) and loaded.texts() == corpus.texts()
    assert (loaded.vocab, loaded.sources, loaded.stats) == (
        corpus.vocab,
        corpus.sources,
        corpus.stats,
    )
    data = (tmp_path / "c.npz.xz").read_bytes()
    (tmp_path / "c.npz.xz").write_bytes(data[: len(data) // 2])
    with pytest.raises(PoetryError, match="damaged"):
        load_corpus(tmp_path / "c.npz.xz")


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        ({"sources": np.array("5")}, "its sources are not a list of collection names"),
        ({"sources": np.array("[]")}, "its sources are not a list of collection names"),
        ({"offsets": "float"}, "its offsets array is not one row of integers"),
        ({"chars": "2-D"}, "its chars array is not one row of integers"),
        ({"maxlen": np.array(0)}, "its maxlen 0 is not between 3 and 8192"),
        ({"stats": np.array("[]")}, "its stats are not an object"),
        ({"chars": "negative"}, "its arrays do not fit together"),
    ],
)
def test_a_prepared_corpus_of_the_wrong_shape_is_refused_when_read(change, fault, tmp_path):
    path = tmp_path / "corpus.npz"
    save_corpus(build(), path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = dict(archive)
    edits = {
        "float": lambda a: a.astype(np.float64),
        "2-D": lambda a: a[None, :],
        "negative": lambda a: np.concatenate([[-1], a[1:]]).astype(np.int32),
    }
    for name, value in change.items():
        arrays[name] = edits[value](arrays[name]) if isinstance(value, str) else value
    np.savez(path, **arrays)
    with pytest.raises(PoetryError) as error:
        load_corpus(path)
    assert str(error.value) == f"damaged prepared corpus {path}: {fault}"


def test_cache_write_leaves_no_temp_files(corpus_copy, tmp_path):
    prepare_corpus(corpus_copy, cache_dir=tmp_path / "cache", **QUIET)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["tang.npz", "tang.vocab.json"]


# --- command line -------------------------------------------------------------------------


def test_cli_prints_a_stats_table(corpus_copy, tmp_path, capsys):
    code, out, _ = run(["--corpus", str(corpus_copy), "--cache-dir", str(tmp_path)], capsys)
    assert code == 0
    labels = ["poems read", "poems kept", "dropped: duplicates", "vocabulary size", "OOV share"]
    labels += ["chars per poem", "form: 七言绝句", "cut by maxlen", "padding: bucketed", "seconds"]
    assert all(label in out for label in labels)


def test_cli_json(corpus_copy, tmp_path, capsys):
    argv = ["--corpus", str(corpus_copy), "--cache-dir", str(tmp_path), "--form", "regulated"]
    code, out, _ = run([*argv, "--json"], capsys)
    stats = json.loads(out)
    assert code == 0
    assert stats["poems_read"] == 40 and 0 < stats["poems_kept"] < 32
    assert stats["dropped"]["duplicates"] == 2 and stats["vocab_size"] > 4


def test_python_dash_m_runs_the_cli(corpus_copy, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "poetry_rnn.data", "--corpus", str(corpus_copy),
         "--cache-dir", str(tmp_path), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["poems_kept"] == 32
    assert "Warning" not in result.stderr


def _bad_json_corpus(tmp_path: Path) -> Path:
    corpus = Path(shutil.copytree(FIXTURE_CORPUS, tmp_path / "bad"))
    (corpus / "全唐诗" / "poet.tang.3000.json").write_text('[{"paragraphs": ["山', encoding="utf-8")
    return corpus


def test_malformed_file_is_named_or_skipped_and_counted(tmp_path, capsys):
    corpus = _bad_json_corpus(tmp_path)
    code, _, err = run(["--corpus", str(corpus), "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 2 and "poet.tang.3000.json" in err and "--skip-bad" in err
    argv = ["--corpus", str(corpus), "--cache-dir", str(tmp_path / "c"), "--skip-bad", "--json"]
    code, out, _ = run(argv, capsys)
    stats = json.loads(out)
    assert code == 0 and len(stats["bad_files"]) == 1 and stats["poems_kept"] == 32


def test_a_library_caller_is_told_of_a_malformed_file_unless_it_asks_to_skip(tmp_path):
    corpus = _bad_json_corpus(tmp_path)
    with pytest.raises(PoetryError, match=r"poet\.tang\.3000\.json"):
        prepare_corpus(corpus, cache_dir=tmp_path / "c", **QUIET)
    skipped = prepare_corpus(corpus, cache_dir=tmp_path / "c", skip_bad=True, **QUIET)
    assert len(skipped.stats["bad_files"]) == 1 and skipped.stats["poems_kept"] == 32


def _read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root ignores permissions; sysfs takes no new files
        return Path("/sys")
    return folder


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "corpus not found"),
        ("empty folder", "no poem files"),
        ("malformed", "malformed poem file"),
        ("filters leave nothing", "no poems left"),
        ("read-only cache", "cannot write"),
        ("bad maxlen", "maxlen must be between 3"),
        ("huge maxlen", "maxlen must be between 3"),
        ("deeply nested", "nested too deeply"),
        ("bad min freq", "min_freq must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, message, tmp_path, capsys):
    corpus, extra, cache = FIXTURE_CORPUS, [], tmp_path / "cache"
    if case == "missing":
        corpus = tmp_path / "nowhere"
    elif case == "empty folder":
        corpus = tmp_path / "empty"
        corpus.mkdir()
    elif case == "malformed":
        corpus = _bad_json_corpus(tmp_path)
    elif case == "filters leave nothing":
        extra = ["--author", "不存在的诗人"]
    elif case == "read-only cache":
        cache = _read_only_folder(tmp_path)
    elif case == "bad maxlen":
        extra = ["--maxlen", "2"]
    elif case == "huge maxlen":
        extra = ["--maxlen", str(2**40)]
    elif case == "deeply nested":
        corpus = tmp_path / "deep.json"
        corpus.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif case == "bad min freq":
        extra = ["--min-freq", "0"]
    code, _, err = run(["--corpus", str(corpus), "--cache-dir", str(cache), *extra], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("split", ["96/4", "nan/1/1", "inf/1/1", "-1/1/1", "0/0/0"])
def test_malformed_option_is_one_line_and_exit_2(split, capsys):
    code, _, err = run(["--corpus", str(FIXTURE_CORPUS), f"--split={split}"], capsys)
    assert code == 2
    assert "expected three shares like 96/2/2" in err and len(err.strip().splitlines()) == 1


def test_written_files_get_the_usual_permissions(corpus_copy, tmp_path):
    prepare_corpus(corpus_copy, cache_dir=tmp_path / "cache", **QUIET)
    mask = os.umask(0)
    os.umask(mask)
    for path in (tmp_path / "cache").iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize(
    ("corpus", "options", "message"),
    [
        (None, {}, "the corpus must be a path, got NoneType"),
        (123, {}, "the corpus must be a path, got int"),
        (b"tests/fixtures/corpus", {}, "the corpus must be a path, got bytes"),
        (FIXTURE_CORPUS, {"cache_dir": 123}, "the cache directory must be a path, got int"),
        (FIXTURE_CORPUS, {"name": 5}, "the corpus's name must be text, got int"),
    ],
)
def test_a_corpus_or_cache_that_is_not_a_path_is_refused(tmp_path, corpus, options, message):
    with pytest.raises(PoetryError) as error:
        prepare_corpus(corpus, **({"cache_dir": tmp_path} | options), **QUIET)
    assert str(error.value) == message
