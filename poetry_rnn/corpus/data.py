"""The corpus pipeline: chinese-poetry JSON to clean, simplified character sequences.

``prepare_corpus`` reads, cleans, filters, builds the vocabulary, encodes and caches;
``python -m poetry_rnn.data`` (app/data_cli.py) runs it and prints what every step did. A
prepared corpus is one flat stream of character ids with per-poem offsets (compact on disk);
padded batches are made from it in memory, forward or backward, right- or front-padded.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import lzma
import math
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from poetry_rnn import __version__
from poetry_rnn.corpus.batching import (
    LengthBucketedBatches,
    headed_stream,
    padded_rows,
    padding_share,
    textbook_padding_share,
)
from poetry_rnn.corpus.cleaning import clean_texts, clean_title
from poetry_rnn.corpus.sources import (
    COLLECTIONS,
    DEFAULT_INCLUDE,
    collection_of,
    find_poem_files,
    read_corpus,
)
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.files import atomic_writer, user_path
from poetry_rnn.forms import FORMS, form_of
from poetry_rnn.text import han_count, to_simplified, variants

log = logging.getLogger("poetry_rnn.corpus.data")

SPLITS = ("train", "val", "test")
FORM_CHOICES = ("any", "regulated", *FORMS)
DEFAULT_MAXLEN = 256
MAX_MAXLEN = 8192  # tokens per row; far above any poem the collections hold
#: Bump when the cache's layout changes; the package version is part of the key as well, so
#: a release with other cleaning rules rebuilds old caches.
CACHE_FORMAT = 3


@dataclass(frozen=True)
class CorpusOptions:
    """Everything that decides what a prepared corpus holds (and so its cache key)."""

    include: tuple[str, ...] = DEFAULT_INCLUDE
    form: str = "any"
    author: str | None = None
    min_chars: int = 0
    max_chars: int | None = None
    min_freq: int = 2
    maxlen: int = DEFAULT_MAXLEN
    split: tuple[float, float, float] = (0.96, 0.02, 0.02)
    headed: bool = False  # rows are <s> title <sep> poem </s>
    vocab: str | None = None  # encode in this vocabulary (a vocab.json) instead of building one

    def __post_init__(self) -> None:
        if self.form not in FORM_CHOICES:
            choices = ", ".join(FORM_CHOICES)
            raise PoetryError(f"unknown form {self.form!r}; choose one of {choices}")
        for name in ("maxlen", "min_freq", "min_chars", "max_chars"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise PoetryError(f"{name} must be an integer, got {value!r}")
        if not 3 <= self.maxlen <= MAX_MAXLEN:
            raise PoetryError(
                f"maxlen must be between 3 (start, text, end) and {MAX_MAXLEN}, got {self.maxlen}"
            )
        if self.min_freq < 1:
            raise PoetryError(f"min_freq must be at least 1, got {self.min_freq}")
        if self.min_chars < 0 or (self.max_chars is not None and self.max_chars < self.min_chars):
            raise PoetryError("length filter: need 0 <= min_chars <= max_chars")
        shares_ok = len(self.split) == 3 and all(
            isinstance(share, int | float) and math.isfinite(share) and share >= 0
            for share in self.split
        )
        if not shares_ok or abs(sum(self.split) - 1) > 1e-6:
            raise PoetryError(f"split must be three shares that add up to 1, got {self.split}")
        if self.author is not None:
            if not isinstance(self.author, str):
                raise PoetryError(f"author must be a name, got {self.author!r}")
            object.__setattr__(self, "author", to_simplified(self.author.strip()))


@dataclass
class EncodedCorpus:
    """A prepared corpus: every poem's character ids in one flat stream, its title's in
    another, and what made it.

    Where the vocabulary holds ``<sep>`` the rows are headed: ``<s>`` title ``<sep>`` poem
    ``</s>`` (a ci's title is its 词牌); else ``<s>`` poem ``</s>``.
    """

    chars: np.ndarray  # all poems' character ids, end to end (uint16 where the vocab fits)
    offsets: np.ndarray  # (poems + 1,) poem i is chars[offsets[i]:offsets[i + 1]]
    split: np.ndarray  # (poems,) index into SPLITS
    source: np.ndarray  # (poems,) index into ``sources``
    sources: list[str]  # the collections the poems came from, e.g. ["tang", "song"]
    vocab: Vocab
    maxlen: int  # tokens per row at most: start, characters, end; longer poems are cut
    title_chars: np.ndarray  # all titles' character ids, end to end ("" where none)
    title_offsets: np.ndarray  # (poems + 1,) like ``offsets``
    stats: dict = field(default_factory=dict)
    key: str = ""  # the cache key it was built under, see cache_key

    def __post_init__(self) -> None:
        if self.headed:
            sep = self.vocab.sep_id
            self.row_chars, self.row_offsets, self.header = headed_stream(
                self.chars, self.offsets, self.title_chars, self.title_offsets, sep
            )
        else:
            self.row_chars, self.row_offsets = self.chars, self.offsets
            self.header = np.zeros(len(self.split), dtype=np.int64)
        #: Tokens of each row: start, (header,) characters, end (if not cut by maxlen).
        self.lengths = np.minimum(np.diff(self.row_offsets) + 2, self.maxlen).astype(np.int64)

    @property
    def headed(self) -> bool:
        """Whether each row begins with its title and ``<sep>``."""
        return self.vocab.sep_id is not None

    def __len__(self) -> int:
        return len(self.split)

    def indices(self, split: str, source: str | None = None) -> np.ndarray:
        """Row numbers of the poems in ``split`` (train, val or test), of one ``source`` only
        if given."""
        chosen = self.split == SPLITS.index(split)
        if source is not None:
            if source not in self.sources:
                raise PoetryError(
                    f"the corpus has no {source!r} poems; it holds {', '.join(self.sources)}"
                )
            chosen &= self.source == self.sources.index(source)
        return np.flatnonzero(chosen)

    def texts(self, rows: Sequence[int] | np.ndarray | None = None) -> list[str]:
        """The poem texts of ``rows`` (all rows by default), decoded from the ids."""
        return _decoded(self.vocab, self.chars, self.offsets, rows, len(self))

    def titles(self, rows: Sequence[int] | np.ndarray | None = None) -> list[str]:
        """The titles of ``rows`` (all rows by default); "" where a poem has none."""
        return _decoded(self.vocab, self.title_chars, self.title_offsets, rows, len(self))

    def subset(self, rows: np.ndarray) -> EncodedCorpus:
        """The poems of ``rows`` alone, in their order, with this corpus's vocabulary and
        stats."""
        rows = np.asarray(rows, dtype=np.int64)
        chars, offsets = _picked(self.chars, self.offsets, rows)
        title_chars, title_offsets = _picked(self.title_chars, self.title_offsets, rows)
        return EncodedCorpus(
            chars, offsets, self.split[rows], self.source[rows], list(self.sources), self.vocab,
            self.maxlen, title_chars, title_offsets, dict(self.stats), self.key,
        )  # fmt: skip

    def batch(
        self,
        rows: np.ndarray,
        direction: str = "forward",
        padding: str = "right",
        width: int | None = None,
    ) -> np.ndarray:
        """The rows as one int64 array, see :func:`padded_rows`."""
        return padded_rows(
            self.row_chars, self.row_offsets, rows, self.vocab, self.maxlen, direction, padding,
            width,
        )  # fmt: skip


def _picked(
    chars: np.ndarray, offsets: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The stretches ``rows`` of a stream, end to end, and their offsets."""
    counts = offsets[rows + 1] - offsets[rows]
    picked = np.repeat(offsets[rows] - np.cumsum(counts) + counts, counts)
    return (
        chars[picked + np.arange(int(counts.sum()))],
        np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
    )


def _decoded(
    vocab: Vocab, chars: np.ndarray, offsets: np.ndarray, rows: object, count: int
) -> list[str]:
    rows = range(count) if rows is None else rows
    return [vocab.decode(chars[offsets[r] : offsets[r + 1]].tolist()) for r in rows]


# --- splitting, filtering, encoding -------------------------------------------------------


def split_of(text: str, shares: tuple[float, float, float] = (0.96, 0.02, 0.02)) -> int:
    """The split (index into SPLITS) of a poem, from a hash of its text alone.

    A poem keeps its split however the corpus around it grows or shrinks.
    """
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    position = int.from_bytes(digest, "big") / 2**64
    return 0 if position < shares[0] else 1 if position < shares[0] + shares[1] else 2


def keep_form(text: str, form: str) -> bool:
    """True if ``text`` has ``form``: a form name, "regulated" (any fixed form) or "any"."""
    if form == "any":
        return True
    found = form_of(text)
    return found is not None and (form == "regulated" or found.name == form)


def filter_poems(
    authors: Sequence[str], texts: Sequence[str], options: CorpusOptions
) -> tuple[list[int], dict[str, int]]:
    """Indices of the poems the form, author and length filters keep, and counts of the rest."""
    filtered = {"form": 0, "author": 0, "length": 0}
    kept = []
    for index, (author, text) in enumerate(zip(authors, texts, strict=True)):
        chars = han_count(text)
        if not keep_form(text, options.form):
            filtered["form"] += 1
        elif options.author is not None and author != options.author:
            filtered["author"] += 1
        elif chars < options.min_chars or (
            options.max_chars is not None and chars > options.max_chars
        ):
            filtered["length"] += 1
        else:
            kept.append(index)
    return kept, filtered


def encode_poems(texts: Sequence[str], vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """The character ids of ``texts`` as one flat stream, and the offsets where each begins
    (with the stream's end last)."""
    dtype = np.uint16 if len(vocab) <= np.iinfo(np.uint16).max + 1 else np.int32
    offsets = np.concatenate(([0], np.cumsum([len(text) for text in texts]))).astype(np.int64)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype="<u4")
    distinct, inverse = np.unique(codes, return_inverse=True)
    id_of_distinct = np.array([vocab.index.get(chr(c), vocab.unk_id) for c in distinct], dtype)
    return id_of_distinct[inverse].astype(dtype), offsets


# --- building and caching -----------------------------------------------------------------


def cache_key(files: Sequence[Path], options: CorpusOptions) -> str:
    """A hash of the input files' names and contents, of every option and of the variant table
    the cleaning simplifies with."""
    digest = hashlib.blake2b(digest_size=16)
    header = [CACHE_FORMAT, __version__, asdict(options), variants()]
    digest.update(json.dumps(header, ensure_ascii=False).encode())
    for path in [*files, *([Path(options.vocab)] if options.vocab else [])]:
        digest.update(path.name.encode())
        digest.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
    return digest.hexdigest()


def build_corpus(
    corpus: str | Path,
    options: CorpusOptions,
    skip_bad: bool = False,
    progress: bool = True,
) -> EncodedCorpus:
    """Read, clean, filter, split, build the vocabulary (on train) and encode ``corpus``."""
    poems, files, bad = read_corpus(corpus, options.include, skip_bad, progress)
    cleaned_index, texts, report = clean_texts(poem.text for poem in poems)
    authors = [to_simplified(poems[i].author) for i in cleaned_index]
    kept, filtered = filter_poems(authors, texts, options)
    texts = [texts[i] for i in kept]
    titles = [clean_title(poems[cleaned_index[i]].title) for i in kept]
    sources = sorted({poems[cleaned_index[i]].source for i in kept}, key=_collection_order)
    source = np.array([sources.index(poems[cleaned_index[i]].source) for i in kept], dtype=np.uint8)
    if not texts:
        raise PoetryError(
            f"no poems left after cleaning and filters ({len(poems)} read; filtered {filtered})"
        )
    split = np.array([split_of(text, options.split) for text in texts], dtype=np.uint8)
    train_texts = [text for text, part in zip(texts, split, strict=True) if part == 0]
    if options.vocab is not None:
        vocab = Vocab.load(options.vocab)
        vocab = vocab.with_sep() if options.headed else vocab
    else:
        # A headed model reads titles too: their characters count towards the vocabulary.
        heads = [t for t, part in zip(titles, split, strict=True) if part == 0 and options.headed]
        vocab = Vocab.build([*(train_texts or texts), *heads], options.min_freq, options.headed)
    chars, offsets = encode_poems(texts, vocab)
    title_chars, title_offsets = encode_poems(titles, vocab)
    char_counts = np.diff(offsets)
    lengths = np.minimum(char_counts + 2, options.maxlen)
    char_frequency = Counter("".join(texts))
    oov = sum(n for char, n in char_frequency.items() if char not in vocab.index)
    bucketed = LengthBucketedBatches(lengths, batch_size=128, seed=0)
    forms = Counter((form.name if (form := form_of(text)) else "other") for text in texts)
    stats = {
        "corpus": str(corpus),
        "files": len(files),
        "bad_files": [str(path) for path in bad],
        "poems_read": len(poems),
        "poems_cleaned": len(cleaned_index),
        "poems_kept": len(texts),
        "sources": {name: int((source == i).sum()) for i, name in enumerate(sources)},
        "changed": report.changed,
        "dropped": report.dropped,
        "filtered": filtered,
        "titled": sum(map(bool, titles)),
        "vocab_size": len(vocab),
        "min_freq": options.min_freq,
        "oov_share": oov / int(char_counts.sum()),
        "chars_per_poem": {f"p{q}": int(np.percentile(char_counts, q)) for q in (50, 90, 99)}
        | {"max": int(char_counts.max())},
        "forms": {name: forms.get(name, 0) for name in [*FORMS, "other"]},
        "maxlen": options.maxlen,
        "cut_by_maxlen": int((char_counts + 2 > options.maxlen).sum()),
        "split": {name: int((split == i).sum()) for i, name in enumerate(SPLITS)},
        "padding_share": {
            "textbook_125": textbook_padding_share(char_counts),
            "bucketed_128": padding_share(lengths, list(bucketed)),
        },
    }
    return EncodedCorpus(
        chars, offsets, split, source, sources, vocab, options.maxlen, title_chars, title_offsets,
        stats,
    )  # fmt: skip


def _collection_order(name: str) -> int:
    """Collections in the order COLLECTIONS lists them, anything else after."""
    return list(COLLECTIONS).index(name) if name in COLLECTIONS else len(COLLECTIONS)


def save_corpus(corpus: EncodedCorpus, path: str | Path) -> None:
    """Write ``corpus`` as one compressed ``.npz`` (no pickles) plus its vocabulary as JSON,
    atomically. A path ending in ``.npz.xz`` is compressed harder (xz over the whole archive,
    about a quarter smaller and slower to write): the copy that travels to a GPU machine."""
    path = Path(path)
    xz = path.name.endswith(".xz")
    buffer = io.BytesIO()
    (np.savez if xz else np.savez_compressed)(
        buffer,
        chars=corpus.chars,
        offsets=corpus.offsets,
        split=corpus.split,
        source=corpus.source,
        sources=np.array(json.dumps(corpus.sources)),
        vocab=np.array(corpus.vocab.to_json()),
        maxlen=np.array(corpus.maxlen),
        title_chars=corpus.title_chars,
        title_offsets=corpus.title_offsets,
        stats=np.array(json.dumps(corpus.stats, ensure_ascii=False)),
        key=np.array(corpus.key),
    )
    with atomic_writer(path) as file:
        file.write(lzma.compress(buffer.getvalue()) if xz else buffer.getbuffer())
    corpus.vocab.save(Path(str(path).removesuffix(".xz")).with_suffix(".vocab.json"))


#: What reading a damaged prepared corpus raises.
_UNREADABLE = (
    OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile,
    lzma.LZMAError, zlib.error,
)  # fmt: skip


def load_corpus(path: str | Path) -> EncodedCorpus:
    """Read a corpus written by :func:`save_corpus`; :class:`PoetryError` if missing or damaged."""
    user_path(path, "the prepared corpus")
    try:
        stored = Path(path).read_bytes()
        if str(path).endswith(".xz"):
            stored = lzma.decompress(stored)
        with np.load(io.BytesIO(stored), allow_pickle=False) as archive:
            corpus = EncodedCorpus(
                chars=archive["chars"],
                offsets=archive["offsets"],
                split=archive["split"],
                source=archive["source"],
                sources=json.loads(str(archive["sources"])),
                vocab=Vocab.from_json(str(archive["vocab"])),
                maxlen=int(archive["maxlen"]),
                title_chars=archive["title_chars"],
                title_offsets=archive["title_offsets"],
                stats=json.loads(str(archive["stats"])),
                key=str(archive["key"]),
            )
    except FileNotFoundError:
        raise PoetryError(f"prepared corpus not found: {path}") from None
    except _UNREADABLE as error:
        raise PoetryError(f"damaged prepared corpus {path}: {error}") from error
    fault = _fault(corpus)
    if fault:
        raise PoetryError(f"damaged prepared corpus {path}: {fault}")
    return corpus


def _fault(corpus: EncodedCorpus) -> str:
    """What makes a corpus read from a file unfit to train on; "" where nothing does."""
    arrays = {"chars": corpus.chars, "offsets": corpus.offsets, "split": corpus.split,
              "source": corpus.source, "title_chars": corpus.title_chars,
              "title_offsets": corpus.title_offsets}  # fmt: skip
    for name, array in arrays.items():
        if array.ndim != 1 or array.dtype.kind not in "iu":
            return f"its {name} array is not one row of integers"
    sources = corpus.sources
    if not (isinstance(sources, list) and sources and all(isinstance(s, str) for s in sources)):
        return "its sources are not a list of collection names"
    if not 3 <= corpus.maxlen <= MAX_MAXLEN:
        return f"its maxlen {corpus.maxlen} is not between 3 and {MAX_MAXLEN}"
    if not isinstance(corpus.stats, dict):
        return "its stats are not an object"
    poems, offsets = len(corpus.split), corpus.offsets
    fits = (
        offsets.shape == (poems + 1,)
        and len(corpus.source) == poems
        and poems > 0
        and offsets[0] == 0
        and offsets[-1] == len(corpus.chars)
        and bool((np.diff(offsets) >= 0).all())
        and int(corpus.chars.min(initial=0)) >= 0
        and corpus.title_offsets.shape == (poems + 1,)
        and corpus.title_offsets[0] == 0
        and corpus.title_offsets[-1] == len(corpus.title_chars)
        and bool((np.diff(corpus.title_offsets) >= 0).all())
        and int(corpus.title_chars.max(initial=0)) < len(corpus.vocab)
        and int(corpus.chars.max(initial=0)) < len(corpus.vocab)
        and int(corpus.source.max(initial=0)) < len(corpus.sources)
        and int(corpus.split.max(initial=0)) < len(SPLITS)
    )
    return "" if fits else "its arrays do not fit together"


def default_cache_name(corpus: str | Path, files: Sequence[Path], options: CorpusOptions) -> str:
    """The cache's file name stem: the collections read (``tang``, ``tang+song``), or the
    corpus file's or folder's name outside them, followed by a hash of the options where they
    are not the defaults, so that a filtered corpus never takes the full one's name."""
    found = {collection_of(path) for path in files}
    if "other" in found:
        stem = Path(corpus).stem
    else:
        stem = "+".join(name for name in COLLECTIONS if name in found)
    if options == CorpusOptions(include=options.include):
        return stem
    digest = hashlib.blake2b(_options_json(options).encode(), digest_size=4).hexdigest()
    return f"{stem}-{digest}"


def _options_json(options: CorpusOptions) -> str:
    return json.dumps(asdict(options), ensure_ascii=False, sort_keys=True)


def prepare_corpus(
    corpus: str | Path,
    options: CorpusOptions | None = None,
    cache_dir: str | Path = "data",
    name: str | None = None,
    rebuild: bool = False,
    skip_bad: bool = False,
    progress: bool = True,
) -> EncodedCorpus:
    """The encoded corpus from ``cache_dir/<name>.npz`` if it was built from the same input
    files and options, else built anew and cached.

    A damaged cache, or one built from other files or by another version, is rebuilt; a cache
    of the same name built with other options is refused unless ``rebuild``.
    """
    started = time.perf_counter()
    options = options or CorpusOptions()
    files = find_poem_files(corpus, options.include)
    key = cache_key(files, options)
    if name is not None and not isinstance(name, str):
        raise PoetryError(f"the corpus's name must be text, got {type(name).__name__}")
    name = name or default_cache_name(corpus, files, options)
    path = user_path(user_path(cache_dir, "the cache directory") / f"{name}.npz", "the cache")
    cached = None
    if path.exists() and not rebuild:
        try:
            cached = load_corpus(path)
        except PoetryError as error:
            log.warning("%s; rebuilding it", error)
        if cached is not None and cached.stats.get("options") != _options_json(options):
            raise PoetryError(
                f"{path} holds a corpus prepared with other options; "
                "give another --name, or --rebuild to replace it"
            )
        if cached is not None and cached.key != key:
            log.info("%s was built from other files or by another version; rebuilding it", path)
            cached = None
    if cached is None:
        result = build_corpus(corpus, options, skip_bad, progress)
        result.key = key
        result.stats["options"] = _options_json(options)
        save_corpus(result, path)
        log.info("wrote %s", path)
    else:
        result = cached
        log.info("loaded %s", path)
    result.stats |= {"cache": str(path), "cached": cached is not None}
    result.stats["seconds"] = round(time.perf_counter() - started, 3)
    return result
