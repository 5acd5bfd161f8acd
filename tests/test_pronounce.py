"""Pronunciation: people read the words; each engine gets the lexicon in its own form."""

from __future__ import annotations

from companion import pronounce
from companion.models import Paragraph, Pronunciation
from companion.render import speak, speak_inline
from companion.topics import load_catalog

LETTER_A = Pronunciation("a", "eh", "ˈeɪ", math=True)
RELU = Pronunciation("ReLU", "ray loo", "ɹˈeɪluː")
IID = Pronunciation("i.i.d.", "I I D", "ˌaɪˌaɪdˈiː")


def marked(text: str) -> Paragraph:
    words, math = pronounce.strip_math_markers(text)
    return Paragraph(words, math=math)


def test_markers_become_spans_and_never_reach_the_words() -> None:
    bayes = speak(r"P(A \mid B)")
    paragraph = marked(f"Bayes: {bayes}. Done.")
    assert paragraph.text == "Bayes: P of A given B. Done."
    assert [paragraph.text[a:b] for a, b in paragraph.math] == ["P of A given B"]
    inline = marked(speak_inline("A set $A$ has a size $|A|$."))
    assert pronounce.MATH_OPEN not in inline.text and pronounce.MATH_CLOSE not in inline.text
    assert [inline.text[a:b] for a, b in inline.math] == ["A", "the absolute value of A"]


def test_the_letter_a_is_a_letter_only_inside_an_equation() -> None:
    paragraph = marked(speak_inline("A vector $a$ times a scalar, and $A \\subset B$."))
    [sentence] = pronounce.sentences(paragraph)
    given = pronounce.render(sentence, (LETTER_A,), "respell")
    assert given == "A vector eh times a scalar, and eh is a subset of B."
    assert pronounce.render(sentence, (LETTER_A,), "misaki").count("[A](/ˈA/)") == 1
    assert pronounce.render(sentence, (LETTER_A,), "ipa").count("[[ ˈeɪ ]]") == 2


def test_a_capital_letter_inside_a_prose_sentence_is_a_letter() -> None:
    given = pronounce.render("A chance of A given B. Given A: A Tour of A.", (LETTER_A,), "respell")
    assert given == "A chance of eh given B. Given eh: A Tour of eh."
    assert pronounce.render("the chance of a coin", (LETTER_A,), "ipa") == "the chance of a coin"


def test_article_nouns_come_from_the_math_vocabulary() -> None:
    assert {"subset", "superset"} <= pronounce.article_nouns()


def test_sentences_carry_their_own_spans() -> None:
    paragraph = marked(f"First {speak('a')}. Then {speak('b + a')} again.")
    first, second = pronounce.sentences(paragraph)
    assert (first.text, [first.text[a:b] for a, b in first.math]) == ("First a.", ["a"])
    assert [second.text[a:b] for a, b in second.math] == ["b plus a"]


def test_whole_words_and_dotted_abbreviations() -> None:
    lexicon = (RELU, IID)
    assert (
        pronounce.render("ReLUs and relu, i.i.d. samples.", lexicon, "respell")
        == "ReLUs and ray loo, I I D samples."
    )
    assert (
        pronounce.render("Samples are i.i.d.", lexicon, "misaki")
        == "Samples are [i.i.d.](/ˌIˌIdˈi/)"
    )


def test_ipa_becomes_misaki_for_hibari() -> None:
    assert pronounce.to_misaki("ɹˈeɪluː") == "ɹˈAlu"
    assert pronounce.to_misaki("tˈæntʃ") == "tˈænʧ"
    assert pronounce.to_misaki("ləɡɹˈeɪndʒ") == "ləɡɹˈAnʤ"


def test_respellings_are_found_in_text_people_read() -> None:
    lexicon = load_catalog(check_speech=False).lexicon
    assert pronounce.find_respellings("the letter eh and ray loo", lexicon) == ["eh", "ray loo"]
    assert pronounce.find_respellings("P of A given B, ReLU and the row", lexicon) == []
    assert pronounce.find_respellings("the arg max over theta, M S E", lexicon) == []


def test_catalog_lexicon_covers_the_issue_list() -> None:
    words = {entry.word.lower() for entry in load_catalog(check_speech=False).lexicon}
    assert {
        "a",
        "alpha",
        "theta",
        "xi",
        "argmax",
        "softmax",
        "relu",
        "i.i.d.",
        "i-th",
        "mse",
        "bernoulli",
        "rlhf",
        "lora",
        "tf-idf",
        "faiss",
        "spacy",
        "nltk",
        "xgboost",
        "gelu",
        "rbf",
        "reinforce",
        "vae",
        "vaes",
    } <= words
    assert all(entry.ipa for entry in load_catalog(check_speech=False).lexicon)


def test_an_equation_is_cut_into_clauses_at_its_own_commas_only() -> None:
    reading = speak(r"\frac{1}{2m} \sum_{i=1}^{m} x_i")
    paragraph = marked(f"So, in short, {reading}. Done, then.")
    first, second = pronounce.sentences(paragraph)
    pieces = pronounce.clauses(first)
    assert [piece.text for piece in pieces] == [
        "So, in short, one over two m,",
        "times the sum from i equals one to m of x i.",
    ]
    assert [pieces[0].text[a:b] for a, b in pieces[0].math] == ["one over two m,"]
    assert [pieces[1].text[a:b] for a, b in pieces[1].math] == [
        "times the sum from i equals one to m of x i"
    ]
    assert pronounce.clauses(second) == [second]  # prose commas stay


def test_zero_padded_numbers_are_said_as_numbers() -> None:
    assert pronounce.unpadded("MLG 005 and MLA 010, episode 0.") == "MLG 5 and MLA 10, episode 0."
    kept = "0.5, 007.5, 07:30, 1,005, 100 and 2005"
    assert pronounce.unpadded(kept) == kept
    for style in pronounce.STYLES:
        assert pronounce.render("You met vectors in MLG 005.", (RELU,), style).endswith("MLG 5.")
