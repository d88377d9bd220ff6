"""The decoding loop's parts, pinned one by one on a vocabulary small enough to read: what it
knows of each token, the 对仗 bonus, and the backward model's score of a poem.

Each test builds its own composer, so every test checks what the loop builds (a composer shared
by a module's tests is built once, in the first of them).
"""

import itertools
from types import SimpleNamespace

import pytest
import torch
from conftest import favouring

from poetry_rnn.corpus.vocab import SPECIALS, Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import FORMS, join_lines
from poetry_rnn.model.charrnn import CharRNN, ModelConfig
from poetry_rnn.poetics.coherence import coherence
from poetry_rnn.poetics.parallelism import pair_score
from poetry_rnn.poetics.repeats import repeated_chars, unattested_doubles
from poetry_rnn.poetics.rhymes import rhyming_groups, shared_rhymes
from poetry_rnn.poetics.tones import OBLIQUE, tone_of
from poetry_rnn.text import split_lines
from poetry_rnn.writing import decoding
from poetry_rnn.writing.batch import PARALLEL_WEIGHT
from poetry_rnn.writing.constraints import VocabTables
from poetry_rnn.writing.decoding import Composer
from poetry_rnn.writing.plans import MAX_SEARCH_ROWS, Plan, Search, _lines, form_plan
from poetry_rnn.writing.sampling import Sampling

CHARS = "天月看悠水山地风花云光霜乡阳"  # 光霜乡阳: 下平七阳, enough to rhyme a 律诗
VOCAB = Vocab([*SPECIALS, "，", "。", "？", "；", *CHARS])


def members(mask: torch.Tensor) -> str:
    return members_of(VOCAB, mask)


def members_of(vocab: Vocab, mask: torch.Tensor) -> str:
    return "".join(
        token for token, member in zip(vocab.tokens, mask.tolist(), strict=True) if member
    )


def model(direction: str = "forward") -> CharRNN:
    torch.manual_seed(0)
    config = ModelConfig(len(VOCAB), 8, 8, 1, direction=direction)
    return CharRNN(config).eval()


def test_what_the_loop_knows_of_each_token():
    tables = VocabTables(VOCAB)
    assert members(tables.han) == CHARS
    assert members(tables.level) == "天悠山风花云光霜乡阳"
    assert members(tables.oblique) == "月水地"  # 看 is either
    assert members(tables.punctuation) == "，。？；"
    assert members(tables.final) == "。？"  # the marks a poem may end with
    assert members(tables.end) == "</s>"
    assert members(tables.doubles_ok) == "看悠山云"  # 看看 悠悠 山山 云云 are attested


@pytest.mark.parametrize("char", CHARS)
def test_the_parallel_bonus_of_a_token_is_its_pair_score_with_each_other(char):
    bonus = VocabTables(VOCAB).pair_bonus(torch.tensor([VOCAB.index[char]]))[0]
    expected = [pair_score(char, token) for token in VOCAB.tokens]
    assert bonus.tolist() == pytest.approx(expected)
    assert (bonus.sum() > 0) == (char not in "看悠")  # the table pairs 看 and 悠 with none here


def test_a_fresh_composer_writes_free_poems_by_the_rules():
    # An untrained model: the rules alone keep lines whole and the poem ending on a final mark.
    texts = Composer(model(), VOCAB).decode(Plan(), 16, Sampling(), seed=1)
    for text in texts:
        assert text[-1] in "。？", text
        marks = [a in "，。？；" and b in "，。？；" for a, b in itertools.pairwise(text)]
        assert not any(marks), text
        assert text[0] not in "，。？；" and unattested_doubles(text) == [], text


def test_a_fresh_composer_writes_a_form_by_the_rules():
    form = FORMS["五言律诗"]
    plan = form_plan(form, {}, search=None)
    for text in Composer(model(), VOCAB).decode(plan, 16, Sampling(), seed=2):
        lines = split_lines(text)
        rhymes = [lines[i][-1] for i in (1, 3, 5, 7)]
        assert sorted(rhymes) == sorted("光霜乡阳"), text  # level, one group, none twice


def test_the_backward_score_reads_each_poem_from_its_end(monkeypatch):
    backward = model("backward")
    composer = Composer(model(), VOCAB, backward=backward)
    texts = ["山水天，月花云。", "天天山，水月风。", "云山月，花水地。"]

    def read_from_the_end(text: str) -> float:
        """<s>, the characters last to first, </s>: one model step a token."""
        ids = VOCAB.encode(text[::-1], wrap=True)
        total, state = 0.0, None
        for token, following in itertools.pairwise(ids):
            logits, state = backward.step(torch.tensor([token]), state)
            total += float(logits[0].log_softmax(-1)[following])
        return total

    with torch.inference_mode():
        expected = [read_from_the_end(text) for text in texts]
        passes = []
        forward = backward.forward
        monkeypatch.setattr(
            backward, "forward", lambda ids: passes.append(len(ids)) or forward(ids)
        )
        assert composer._backward_loglik(texts).tolist() == pytest.approx(expected, abs=1e-4)
        monkeypatch.setattr(decoding, "BACKWARD_TOKENS", 10)  # one poem (10 tokens) a pass
        assert composer._backward_loglik(texts).tolist() == pytest.approx(expected, abs=1e-4)
        monkeypatch.setattr(decoding, "BACKWARD_TOKENS", 25)  # two
        assert composer._backward_loglik(texts).tolist() == pytest.approx(expected, abs=1e-4)
    assert passes == [3, 1, 1, 1, 2, 1]


def test_whole_line_search_takes_a_line_a_step():
    slots = form_plan(FORMS["五言绝句"], {}).slots
    lines = _lines(slots)
    assert [len(line) for line in lines] == [6, 6, 6, 7]  # 5 characters and a mark; the end
    assert [{slot.line for slot in line} for line in lines] == [{0}, {1}, {2}, {3, -1}]


def test_a_backward_model_of_weight_0_leaves_the_search_as_it_was():
    plan = form_plan(FORMS["五言绝句"], {})
    alone = Composer(model(), VOCAB).decode(plan, 4, Sampling(), seed=3)
    weighed = Composer(model(), VOCAB, backward=model("backward"), backward_weight=0.0)
    assert weighed.decode(plan, 4, Sampling(), seed=3) == alone


def test_a_poems_search_score_adds_the_pair_scores_of_its_finished_middle_couplets():
    lines = ["天月看悠水", "山地风花云", "光霜乡阳天", "月水山地风"]
    lines += ["花云光霜乡", "阳天月看悠", "水山地风花", "云光霜乡阳"]
    texts = [join_lines(lines), join_lines(lines[:4]), join_lines(lines[:3])]
    loglik = torch.tensor([-10.0, -20.0, -30.0])
    composer = Composer(model(), VOCAB)

    def pairs(first: int) -> float:  # a couplet's summed pair scores, position by position
        return sum(pair_score(a, b) for a, b in zip(lines[first], lines[first + 1], strict=True))

    # The coherence and repetition terms apart.
    plan = form_plan(FORMS["五言律诗"], {}, coherence=0, repeat_penalty=0)
    score = composer._score(plan, SimpleNamespace(loglik=loglik), texts)
    # 颔联 (lines 3-4) and 颈联 (5-6) once finished; a first couplet never counts.
    weight = PARALLEL_WEIGHT
    expected = [-10.0 + weight * (pairs(2) + pairs(4)), -20.0 + weight * pairs(2), -30.0]
    assert pairs(2) > 0 and pairs(4) > 0
    assert score.tolist() == pytest.approx(expected)
    for plan in (
        form_plan(FORMS["五言律诗"], {}, parallel=False, coherence=0, repeat_penalty=0),
        form_plan(FORMS["五言绝句"], {}, coherence=0, repeat_penalty=0),
    ):
        quatrains = [join_lines(lines[:4])] * 3
        assert composer._score(plan, SimpleNamespace(loglik=loglik), quatrains).tolist() == [
            -10.0,
            -20.0,
            -30.0,
        ]


def test_a_search_may_decode_up_to_its_row_limit_at_once():
    assert MAX_SEARCH_ROWS == 2048 == 32 * 64
    assert Search(32, 64).rows == 2048  # at the limit
    with pytest.raises(PoetryError, match="must be at most 2048, got 33 × 64"):
        Search(33, 64)


def test_no_character_comes_more_than_twice_however_favoured():
    # 20 characters from 14, each at most twice: the rule never has to give way here.
    bias = {line: {"天": 20.0} for line in range(4)}
    plan = form_plan(FORMS["五言绝句"], {}, bias=bias, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    assert [text.count("天") for text in texts] == [2] * 8, texts


@pytest.mark.parametrize("search", [None, Search(2, 8)])
def test_no_character_comes_twice_in_a_line_however_favoured(search):
    bias = {0: {"天": 20.0, "月": 10.0}, 1: {"天": 20.0}}
    plan = form_plan(FORMS["五言绝句"], {}, bias=bias, search=search)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    for text in texts:
        first, second = split_lines(text)[:2]
        assert first.count("天") == first.count("月") == second.count("天") == 1, text


def test_a_character_fixed_later_in_a_line_is_in_it_from_the_start():
    plan = form_plan(FORMS["五言绝句"], {(0, 5): "天"}, bias={0: {"天": 20.0}}, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    assert [split_lines(text)[0].count("天") for text in texts] == [1] * 8, texts


def test_in_free_writing_the_start_is_in_its_line_too():
    plan = Plan(context="天月", bias={-1: {"天": 20.0, "月": 20.0}})
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    for text in texts:
        assert text.startswith("天月"), text
        assert all(line.count("天") <= 1 and line.count("月") <= 1 for line in split_lines(text))


#: Enough characters that a 五言绝句 need say none again.
MORE = "春秋草木林江河湖海雨雪烟人心情梦书酒楼台门马车舟城村日夜"
MANY = Vocab([*SPECIALS, "，", "。", "？", *CHARS, *MORE])


def repeats_of(plan: Plan, model: CharRNN) -> list[list[str]]:
    """The characters each of 16 poems of ``plan`` says again."""
    return [repeated_chars(text) for text in Composer(model, MANY).decode(plan, 16, Sampling(), 4)]


@pytest.mark.parametrize("search", [None, Search()])
def test_the_repeat_penalty_keeps_a_poem_from_saying_a_character_again(search):
    # An untrained model says characters again as often as not, and loves 山 besides.
    torch.manual_seed(0)
    net = favouring("山", MANY, bias=2.0)
    off, on = (
        repeats_of(form_plan(FORMS["五言绝句"], {}, search=search, repeat_penalty=penalty), net)
        for penalty in (0.0, 1.0)
    )
    assert sum(map(len, on)) < sum(map(len, off)) / 2, (off, on)
    # Either way 山 at most twice (the rule gives way to the rhyme alone: 村 might come thrice).
    assert all(again.count("山") <= 1 for again in off + on)


def test_a_loved_character_comes_again_less_often_the_heavier_the_penalty():
    torch.manual_seed(0)
    net = favouring("山", MANY, bias=2.0)
    said_again = [
        sum(again.count("山") for again in repeats_of(plan, net))
        for plan in (
            form_plan(FORMS["五言绝句"], {}, search=None, repeat_penalty=penalty)
            for penalty in (0.0, 1.0, 5.0)
        )
    ]
    assert said_again[0] > said_again[1] > said_again[2] and said_again[0] <= 16, said_again


def test_without_the_penalty_a_loved_character_comes_as_often_as_the_rule_lets_it():
    # As before the penalty was: twice in every poem, no more.
    torch.manual_seed(0)
    plan = form_plan(FORMS["五言绝句"], {}, search=None, repeat_penalty=0.0)
    texts = Composer(favouring("山", MANY, bias=5.0), MANY).decode(plan, 16, Sampling(), 4)
    assert [text.count("山") for text in texts] == [2] * 16, texts


@pytest.mark.parametrize("search", [None, Search()])
def test_a_character_the_users_text_repeats_is_not_penalized(search):
    # 山 is the user's (their text says it twice): it comes wherever the model wants it, however
    # heavy the penalty on the other characters.
    torch.manual_seed(0)
    net = favouring("山", MANY)
    counts = [
        [text.count("山") for text in Composer(net, MANY).decode(plan, 8, Sampling(), 4)]
        for plan in (
            form_plan(FORMS["五言绝句"], {}, search=search, repeat_ok=frozenset("山"),
                      repeat_penalty=penalty)
            for penalty in (0.0, 10.0)
        )
    ]  # fmt: skip
    assert counts[0] == counts[1] and min(counts[1]) > 2, counts


def test_an_attested_doubling_is_the_one_way_a_character_comes_twice_in_a_line():
    plan = form_plan(FORMS["五言绝句"], {}, bias={0: {"悠": 20.0}}, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    assert all("悠悠" in split_lines(text)[0] for text in texts), texts


@pytest.mark.parametrize(("form", "openings"), [("五言绝句", "光霜乡阳"), ("七言律诗", "月水地")])
def test_a_close_of_the_first_line_that_may_be_read_level_rhymes_with_the_poem(form, openings):
    # 天 is level and of no group that 光霜乡阳 rhyme in: it may close the first line only if
    # the poem rhymes in a group of its own, which the toy vocabulary cannot fill; 看, of either
    # tone, neither. A 律诗 needs all four of 光霜乡阳 for its rhymes: its first line may not
    # take one, and ends 仄 (月水地). The line is fixed but for its close, which the bias courts.
    head = "山云花风悠地"[: FORMS[form].chars - 1]
    fixed = {(0, p): c for p, c in enumerate(head, start=1)}
    bias = {0: {"天": 30.0, "看": 30.0, "光": 5.0}}
    plan = form_plan(FORMS[form], fixed, bias=bias, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    for text in texts:
        lines = split_lines(text)
        rhymes = [lines[i][-1] for i in range(1, len(lines), 2)]
        opening = lines[0][-1]
        if tone_of(opening) != OBLIQUE:
            assert shared_rhymes([opening, *rhymes], "pingshui"), text
            assert opening not in rhymes, text
    closes = {split_lines(text)[0][-1] for text in texts}
    assert closes & set("光霜乡阳") if form == "五言绝句" else closes <= set(openings), texts


def test_a_fixed_level_close_of_the_first_line_sets_the_rhyme():
    plan = form_plan(FORMS["五言绝句"], {(0, 5): "光"}, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    assert all(split_lines(text)[1][-1] in "霜乡阳" for text in texts), texts


def test_an_oblique_close_of_the_first_line_leaves_the_rhyme_free():
    plan = form_plan(FORMS["五言绝句"], {(0, 5): "月"}, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 16, Sampling(), seed=4)
    assert len({split_lines(text)[1][-1] for text in texts}) > 1, texts


def test_a_free_poem_that_never_ends_itself_stops_at_the_length_limit():
    # With 。 and ？ all but barred the poem cannot end on a final mark, so the loop ends it.
    plan = Plan(bias={-1: {"。": -100.0, "？": -100.0}})
    texts = Composer(model(), VOCAB).decode(plan, 4, Sampling(), seed=5)
    assert [len(text) for text in texts] == [decoding.MAX_FREE_CHARS] * 4, texts


def test_a_search_gives_n_distinct_poems_each_scored_by_its_likelihood_per_token():
    # Without coherence, 对仗 (a 绝句 has no middle couplet) or a backward model, a poem's score
    # is its log-likelihood under the model, read token by token, less w_repeat for each
    # character it says again (prosody.repeated_chars), over its tokens.
    net = model()
    search = Search(2, 8)
    for penalty in (0.0, 2.0):
        plan = form_plan(FORMS["五言绝句"], {}, coherence=0, search=search, repeat_penalty=penalty)
        scored = Composer(net, VOCAB).decode_scored(plan, 4, Sampling(), seed=6)
        assert len({text for text, _ in scored}) == 4  # 4 beams kept, every one of them given
        for text, score in scored:
            ids = torch.tensor(VOCAB.encode(text, wrap=True))  # <s>, the poem, </s>
            with torch.inference_mode():
                logits, _ = net(ids[None, :-1])
            loglik = logits[0].log_softmax(-1).gather(1, ids[1:, None]).sum()
            said_again = len(repeated_chars(text))  # 14 characters for 20: some, always
            expected = float(loglik) - plan.repeat_weight * said_again
            assert said_again and score == pytest.approx(expected / (len(ids) - 1), abs=1e-5)
    assert [score for _, score in scored] == sorted((s for _, s in scored), reverse=True)


def test_a_line_the_plan_fixes_whole_is_decoded_once_a_kept_poem():
    # Revising a poem that keeps its first two lines: candidates are sampled for lines 3 and 4
    # only; the kept lines, fixed whole, take one row a kept poem (here the one poem so far).
    net = model()
    rows = []
    step = net.step
    net.step = lambda token, state=None: rows.append(len(token)) or step(token, state)
    fixed = {(line, p): c for line, text in enumerate(["天山风月花", "云水地光霜"])
             for p, c in enumerate(text, start=1)}  # fmt: skip
    plan = form_plan(FORMS["五言绝句"], fixed, search=Search(2, 8))
    texts = Composer(net, VOCAB).decode(plan, 1, Sampling(), seed=7)
    assert all(text.startswith("天山风月花，云水地光霜。") for text in texts)
    # <s> and the two kept lines (5 characters and a mark each) in one row; then lines 3 and 4
    # in 2 beams × 8 candidates, all continuing the one poem kept so far.
    assert rows == [1] * (1 + 12) + [16] * 12
    # Keeping the last two lines instead: lines 1 and 2 in 16 rows, then the kept lines and the
    # end in one row for each of the 2 poems kept.
    rows.clear()
    fixed = {(line + 2, p): c for (line, p), c in fixed.items()}
    plan = form_plan(FORMS["五言绝句"], fixed, search=Search(2, 8))
    texts = Composer(net, VOCAB).decode(plan, 1, Sampling(), seed=7)
    assert all(text.endswith("天山风月花，云水地光霜。") for text in texts)
    assert rows == [1] + [16] * 12 + [2] * 12
    # Two poems: two searches side by side, each with its own rows.
    rows.clear()
    assert len(set(Composer(net, VOCAB).decode(plan, 2, Sampling(), seed=7))) == 2
    assert rows == [1] + [32] * 12 + [4] * 12


def test_the_poems_of_a_call_differ_where_their_searches_kept_another():
    # All fixed but line 2's first character, which the model favours to be 地: every search
    # keeps the poem with 地 first and another after it. The second poem is its search's other.
    lines = ["天山风月花", "_水看光霜", "花月看山水", "悠云天地阳"]
    fixed = {(line, p): c for line, text in enumerate(lines)
             for p, c in enumerate(text, start=1) if c != "_"}  # fmt: skip
    net = model()
    with torch.no_grad():
        net.decoder.bias[VOCAB.index["地"]] = 3.0
    plan = form_plan(FORMS["五言绝句"], fixed, search=Search(2, 8))
    scored = Composer(net, VOCAB).decode_scored(plan, 2, Sampling(top_p=1.0), seed=3)
    (first, best), (second, other) = scored
    assert split_lines(first)[1] == "地水看光霜" and split_lines(second)[1][0] != "地"
    assert best > other
    # With nothing left open, every search writes the one poem, and the poems repeat it.
    fixed[(1, 1)] = "地"
    plan = form_plan(FORMS["五言绝句"], fixed, search=Search(2, 8))
    repeated = Composer(net, VOCAB).decode(plan, 3, Sampling(), seed=3)
    assert len(repeated) == 3 and len(set(repeated)) == 1


def test_a_poems_search_score_adds_its_coherence_times_its_characters():
    texts = ["天山风月花，云水地光霜。花月看山水，悠云天地阳。", "天天天天天，天天天天天。"]
    texts[1] += texts[1]  # one character throughout: no pair of different characters
    tokens = torch.tensor([VOCAB.encode(text) for text in texts])
    poems = SimpleNamespace(loglik=torch.tensor([-10.0, -20.0]), tokens=tokens)
    plan = form_plan(FORMS["五言绝句"], {}, coherence=1.5, repeat_penalty=0)
    score = Composer(model(), VOCAB)._score(plan, poems, texts)
    assert coherence(texts[0]) > 0.05  # the poem's own, read apart from the search
    assert score.tolist() == pytest.approx([-10.0 + 1.5 * 20 * coherence(texts[0]), -20.0])


def test_the_search_keeps_each_texts_best_row_best_first():
    texts = ["天", "月", "天", "山", "月"]
    score = [1.0, 3.0, 5.0, 2.0, 3.0]
    # 天 at its best (row 2, 5.0), 月 (row 1; row 4 ties it, and comes later), 山 (row 3).
    clear, rows = [False] * 5, range(5)
    assert decoding._best_distinct(rows, texts, score, clear, 5) == [2, 1, 3]
    assert decoding._best_distinct(rows, texts, score, clear, 2) == [2, 1]
    assert decoding._best_distinct(rows, texts, score, clear, 1) == [2]
    # One search's rows among others': 月 at its row 4, then 山.
    assert decoding._best_distinct([3, 4], texts, score, clear, 5) == [4, 3]


def test_the_search_keeps_a_clashing_poem_only_after_every_other():
    texts = ["天", "月", "天", "山", "月"]
    score = [1.0, 3.0, 5.0, 2.0, 3.0]
    clashing = [False, True, True, False, False]
    # 天's best row clashes, so its clear row 0 stands for it; 月's clear row 4 for 月.
    assert decoding._best_distinct(range(5), texts, score, clashing, 5) == [4, 3, 0]
    assert decoding._best_distinct(range(5), texts, score, clashing, 2) == [4, 3]
    # Where every row clashes, the score alone decides.
    assert decoding._best_distinct(range(5), texts, score, [True] * 5, 5) == [2, 1, 3]


@pytest.mark.parametrize("weight", [1.0, 0.0])
def test_where_coherence_is_on_the_search_writes_no_clash_it_can_avoid(monkeypatch, weight):
    # A stand-in clash: any poem holding 风. The search avoids it wherever a candidate line
    # can; where coherence is off, clashes are not looked for.
    plan = form_plan(FORMS["五言绝句"], {}, coherence=weight, search=Search(2, 8))
    composer = Composer(model(), VOCAB)
    monkeypatch.setattr(decoding, "clashes", lambda text: None)
    before = composer.decode(plan, 2, Sampling(), seed=8)
    assert any("风" in text for text in before)  # the model writes 风 of itself
    monkeypatch.setattr(decoding, "clashes", lambda text: "春/秋" if "风" in text else None)
    after = composer.decode(plan, 2, Sampling(), seed=8)
    if weight:
        assert not any("风" in text for text in after), after
    else:
        assert after == before
    # Where every poem clashes (a user's own text may), the score alone decides, as before.
    monkeypatch.setattr(decoding, "clashes", lambda text: "春/秋")
    assert composer.decode(plan, 2, Sampling(), seed=8) == before


@pytest.mark.parametrize("heads", ["天", "天天"])
def test_the_heads_printed_later_count_toward_a_characters_two(heads):
    # Acrostic heads of lines 3 and 4: however favoured earlier, 天 comes at most twice in all.
    fixed = {(3 - i, 1): char for i, char in enumerate(heads)}
    bias = {line: {"天": 20.0} for line in range(4)}
    plan = form_plan(FORMS["五言绝句"], fixed, bias=bias, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    assert [text.count("天") for text in texts] == [2] * 8, texts
    assert all(split_lines(text)[0].count("天") == 2 - len(heads) for text in texts), texts


def test_a_kept_rhyme_sets_the_group_and_is_not_used_again():
    # The last line kept, closing on 光: the second line's rhyme is of its group, but not 光.
    plan = form_plan(FORMS["五言绝句"], {(3, 5): "光"}, bias={1: {"光": 30.0}}, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    assert all(split_lines(text)[1][-1] in "霜乡阳" for text in texts), texts


def test_a_kept_rhyme_of_no_group_that_can_rhyme_leaves_the_groups_as_they_were():
    # 天 (下平一先) is the toy vocabulary's one character of its group: the second line still
    # rhymes in 七阳, the one group that can fill the rhymes, however 山 is favoured.
    plan = form_plan(FORMS["五言绝句"], {(3, 5): "天"}, bias={1: {"山": 30.0}}, search=None)
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    assert all(split_lines(text)[1][-1] in "光霜乡阳" for text in texts), texts


def test_where_a_kept_first_line_and_a_kept_rhyme_disagree_the_rhyme_sets_the_group():
    # The first line's level close 光 (七阳) may rhyme; the kept last line's 天 (一先) must.
    vocab = Vocab([*VOCAB.tokens, "年", "前"])
    net = CharRNN(ModelConfig(len(vocab), 8, 8, 1)).eval()
    fixed = {(0, 5): "光", (3, 5): "天"}
    plan = form_plan(FORMS["五言绝句"], fixed, bias={1: {"霜": 30.0}}, search=None)
    texts = Composer(net, vocab).decode(plan, 8, Sampling(), seed=4)
    assert all(split_lines(text)[1][-1] in "年前" for text in texts), texts


def test_a_character_rhymes_only_where_the_poets_rhyme_it():
    # 台 stands in 上平四支 too by its rare reading yí, where no reader hears it rhyme with 池 and
    # 时: however favoured, it never closes the last line of a poem that rhymes 池; under
    # 中华新韵 (tái) it rhymes with 来, in 四开.
    vocab = Vocab([*VOCAB.tokens, *"池时诗台来"])
    tables = VocabTables(vocab)
    pingshui = dict(zip(rhyming_groups("pingshui"), tables.rhymes("pingshui").T, strict=True))
    in_group = {group: members_of(vocab, column) for group, column in pingshui.items()}
    assert in_group["上平四支"] == "池时诗" and in_group["上平十灰"] == "台来"
    xinyun = dict(zip(rhyming_groups("xinyun"), tables.rhymes("xinyun").T, strict=True))
    assert members_of(vocab, xinyun["四开"]) == "台来"
    net = CharRNN(ModelConfig(len(vocab), 8, 8, 1)).eval()
    plan = form_plan(FORMS["五言绝句"], {(1, 5): "池"}, bias={3: {"台": 30.0}}, search=None)
    texts = Composer(net, vocab).decode(plan, 8, Sampling(), seed=4)
    assert all(split_lines(text)[3][-1] in "时诗" for text in texts), texts


def test_rhymes_are_kept_as_far_as_a_vocabulary_allows():
    # No group of this vocabulary has four level characters for a 律诗: the first three rhymes
    # still share 七阳 (光霜乡), however other level characters are favoured.
    vocab = Vocab([*SPECIALS, "，", "。", *"天月看悠水山地风花云光霜乡"])
    net = CharRNN(ModelConfig(len(vocab), 8, 8, 1)).eval()
    bias = {line: {"山": 30.0, "风": 30.0} for line in range(8)}
    plan = form_plan(FORMS["五言律诗"], {(0, 5): "月"}, bias=bias, search=None)
    texts = Composer(net, vocab).decode(plan, 8, Sampling(), seed=4)
    for text in texts:
        rhymes = [line[-1] for line in split_lines(text)[1::2]]
        assert sorted(rhymes[:3]) == sorted("光霜乡"), text


def test_a_start_that_ends_on_a_character_poets_double_may_double_it():
    plan = Plan(context="天悠", bias={-1: {"悠": 20.0, "天": 20.0}})
    texts = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    assert all(text.startswith("天悠悠") for text in texts), texts
    plan = Plan(context="悠天", bias={-1: {"天": 20.0}})  # 天天 is not attested
    assert not any(
        text.startswith("悠天天")
        for text in Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)
    )


def test_the_parallel_bonus_reaches_only_the_middle_couplets_second_lines():
    # Token sampling, one seed: with and without 对仗 the lines before 颔联's second line are
    # the same draws; the bonus changes that line and the ones after it.
    form = FORMS["五言律诗"]
    on, off = (
        Composer(model(), VOCAB).decode(
            form_plan(form, {}, parallel=p, search=None), 16, Sampling(), seed=8
        )
        for p in (True, False)
    )
    assert [split_lines(t)[:3] for t in on] == [split_lines(t)[:3] for t in off]
    assert any(split_lines(a)[3] != split_lines(b)[3] for a, b in zip(on, off, strict=True))


def test_a_style_primes_the_poems_without_being_printed():
    plan = form_plan(FORMS["五言绝句"], {}, search=None)
    plain = Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=9)
    styled = form_plan(FORMS["五言绝句"], {}, style="山水云风花", search=None)
    primed = Composer(model(), VOCAB).decode(styled, 8, Sampling(), seed=9)
    assert primed != plain
    assert all(len(text) == len(plain[0]) for text in primed)  # the style is not printed
    # The state the poems start from: <s>, the style, </s>, then the poem's own <s>.
    net = model()
    ids = torch.tensor([[*VOCAB.encode("山水云风花", wrap=True), VOCAB.start_id]])
    with torch.inference_mode():
        logits, _ = Composer(net, VOCAB)._prime(styled, 2)
        expected = net(ids)[0][0, -1]
    assert logits.shape == (2, len(VOCAB))
    assert torch.allclose(logits[0], expected, atol=1e-5) and torch.equal(logits[0], logits[1])


def test_a_free_poems_score_is_its_likelihood_per_token():
    net = model()
    scored = Composer(net, VOCAB).decode_scored(Plan(context="天"), 6, Sampling(), seed=10)
    assert len({len(text) for text, _ in scored}) > 1  # poems that end at different steps
    for text, score in scored:
        ids = torch.tensor(VOCAB.encode(text, wrap=True))
        with torch.inference_mode():
            logits, _ = net(ids[None, :-1])
        loglik = logits[0].log_softmax(-1).gather(1, ids[1:, None])[1:].sum()  # after 天
        assert score == pytest.approx(float(loglik) / (len(ids) - 2), abs=1e-5), text


def test_a_character_fixed_in_a_later_line_is_in_that_line_from_its_start():
    # 天 fixed at the end of the third line and favoured there comes once in that line...
    plan = form_plan(FORMS["五言绝句"], {(2, 5): "天"}, bias={2: {"天": 20.0}}, search=None)
    lines = [split_lines(t) for t in Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)]
    assert [poem[2].count("天") for poem in lines] == [1] * 8, lines
    assert any("天" not in poem[0] + poem[1] for poem in lines)  # where only this rule bars it
    # ... and not before: favoured in the second line (after its first character, fixed), it
    # comes there wherever the first line has not taken it already (twice in a poem).
    fixed = {(1, 1): "月", (2, 5): "天"}
    plan = form_plan(FORMS["五言绝句"], fixed, bias={1: {"天": 20.0}}, search=None)
    lines = [split_lines(t) for t in Composer(model(), VOCAB).decode(plan, 8, Sampling(), seed=4)]
    free = [poem[1] for poem in lines if "天" not in poem[0]]
    assert free and all(line.count("天") == 1 for line in free), lines
