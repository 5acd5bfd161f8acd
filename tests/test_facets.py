"""Tests for the facet catalog (companion/data/facets.toml) and companion/facets.py.

Every facet equation has a golden reading in tests/data/golden/facet_equations.txt; refresh
it on purpose with `pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import pytest

from companion.errors import CatalogError
from companion.facets import (
    family_overview,
    load_facets,
    named_member,
    named_members,
    unknown_member_notice,
)
from companion.mathspeech import verbalize
from companion.models import Catalog, Evidence, Facets, TopicLink
from companion.topics import load_catalog
from tests.conftest import DATA

GOLDEN = DATA / "golden" / "facet_equations.txt"
SYMBOLS = re.compile(r"[=+*/%&#|~<>\\{}^_$`]")
INLINE_MATH = re.compile(r"\$[^$]+\$")
# Members the issue names, each with the topic it belongs to.
REQUIRED = {
    "hypothesis-testing": ["z-test", "t-test", "chi-squared-test", "ab-test"],
    "regularization": ["l1-regularization", "l2-regularization", "elastic-net"],
    "stochastic-gradient-descent": ["minibatch-sgd", "momentum", "rmsprop", "adam"],
    "activation-functions": ["sigmoid", "tanh", "relu", "gelu"],
    "perceptron-and-neurons": ["step-function"],
    "ensembles-and-boosting": ["bagging", "adaboost", "random-forest", "gradient-boosting"],
    "recurrent-networks": ["lstm", "gru"],
    "attention": ["self-attention", "cross-attention", "multi-head-attention"],
    "distance-metrics": ["cosine-similarity", "euclidean-distance", "manhattan-distance"],
    "k-means-clustering": ["k-means", "hierarchical-clustering", "dbscan"],
    "entropy": ["shannon-entropy"],
    "cross-entropy": ["binary-cross-entropy", "categorical-cross-entropy"],
    "kl-divergence": ["kl-forward-reverse"],
    "classification-metrics": ["precision", "recall", "f1-score", "roc-auc"],
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def facets(catalog: Catalog) -> Facets:
    return load_facets(catalog=catalog)


# --------------------------------------------------------------------------- the catalog


def test_required_members_are_facets_of_the_right_topic(facets: Facets) -> None:
    for topic_id, members in REQUIRED.items():
        have = {facet.id for facet in facets.of_topic(topic_id)}
        assert set(members) <= have, (topic_id, set(members) - have)
        assert facets.family(topic_id) is not None, topic_id


def test_loading_is_deterministic(catalog: Catalog, facets: Facets) -> None:
    assert load_facets(catalog=catalog) == facets


def _allowed() -> dict[str, object]:
    builtins = {"sum": sum, "range": range, "abs": abs, "max": max, "min": min, "round": round}
    return {"math": math, "__builtins__": builtins}


def _number_forms(value: float) -> set[str]:
    forms = {f"{abs(value):g}"}
    for places in range(0, 4):
        text = f"{abs(value):.{places}f}"
        forms.add(text.rstrip("0").rstrip(".") if "." in text else text)
    return forms


def test_worked_examples_compute_what_they_say(facets: Facets) -> None:
    for facet in facets.facets:
        example = facet.example
        computed = eval(example.expression, _allowed())  # catalog data, not user input
        assert math.isclose(computed, example.result, rel_tol=1e-6, abs_tol=1e-12), facet.id
        numbers = set(re.findall(r"\d+(?:\.\d+)?", example.text))
        assert numbers & _number_forms(example.result), f"{facet.id}: result not in the text"


def test_equations_are_read_strictly_without_warning_and_briefly(facets: Facets) -> None:
    for facet in facets.facets:
        for equation in facet.equations:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                words = verbalize(equation.latex, strict=True)
            assert len(words.split()) <= 30, (facet.id, words)


def facet_readings(facets: Facets) -> str:
    lines = []
    for facet in facets.facets:
        for equation in facet.equations:
            lines += [f"[{facet.id}] {equation.latex}", f"    {verbalize(equation.latex)}"]
    return "\n".join(lines) + "\n"


def test_facet_equation_readings_match_golden(
    facets: Facets, request: pytest.FixtureRequest
) -> None:
    readings = facet_readings(facets)
    if request.config.getoption("--update-golden"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(readings, "utf-8")
    assert GOLDEN.is_file(), "run pytest --update-golden once to create the golden file"
    assert readings == GOLDEN.read_text("utf-8")


def test_texts_are_written_for_the_ear(facets: Facets) -> None:
    for facet in facets.facets:
        texts = [facet.name, facet.distinction, facet.example.text]
        texts += [eq.meaning for eq in facet.equations]
        texts += [part for quiz in facet.quizzes for part in (quiz.question, quiz.answer)]
        for text in texts:
            plain = INLINE_MATH.sub(" ", text)
            assert not SYMBOLS.search(plain), f"{facet.id}: symbol in {text!r}"
            for sentence in re.split(r"(?<=[.!?])\s+", plain):
                assert len(sentence.split()) < 25, f"{facet.id}: long sentence {sentence!r}"
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", facet.distinction) if s]
        assert 1 <= len(sentences) <= 3, facet.id


# --------------------------------------------------------------------------- validation

GOOD = """
[[families]]
topic = "a"
name = "the a family"
heads = ["test"]

[[facets]]
id = "one"
topic = "a"
name = "the one test"
aliases = ["one test"]
distinction = "It is the first."
[[facets.equations]]
latex = 'x + 1'
meaning = "One more."
[facets.example]
text = "One plus one is 2."
expression = "1 + 1"
result = 2
[[facets.quiz]]
question = "What is two plus two?"
answer = "4."
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "facets.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_facet_catalog_loads(tmp_path: Path) -> None:
    loaded = load_facets(_write(tmp_path, GOOD), check_speech=False)
    assert [f.id for f in loaded.facets] == ["one"]
    assert loaded.family("a") is not None and loaded.family("b") is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (GOOD + GOOD.split("\n[[facets]]", 1)[1].join(["\n[[facets]]", ""]), "'one': duplicate id"),
        (
            GOOD.replace('topic = "a"\nname = "the a family"', 'topic = "b"\nname = "b"'),
            "no [[families]]",
        ),
        (GOOD.replace('aliases = ["one test"]', "aliases = []"), "'one': 'aliases' is empty"),
        (GOOD.replace("result = 2", 'result = "2"'), "'one': example 'result' must be a number"),
        (GOOD.split("[[facets.quiz]]")[0], "'one': needs at least one [[facets.quiz]]"),
        (
            GOOD.replace('distinction = "It is the first."\n', ""),
            "'one': missing or empty 'distinction'",
        ),
        (
            GOOD.replace('name = "the one test"', 'name = "x"\ncolour = "red"'),
            "unknown key 'colour'",
        ),
        (GOOD + "[[extra]]\n", "unknown table 'extra'"),
        (GOOD.replace("[[facets]]", "[[facets]]\n").replace("[[facets]]\n", "[[facets]]", 1), ""),
    ],
)
def test_invalid_facet_catalogs_are_rejected(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    if not needle:  # the control: a harmless change still loads
        load_facets(path, check_speech=False)
        return
    with pytest.raises(CatalogError) as info:
        load_facets(path, check_speech=False)
    message = str(info.value)
    assert str(path) in message and needle in message and "\n" not in message


def test_unknown_topic_and_unspeakable_equation_are_named(tmp_path: Path, catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match=r"topic 'a': not in the topic catalog"):
        load_facets(_write(tmp_path, GOOD), catalog=catalog, check_speech=False)
    broken = GOOD.replace("latex = 'x + 1'", "latex = '\\frac{1}{'")
    with pytest.raises(CatalogError, match=r"facet 'one': equation 1"):
        load_facets(_write(tmp_path, broken))
    unknown_command = GOOD.replace("latex = 'x + 1'", "latex = '\\vv{x}'")
    with pytest.raises(CatalogError, match=r"facet 'one': equation 1"):
        load_facets(_write(tmp_path, unknown_command))


def test_two_members_of_a_family_cannot_share_an_alias(tmp_path: Path) -> None:
    second = GOOD.split("\n[[facets]]", 1)[1].replace('id = "one"', 'id = "two"')
    with pytest.raises(CatalogError, match=r"facet 'two': alias 'one test' also names 'one'"):
        load_facets(_write(tmp_path, GOOD + "\n[[facets]]" + second), check_speech=False)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"nope\.toml: cannot read"):
        load_facets(tmp_path / "nope.toml")
    with pytest.raises(CatalogError, match=r"not valid TOML"):
        load_facets(_write(tmp_path, "[[facets]\n"))


# --------------------------------------------------------------------------- which member


def _link(catalog: Catalog, topic_id: str, *pieces: tuple[str, str, str]) -> TopicLink:
    evidence = tuple(Evidence(field, phrase, sentence) for field, phrase, sentence in pieces)  # type: ignore[arg-type]
    return TopicLink(catalog.get(topic_id), 1.0, evidence)


@pytest.mark.parametrize(
    ("topic_id", "sentence", "phrase", "facet_id"),
    [
        (
            "hypothesis-testing",
            "Is the die fair? A chi-square test on the counts.",
            "chi-square test",
            "chi-squared-test",
        ),
        ("hypothesis-testing", "We compare two groups with Student's t-test.", "t-test", "t-test"),
        (
            "hypothesis-testing",
            "Running an A/B test on the checkout page and reading its p-value.",
            "p-value",
            "ab-test",
        ),
        (
            "stochastic-gradient-descent",
            "Why Adam usually beats plain stochastic gradient descent.",
            "stochastic gradient descent",
            "adam",
        ),
        (
            "stochastic-gradient-descent",
            "SGD with momentum, explained with a ball rolling downhill.",
            "SGD",
            "momentum",
        ),
        (
            "activation-functions",
            "The GELU activation is what transformers use.",
            "activation",
            "gelu",
        ),
        (
            "activation-functions",
            "Rectified linear units replaced sigmoids.",
            "rectified linear units",
            "relu",
        ),
        (
            "regularization",
            "Ridge regression shrinks the weights.",
            "Ridge regression",
            "l2-regularization",
        ),
        (
            "ensembles-and-boosting",
            "Random forests average many decorrelated trees.",
            "Random forests",
            "random-forest",
        ),
        ("recurrent-networks", "GRUs are a lighter alternative to the LSTM.", "GRUs", "gru"),
        (
            "attention",
            "Each of the attention heads in multi-head attention looks elsewhere.",
            "attention",
            "multi-head-attention",
        ),
        (
            "distance-metrics",
            "Comparing embeddings by cosine similarity.",
            "cosine similarity",
            "cosine-similarity",
        ),
        ("k-means-clustering", "DBSCAN finds clusters of any shape.", "clusters", "dbscan"),
        (
            "classification-metrics",
            "Why the F1-score balances precision and recall.",
            "precision",
            "f1-score",
        ),
    ],
)
def test_the_member_an_episode_names_is_found(
    catalog: Catalog, facets: Facets, topic_id: str, sentence: str, phrase: str, facet_id: str
) -> None:
    member = named_member(_link(catalog, topic_id, ("description", phrase, sentence)), facets)
    assert member is not None and member.facet is not None, sentence
    assert member.facet.id == facet_id
    assert member.notice == ""
    assert member.name.lower() in sentence.lower()


def test_the_title_outweighs_a_member_named_in_the_notes(catalog: Catalog, facets: Facets) -> None:
    link = _link(
        catalog,
        "stochastic-gradient-descent",
        ("description", "SGD", "Plain SGD was the default for years."),
        ("title", "Adam", "Episode 12: Adam, the optimizer everyone uses"),
    )
    assert [m.facet.id for m in named_members(link, facets) if m.facet] == ["adam", "minibatch-sgd"]


def test_the_phrase_that_linked_the_topic_wins_a_tie(catalog: Catalog, facets: Facets) -> None:
    sentence = "Unlike the z-test, the t-test estimates the spread from the sample."
    first = named_member(
        _link(catalog, "hypothesis-testing", ("description", "t-test", sentence)), facets
    )
    assert first is not None and first.facet is not None and first.facet.id == "t-test"


@pytest.mark.parametrize(
    ("topic_id", "sentence", "name", "family"),
    [
        (
            "hypothesis-testing",
            "The Mann-Whitney test compares two samples without assuming normality.",
            "Mann-Whitney test",
            "hypothesis testing",
        ),
        (
            "hypothesis-testing",
            "We ran Fisher's exact test on the table.",
            "Fisher's exact test",
            "hypothesis testing",
        ),
        (
            "hypothesis-testing",
            "A Kolmogorov-Smirnov test checks whether two samples share a distribution.",
            "Kolmogorov-Smirnov test",
            "hypothesis testing",
        ),
        (
            "stochastic-gradient-descent",
            "Google's new Lion optimizer uses only the sign of the update.",
            "Lion optimizer",
            "stochastic gradient descent",
        ),
        (
            "distance-metrics",
            "The Mahalanobis distance accounts for correlated features.",
            "Mahalanobis distance",
            "distance measure",
        ),
        (
            "attention",
            "FlashAttention is exact; Grouped-Query Attention shares keys across heads.",
            "Grouped-Query Attention",
            "attention",
        ),
        (
            "classification-metrics",
            "We report the F-beta score with beta 2.",
            "F-beta score",
            "classification metric",
        ),
    ],
)
def test_a_member_the_catalog_lacks_gets_an_honest_notice(
    catalog: Catalog, facets: Facets, topic_id: str, sentence: str, name: str, family: str
) -> None:
    member = named_member(_link(catalog, topic_id, ("description", "x", sentence)), facets)
    assert member is not None and member.facet is None
    assert member.name == name
    assert member.notice == (
        f"The episode uses the {name}; this lesson covers the {family} family it belongs to."
    )


@pytest.mark.parametrize(
    ("topic_id", "title", "sentence"),
    [
        (
            "hypothesis-testing",
            "Hypothesis Testing",
            "A statistical test asks whether an effect is real.",
        ),
        ("hypothesis-testing", "Your First Significance Test", "Your First Significance Test"),
        ("hypothesis-testing", "p-values", "The p-value of the test was 0.03, so the test passed."),
        (
            "stochastic-gradient-descent",
            "Optimizers",
            "Choosing an optimizer is mostly about the learning rate.",
        ),
        ("attention", "Attention Is All You Need", "Attention Is All You Need"),
    ],
)
def test_no_member_is_invented(
    catalog: Catalog, facets: Facets, topic_id: str, title: str, sentence: str
) -> None:
    link = _link(catalog, topic_id, ("title", title, title), ("description", "x", sentence))
    assert named_members(link, facets) == ()


def test_an_acronym_matches_only_capitals(catalog: Catalog, facets: Facets) -> None:
    person = "Joel Grus talks about testing, and recurrent networks come up."
    link = _link(catalog, "recurrent-networks", ("description", "recurrent networks", person))
    assert named_member(link, facets) is None
    plural = "Two GRUs and an LSTM, compared."
    link = _link(catalog, "recurrent-networks", ("description", "GRUs", plural))
    assert [m.facet.id for m in named_members(link, facets) if m.facet] == ["gru", "lstm"]


def test_a_topic_without_a_family_names_no_member(catalog: Catalog, facets: Facets) -> None:
    link = _link(catalog, "vectors", ("description", "vector", "The Adam optimizer and a t-test."))
    assert named_member(link, facets) is None


def test_notice_keeps_one_article() -> None:
    assert unknown_member_notice("the Lion optimizer", "optimizers").startswith(
        "The episode uses the Lion optimizer;"
    )


def test_family_overview_names_every_member_with_a_sentence(facets: Facets) -> None:
    lines = family_overview("hypothesis-testing", facets)
    assert lines[0] == (
        "The hypothesis testing family has 4 well-known members: the z-test, the t-test, "
        "the chi-squared test and an A B test."
    )
    assert lines[2] == "The t-test is the z-test for when the standard deviation must be " + (
        "estimated from the sample itself."
    )
    assert len(lines) == 1 + len(facets.of_topic("hypothesis-testing"))
    assert family_overview("vectors", facets) == ()


README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_facet() -> str:
    section = README.read_text("utf-8").split("<!-- add-a-facet -->", 1)[1]
    return section.split("```toml\n", 1)[1].split("```", 1)[0]


def test_the_readme_facet_example_teaches_a_missing_member(
    catalog: Catalog, facets: Facets, tmp_path: Path
) -> None:
    packaged = Path(__file__).resolve().parents[1] / "companion" / "data" / "facets.toml"
    path = _write(tmp_path, packaged.read_text("utf-8") + "\n" + _readme_facet())
    extended = load_facets(path, catalog=catalog)
    added = next(f for f in extended.facets if f.id == "mann-whitney")
    assert math.isclose(eval(added.example.expression, _allowed()), added.example.result)
    from tests.test_quizzes import facet_chapter, repeats_chapter

    assert not any(repeats_chapter(q, facet_chapter(added, catalog)) for q in added.quizzes)
    sentence = "The Mann-Whitney test compares two samples without assuming normality."
    link = _link(catalog, "hypothesis-testing", ("description", "x", sentence))
    before = named_member(link, facets)
    after = named_member(link, extended)
    assert before is not None and before.facet is None
    assert after is not None and after.facet is added and after.notice == ""


SHARED_CHECK = Path(__file__).resolve().parents[1].parent / "shared" / "tools" / "check_script.py"


@pytest.mark.skipif(
    not SHARED_CHECK.is_file(), reason="shared tools not found (read-only fixtures)"
)
def test_facet_texts_pass_the_shared_script_checker(facets: Facets, tmp_path: Path) -> None:
    import subprocess
    import sys

    from companion.mathspeech import verbalize_inline

    for facet in facets.facets:
        parts = [facet.name[0].upper() + facet.name[1:] + ".", verbalize_inline(facet.distinction)]
        for equation in facet.equations:
            parts += [verbalize(equation.latex) + ".", verbalize_inline(equation.meaning)]
        parts.append(verbalize_inline(facet.example.text))
        for quiz in facet.quizzes:
            parts += [verbalize_inline(quiz.question), verbalize_inline(quiz.answer)]
        (tmp_path / f"{facet.id}.txt").write_text("\n\n".join(parts), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SHARED_CHECK), str(tmp_path), "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
