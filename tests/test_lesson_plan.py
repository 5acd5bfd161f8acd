"""Planning an episode lesson: centrality, treatments, memory across the feed, the budget."""

from __future__ import annotations

from dataclasses import replace

from companion.facets import facets_for
from companion.lesson_plan import (
    Heard,
    TopicPlan,
    _sentences,
    facets_of,
    formula_shape,
    one_thought,
    plan_lesson,
    promotable,
    shrink,
)
from companion.models import Episode, Evidence, TopicLink
from companion.topics import load_catalog

CATALOG = load_catalog()


def episode(title: str, description: str, slug: str = "ep") -> Episode:
    return Episode("g-" + slug, slug, title, None, None, None, description, "", "")


def link(topic_id: str, *evidence: Evidence, score: float = 1.0) -> TopicLink:
    return TopicLink(CATALOG.get(topic_id), score, evidence)


def said(phrase: str, sentence: str, field: str = "description", via: str = "") -> Evidence:
    return Evidence(field, phrase, sentence, via)  # type: ignore[arg-type]


RNN = episode(
    "Deep language models",
    "Recurrent networks read words as vectors. Training one applies the chain rule through "
    "time, and an LSTM cell keeps its memory with gates.",
)
RNN_LINKS = (
    link("vectors", said("vectors", "Recurrent networks read words as vectors.")),
    link("chain-rule", said("chain rule", "Training one applies the chain rule through time.")),
    link(
        "recurrent-networks",
        said("Recurrent networks", "Recurrent networks read words as vectors."),
        said("LSTM cell", "an LSTM cell keeps its memory with gates."),
        score=1.8,
    ),
)


def test_topics_come_by_centrality_and_prerequisites_become_pointers() -> None:
    plan = plan_lesson(RNN, RNN_LINKS, CATALOG)
    assert plan.topic_ids[0] == "recurrent-networks"  # not vectors, the catalogue's first
    assert plan.chapters[0].treatment == "full"
    assert [p.topic.id for p in plan.pointers] == ["vectors"]  # it builds on vectors
    assert plan.chapters[0].rests_on == (CATALOG.get("vectors"),)
    assert plan.pointers[0].explanation.count(". ") == 0  # one sentence
    full = plan.chapters[0]
    topic = full.topic
    assert full.quiz == topic.quizzes[0] and full.equations and full.example is not None


def test_a_topic_the_title_names_is_taught_and_never_cut_to_one_sentence() -> None:
    titled = episode("Vectors, and why they matter", RNN.description)
    links = (
        link("vectors", said("Vectors", titled.title, "title"), *RNN_LINKS[0].evidence),
        *RNN_LINKS[1:],
    )
    plan = plan_lesson(titled, links, CATALOG)
    assert "vectors" in plan.topic_ids and not plan.pointers
    assert plan.topic_ids[0] == "vectors"
    chapter = next(c for c in plan.chapters if c.topic.id == "vectors")
    assert chapter.treatment == "full"
    smallest = plan
    while (smaller := shrink(smallest)) is not None:
        smallest = smaller
    kept = next(c for c in smallest.chapters if c.topic.id == "vectors")
    assert kept.equations  # the idea and an equation at the least


def test_shrinking_takes_from_the_least_central_chapter_first() -> None:
    ep = episode("Odds and ends", "Entropy, attention and convolution, all three.")
    links = (
        link("attention", said("attention", ep.description), score=2.0),
        link("entropy", said("Entropy", ep.description), score=1.5),
        link("convolution", said("convolution", ep.description), score=1.0),
    )
    plan = plan_lesson(ep, links, CATALOG)
    assert plan.topic_ids == ("attention", "entropy", "convolution")
    smaller = shrink(plan)
    assert smaller is not None
    assert smaller.chapters[:2] == plan.chapters[:2]
    assert smaller.chapters[2] != plan.chapters[2]
    while (next_one := shrink(smaller)) is not None:
        smaller = next_one
    assert smaller.chapters[0] == plan.chapters[0]  # the centre stays whole


def test_memory_never_plays_a_facet_twice_and_recalls_by_lesson() -> None:
    first = plan_lesson(RNN, RNN_LINKS, CATALOG)
    heard = Heard().after(first, "MLG 023 Deep NLP 2")
    again = plan_lesson(episode("More on RNNs", RNN.description, "ep-2"), RNN_LINKS, CATALOG, heard)
    chapter = again.chapters[0]
    assert chapter.treatment == "recall" and chapter.met_in == "MLG 023 Deep NLP 2"
    assert not facets_of(chapter) & facets_of(first.chapters[0])
    assert chapter.quiz == chapter.topic.quizzes[1]  # a question not heard yet
    assert again.pointers[0].met_in == "MLG 023 Deep NLP 2"
    assert again.pointers[0].explanation == ""  # vectors: not said again
    third = plan_lesson(
        episode("RNNs again", RNN.description, "ep-3"),
        RNN_LINKS,
        CATALOG,
        heard.after(again, "More on RNNs"),
    )
    assert third.chapters[0].met_in == "More on RNNs"  # the latest lesson that played it
    assert third.chapters[0].quiz == third.chapters[0].topic.quizzes[2]


def test_a_pointer_the_episode_names_in_its_own_right_can_be_promoted() -> None:
    ep = episode(
        "Reinforcement learning",
        "Q-learning uses the Bellman equation, while policy gradient methods learn directly.",
    )
    sentence = ep.description
    links = (
        link("policy-gradient", said("policy gradient", sentence), score=1.5),
        link("gradient", said("policy gradient", sentence)),
        link("markov-decision-processes", said("Bellman equation", sentence)),
    )
    plan = plan_lesson(ep, links, CATALOG)
    assert plan.topic_ids == ("policy-gradient",)
    assert promotable(plan) == ("markov-decision-processes",)  # "gradient" is only in a name
    grown = plan_lesson(ep, links, CATALOG, promoted=frozenset(promotable(plan)))
    assert grown.topic_ids == ("policy-gradient", "markov-decision-processes")
    mdp = grown.chapters[1]
    assert "Bellman" in mdp.equations[0].meaning  # the equation the episode talks about


def test_a_member_chapter_plays_the_facet_and_shrinks_to_its_first_sentence() -> None:
    """The RNN episode names the LSTM: the full chapter plays the family's core (two
    sentences) and the LSTM facet, never the family's own example or question; shrunk, the
    core's first sentence, the facet's first sentence and one of its equations; a later
    lesson plays none of the facet again."""
    facets = facets_for(CATALOG)
    lstm = next(f for f in facets.facets if f.id == "lstm")
    rnn = CATALOG.get("recurrent-networks")
    plan = plan_lesson(RNN, RNN_LINKS, CATALOG, facets=facets)
    full = plan.chapters[0]
    assert full.facet == lstm and full.teaches_member
    assert full.distinction == lstm.distinction and full.equations == lstm.equations
    assert full.example == lstm.example and full.quiz == lstm.quizzes[0]
    assert full.example not in rnn.examples and full.quiz not in rnn.quizzes
    assert full.explanation.count(". ") == 1  # the core: two sentences
    assert ("recurrent-networks", "facet:lstm:quiz:0") in facets_of(full)
    second = replace(full, number=2)
    smaller = shrink(replace(plan, chapters=(plan.chapters[0], second)))
    assert smaller is not None
    short = smaller.chapters[1]
    assert short.treatment == "short" and short.example is None and short.quiz is None
    assert short.distinction == lstm.distinction.split(". ")[0] + "."
    assert short.equations == lstm.equations[:1]
    heard = Heard().after(plan, "the first lesson")
    again = plan_lesson(RNN, RNN_LINKS, CATALOG, heard, facets=facets).chapters[0]
    assert not again.teaches_member  # nothing of the facet is new: the family's own parts
    assert not set(again.equations) & set(lstm.equations) and again.example != lstm.example


def test_a_short_chapter_never_puts_an_equation_after_a_sentence_about_another_member() -> None:
    """Distance metrics heard before up to Manhattan: an episode on cosine similarity gets
    the cosine sentence with the cosine equation, never 'Cosine similarity ignores length.
    As an equation:' and the Euclidean distance."""
    topic = CATALOG.get("distance-metrics")
    sentences = list(enumerate(_sentences(topic.explanation)))
    euclid, cosine = topic.equations
    plan = TopicPlan(
        topic, 1, "short", evidence=(said("cosine similarity", "Found by cosine similarity."),)
    )
    later = [(i, s) for i, s in sentences if i >= 3]
    assert one_thought(plan, later, (euclid, cosine)) == (sentences[3][1], (cosine,))
    # the cosine equation was heard: the cosine sentence plays alone
    assert one_thought(plan, later, (euclid,)) == (sentences[3][1], ())
    # a first meeting: the opening idea, then the equation closest to the mentions
    assert one_thought(plan, sentences, (euclid, cosine))[1] == (cosine,)


def test_a_short_chapter_skips_a_sentence_that_says_its_bridge_again() -> None:
    topic = CATALOG.get("sampling-and-monte-carlo")
    bridge = (
        "A Monte Carlo simulation estimates an expected value by averaging over many random "
        "samples."
    )
    plan = TopicPlan(topic, 1, "brief", bridge=bridge)
    sentences = list(enumerate(_sentences(topic.explanation)))
    sentence, _ = one_thought(plan, sentences, ())
    assert sentence.startswith("The law of large numbers"), sentence
    assert one_thought(replace(plan, bridge=""), sentences, ())[0] == sentences[0][1]


def test_a_formula_heard_in_other_letters_counts_as_heard() -> None:
    cosine_ab = r"\cos\theta = \frac{a \cdot b}{\|a\| \|b\|}"
    cosine_xy = r"\cos \theta = \frac{x \cdot y}{\lVert x \rVert \lVert y \rVert}"
    assert formula_shape(cosine_ab) == formula_shape(cosine_xy)
    assert formula_shape(r"a - b") != formula_shape(r"a - a")
    assert formula_shape(r"x^2 + y") != formula_shape(r"x + y^2")
    topic = CATALOG.get("distance-metrics")
    cosine = topic.equations[1]
    played = TopicPlan(topic, 1, "short", equations=(replace(cosine, latex=cosine_xy),))
    heard = Heard(facets=frozenset(facets_of(played)))
    assert (topic.id, "equation:1") not in heard.facets  # not the topic's own record ...
    later = plan_lesson(
        episode("Search", "Documents are ranked by cosine similarity."),
        (link("distance-metrics", said("cosine similarity", "ranked by cosine similarity")),),
        CATALOG,
        heard,
    )
    chapter = later.chapters[0]
    assert cosine not in chapter.equations  # ... yet its formula is not played again


def test_a_recall_with_nothing_new_is_no_chapter() -> None:
    """'Back to Entropy, last heard in ...' followed by nothing is not a chapter; a recall
    with something new to play still is."""
    ep = episode("Odds and ends", "Entropy and attention, both.")
    links = (
        link("attention", said("attention", ep.description), score=2.0),
        link("entropy", said("Entropy", ep.description), score=1.0),
    )
    entropy = CATALOG.get("entropy")
    everything = {
        *(f"sentence:{i}" for i in range(len(_sentences(entropy.explanation)))),
        "explanation",
        *(f"equation:{i}" for i in range(len(entropy.equations))),
        *(f"example:{e.text}" for e in entropy.examples),
        *(f"quiz:{i}" for i in range(len(entropy.quizzes))),
    }
    all_heard = Heard({"entropy": "Old"}, frozenset(("entropy", part) for part in everything))
    assert plan_lesson(ep, links, CATALOG, all_heard).topic_ids == ("attention",)
    some_heard = Heard({"entropy": "Old"}, frozenset({("entropy", "explanation")}))
    plan = plan_lesson(ep, links, CATALOG, some_heard)
    assert plan.topic_ids == ("attention", "entropy")
    assert plan.chapters[1].treatment == "recall" and plan.chapters[1].equations
    # shrinking the recall to nothing takes the chapter away
    while (smaller := shrink(plan)) is not None and len(smaller.chapters) == 2:
        plan = smaller
    assert smaller is not None and smaller.topic_ids == ("attention",)
