"""Build the tables of characters taken two by two: the 对仗 pairs, the coherence associations
and the variant characters. ``python -m poetry_rnn.poetics.build_tables`` runs them.

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
:func:`poetry_rnn.poetics.tones.tone_of`). The other tables are built with the package's
``variants.json``: build it first.

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
"""

from __future__ import annotations

import io
import itertools
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from poetry_rnn.forms import form_of
from poetry_rnn.poetics.coherence import FAMILIES
from poetry_rnn.poetics.parallelism import parallel_couplets
from poetry_rnn.poetics.tables import POEMS_SOURCE
from poetry_rnn.text import is_han, split_lines, t2s

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
