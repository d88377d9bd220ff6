"""Variant characters (异体字): the shipped table, how every text is simplified through it, the
tone and rhyme lookups that follow it, and a decoder that never writes a variant."""

import json
from collections import Counter

import pytest
from conftest import favouring

from poetry_rnn.corpus.cleaning import clean_text
from poetry_rnn.corpus.vocab import SPECIALS, Vocab
from poetry_rnn.forms import FORMS
from poetry_rnn.poetics import build_association_tables, tables
from poetry_rnn.poetics.check import check
from poetry_rnn.poetics.rhymes import heard_rhyme_groups, rhyme_groups
from poetry_rnn.poetics.tones import tone_of
from poetry_rnn.text import standard_form, t2s, to_simplified, variants
from poetry_rnn.writing.constraints import VocabTables
from poetry_rnn.writing.decoding import Composer
from poetry_rnn.writing.generate import PoetryGenerator
from poetry_rnn.writing.plans import Plan, form_plan
from poetry_rnn.writing.sampling import Sampling

#: The variants a new user met in simplified poems, and their standard forms.
MET = {"鴈": "雁", "疎": "疏", "巵": "卮", "猨": "猿", "堦": "阶"}


def test_the_variants_a_user_met_are_simplified_to_their_standard_forms():
    for variant, standard in MET.items():
        assert t2s(variant) == variant  # opencc leaves them
        assert standard_form(variant) == standard
        assert to_simplified(variant) == standard
    assert to_simplified("孤鴈飛南遊，疎林映晚堦。") == "孤雁飞南游，疏林映晚阶。"
    assert to_simplified("雁疏卮猿阶") == "雁疏卮猿阶"  # standard forms pass unchanged


def test_the_shipped_table_is_the_candidates_both_of_whose_characters_the_poets_use():
    shipped = json.loads((tables.PACKAGE_DIR / "variants.json").read_text("utf-8"))
    table, counts = shipped["variants"], shipped["counts"]
    assert table == variants() and set(table) == set(counts)
    candidates = dict(build_association_tables.VARIANT_CANDIDATES)
    assert len(candidates) == len(build_association_tables.VARIANT_CANDIDATES)  # none listed twice
    assert all(len(pair) == 2 for pair in build_association_tables.VARIANT_CANDIDATES)
    assert all(candidates[variant] == standard for variant, standard in table.items())
    assert all(min(counts[variant]) > 0 for variant in table)
    assert not set(table.values()) & set(table)  # a standard form is no variant
    assert MET.items() <= table.items()
    # Frequency does not choose the standard: the poets wrote 巵 more often than 卮.
    assert counts["巵"][0] > counts["巵"][1]


def test_the_table_keeps_a_pair_only_where_the_poems_use_both_characters():
    counts = build_association_tables.count_characters(["孤鴈南飛", "雁來", "疎影", "堦前階下"])
    assert counts["鴈"] == counts["雁"] == counts["疎"] == 1 and counts["飞"] == 1  # t2s'd
    assert counts["堦"] == 1 and counts["阶"] == 1  # 階 is 阶 once simplified
    table = build_association_tables.variant_table(counts, ["鴈雁", "疎疏", "堦阶", "猨猿"])
    assert table == {"堦": "阶", "鴈": "雁"}  # 疏 and 猨 never occur
    assert build_association_tables.variant_table(Counter({"鴈": 9, "雁": 1}), ["鴈雁"]) == {
        "鴈": "雁"
    }


def test_tones_and_rhymes_of_a_variant_are_its_standard_forms():
    for variant, standard in MET.items():
        assert tone_of(variant) == tone_of(standard)
        for book in ("pingshui", "xinyun"):
            assert rhyme_groups(variant, book) == rhyme_groups(standard, book)
            assert heard_rhyme_groups(variant, book) == heard_rhyme_groups(standard, book)
    assert heard_rhyme_groups("猨") == heard_rhyme_groups("猿") != frozenset()


def test_the_corpus_and_a_users_poem_read_the_standard_forms():
    assert clean_text("孤鴈飛南遊，疎林映晚堦。").endswith("疏林映晚阶。")
    report = check("朔風吹鴈影，疎雨滴寒堦。落葉隨猨嘯，空山對酒巵。")
    assert report.lines == ["朔风吹雁影", "疏雨滴寒阶", "落叶随猿啸", "空山对酒卮"]


def test_a_users_start_in_variants_is_written_in_standard_forms(generator):
    (poem,) = generator.generate("孤鴈", form="五言绝句", seed=1)
    assert poem.text.startswith("孤雁")


CHARS = "天月山风花云光霜乡阳雁鴈疏疎"
VOCAB = Vocab([*SPECIALS, "，", "。", *CHARS])


def test_the_decoder_never_writes_a_variant_however_favoured():
    tables = VocabTables(VOCAB)
    assert "".join(t for t, w in zip(VOCAB.tokens, tables.written.tolist(), strict=True) if w) == (
        "天月山风花云光霜乡阳雁疏"
    )
    model = favouring("鴈", VOCAB)
    plans = [Plan(), form_plan(FORMS["五言绝句"], {}, search=None, rhyme=False, tone=False)]
    for plan in plans:
        for text in Composer(model, VOCAB).decode(plan, 8, Sampling(), seed=3):
            assert "鴈" not in text and "疎" not in text, text


@pytest.mark.parametrize("favoured", ["鴈", "疎"])
def test_the_shipped_vocabularys_variants_are_never_written(generator, favoured):
    vocab = generator.vocab
    assert favoured in vocab and standard_form(favoured) in vocab
    biased = PoetryGenerator(favouring(favoured, vocab), vocab)
    for poem in biased.generate(form="五言绝句", n=4, seed=2, search="sample"):
        assert not set(poem.text) & set(variants()), poem.text


def test_a_corpus_cache_of_another_variant_table_is_rebuilt(monkeypatch):
    from conftest import FIXTURE_CORPUS

    from poetry_rnn.corpus import data
    from poetry_rnn.corpus.sources import find_poem_files

    files, options = find_poem_files(FIXTURE_CORPUS), data.CorpusOptions()
    before = data.cache_key(files, options)
    monkeypatch.setattr(data, "variants", lambda: {"鴈": "雁"})
    assert data.cache_key(files, options) != before
