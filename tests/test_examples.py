"""Worked examples fitted to an episode, and bridge sentences (companion/data/examples.toml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.errors import CatalogError
from companion.models import Catalog
from companion.topics import bridge_for, choose_example, load_catalog

TOPIC = """
[[topics]]
id = "a"
title = "Topic a"
area = "discrete"
prerequisites = []
aliases = ["alias a", "weighted sum"]
explanation = "Some words. More words. Even more words. Last words."
[[topics.equations]]
latex = 'x + 1'
meaning = "Meaning."
[topics.example]
text = "One plus one is 2."
expression = "1 + 1"
result = 2
[topics.quiz]
question = "Question?"
answer = "Answer."

[[implications]]
concept = "linear unit"
topics = ["a"]
"""

EXTRAS = """
[a]
context = ["apple"]

[[a.examples]]
context = ["document", "search query"]
text = "Two plus two is 4."
expression = "2 + 2"
result = 4

[[a.examples]]
context = ["house", "price", "document"]
text = "Three plus three is 6."
expression = "3 + 3"
result = 6

[a.bridges]
"weighted sum" = "A weighted sum is a dot product."
"linear unit" = "A linear unit computes a weighted sum."
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _catalog(tmp_path: Path, extras: str) -> Catalog:
    (tmp_path / "topics.toml").write_text(TOPIC, encoding="utf-8")
    (tmp_path / "examples.toml").write_text(extras, encoding="utf-8")
    return load_catalog(tmp_path / "topics.toml", check_speech=False)


def test_examples_beside_a_catalog_are_loaded_stock_first(tmp_path: Path) -> None:
    topic = _catalog(tmp_path, EXTRAS).get("a")
    assert [example.result for example in topic.examples] == [2, 4, 6]
    assert topic.example is topic.examples[0]
    assert topic.example.context == ("apple",)
    assert topic.examples[1].context == ("document", "search query")


def test_the_example_whose_words_the_episode_uses_most_is_chosen(tmp_path: Path) -> None:
    topic = _catalog(tmp_path, EXTRAS).get("a")
    # two distinct tags beat one tag said often
    houses = "Documents, documents and documents. Prices of a house."
    assert choose_example(topic, houses).result == 6
    # plural and capital letters match by stem; a multi-word tag needs its words in a row
    assert choose_example(topic, "Search queries over Documents.").result == 4
    assert choose_example(topic, "A query to search a document.").result == 4
    # a tie keeps the earlier example; no match at all gives the stock example
    assert choose_example(topic, "One document.").result == 4
    assert choose_example(topic, "Nothing in common.") == topic.example
    assert choose_example(topic, "") == topic.example


def test_played_examples_are_skipped(tmp_path: Path) -> None:
    topic = _catalog(tmp_path, EXTRAS).get("a")
    first, second, third = topic.examples
    text = "house prices"
    assert choose_example(topic, text, exclude=(third,)) == first
    assert choose_example(topic, text, exclude={first, third}) == second
    assert choose_example(topic, text, exclude=topic.examples) is None


def test_bridges_match_the_phrase_as_the_linker_does(tmp_path: Path) -> None:
    topic = _catalog(tmp_path, EXTRAS).get("a")
    assert bridge_for(topic, "Weighted Sums") == "A weighted sum is a dot product."
    assert bridge_for(topic, "linear units") == "A linear unit computes a weighted sum."
    assert bridge_for(topic, "alias a") is None
    assert bridge_for(topic, "sum") is None


@pytest.mark.parametrize(
    ("extras", "needle"),
    [
        ("[nope]\ncontext = ['x']\n", "'nope'|nope.*not a topic"),
        ("[a]\ncolour = 1\n", "unknown key 'colour'"),
        ("[[a.examples]]\ntext = 'Two is 2.'\nexpression = '2'\nresult = 2\n", "context"),
        (
            "[[a.examples]]\ncontext = ['x']\ntext = 'Two is 2.'\nexpression = '2'\n"
            "result = 'two'\n",
            "example 2: 'result' must be a number",
        ),
        (
            "[[a.examples]]\ncontext = ['x']\ntext = 'One plus one is 2.'\n"
            "expression = '1+1'\nresult = 2\n",
            "the same worked example twice",
        ),
        ("[a.bridges]\n'gradient' = 'A sentence.'\n", "'gradient' is neither an alias"),
        ("[a.bridges]\n'alias a' = ' '\n", "'alias a': the sentence is empty"),
        ("[a]\nbridges = 3\n", "'bridges' must be a table"),
    ],
)
def test_bad_examples_files_are_rejected(tmp_path: Path, extras: str, needle: str) -> None:
    with pytest.raises(CatalogError, match=needle) as caught:
        _catalog(tmp_path, extras)
    assert "examples.toml" in str(caught.value)


def test_a_catalog_without_examples_beside_it_has_stock_examples(tmp_path: Path) -> None:
    (tmp_path / "topics.toml").write_text(TOPIC, encoding="utf-8")
    topic = load_catalog(tmp_path / "topics.toml", check_speech=False).get("a")
    assert len(topic.examples) == 1 and topic.bridges == ()


def test_packaged_bridges_and_examples(catalog: Catalog) -> None:
    dot = catalog.get("dot-product")
    assert bridge_for(dot, "weighted sum") == (
        "A weighted sum of the features is a dot product of the weights and the features."
    )
    cosine = catalog.get("distance-metrics")
    search = "We embed each document and compare it with the query by cosine similarity."
    assert "query" in (choose_example(cosine, search) or cosine.example).context


# --------------------------------------------------------------------------- the packaged content

GENERIC = {"model", "data", "learning", "machine", "algorithm", "network", "example", "number"}


def test_every_topic_has_two_tagged_examples_in_different_settings(catalog: Catalog) -> None:
    for topic in catalog.topics:
        assert len(topic.examples) >= 2, topic.id
        settings = [frozenset(tag.lower() for tag in example.context) for example in topic.examples]
        assert all(settings), f"{topic.id}: an example without context words"
        assert len(set(settings)) == len(settings), f"{topic.id}: two examples share their tags"
        for tags in settings:
            assert not tags & GENERIC, f"{topic.id}: a generic tag in {sorted(tags)}"


def _sample_episodes() -> dict[str, tuple[str, str]]:
    from companion.ingest import parse_feed, read_feed

    _show, episodes = parse_feed(read_feed(SAMPLE_FEED), str(SAMPLE_FEED))
    return {episode.slug[:7]: (episode.title, episode.description) for episode in episodes}


SAMPLE_FEED = Path(__file__).resolve().parents[1] / "companion" / "data" / "mlg.xml"


@pytest.mark.parametrize(
    ("episode", "topic_id", "setting"),
    [
        ("mlg-023", "gradient", "vanishing gradient"),  # an RNN episode: slopes over time steps
        ("mlg-023", "backpropagation", "backpropagation through time"),
        ("mlg-014", "normal-distribution", "anomaly detection"),  # flag points far from the mean
        ("mlg-014", "variance", "monitoring"),
        ("mlg-035", "distance-metrics", "query"),  # retrieval: a query against documents
        ("mlg-035", "embeddings", "RAG"),
        ("mlg-020", "naive-bayes", "word count"),
        ("mlg-020", "bayes-theorem", "spam"),
        ("mlg-005", "gradient-descent", "house"),
        ("mlg-005", "dot-product", "weighted sum"),
        ("mla-008", "descriptive-statistics", "box plot"),
        ("mlg-029", "policy-gradient", "REINFORCE"),
    ],
)
def test_a_sample_episode_gets_the_example_of_its_setting(
    catalog: Catalog, episode: str, topic_id: str, setting: str
) -> None:
    title, description = _sample_episodes()[episode]
    chosen = choose_example(catalog.get(topic_id), f"{title}\n{description}")
    assert chosen is not None and setting in chosen.context, chosen


def test_most_of_the_sample_evidence_has_a_bridge(catalog: Catalog) -> None:
    from companion.ingest import parse_feed, read_feed
    from companion.topics import link_episode

    _show, episodes = parse_feed(read_feed(SAMPLE_FEED), str(SAMPLE_FEED))
    bridged = total = 0
    for episode in episodes:
        for link in link_episode(episode, catalog):
            for evidence in link.evidence:
                total += 1
                topic = link.topic
                via = bridge_for(topic, evidence.via) if evidence.via else None
                bridged += bool(bridge_for(topic, evidence.phrase) or via)
    assert total > 40 and bridged / total >= 0.7, (bridged, total)
