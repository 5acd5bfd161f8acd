"""The linker's general rules (companion/linking/), each on a small episode written for it.

Every rule is one a reader can state; the vocabulary it uses lives in the catalog. These
episodes are invented for the rule, never copied from the dev sets.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from companion.errors import CatalogError
from companion.linking import Linker, describe, explain, link
from companion.linking.scorer import FEATURES, Row, fit, load_scorer, write_scorer
from companion.linking.text import CueSet, normalize_tokens, phrase_key
from companion.models import Catalog, Episode
from companion.topics import load_catalog

WEIGHTS_OK = "".join(f"{name} = 1.0\n" for name in FEATURES)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def linker(catalog: Catalog) -> Linker:
    return Linker.of(catalog)


def episode(title: str, description: str = "") -> Episode:
    return Episode("g", "s", title, None, None, None, description, "", "")


def ids(title: str, description: str, linker: Linker) -> list[str]:
    return [item.topic.id for item in link(episode(title, description), linker)]


def notes_of(title: str, description: str, linker: Linker, topic: str) -> list[str]:
    """The notes of every mention of ``topic`` that does not count."""
    for candidate in explain(episode(title, description), linker):
        if candidate.topic.id == topic:
            return [m.note for m in candidate.mentions if m.note]
    return []


# --- what is no evidence ------------------------------------------------------------------


def test_a_sponsor_read_is_no_evidence(linker: Linker) -> None:
    text = (
        "A conversation about careers in data.\n"
        "This episode is brought to you by Acme. Acme makes gradient descent fast, and "
        "its dashboards plot the cost function live. Use code DATA for 20% off."
    )
    assert ids("Careers", text, linker) == []
    assert set(notes_of("Careers", text, linker, "gradient-descent")) == {"in a sponsor read"}


def test_a_guest_bio_is_no_evidence(linker: Linker) -> None:
    text = (
        "Our guest is a professor of statistics whose research focuses on Bayesian "
        "inference. She holds a PhD in linear regression. We talk about her books."
    )
    assert ids("A life in numbers", text, linker) == []
    assert notes_of("A life in numbers", text, linker, "bayes-theorem") == ["in a guest bio"]


def test_a_link_list_is_no_evidence(linker: Linker) -> None:
    text = (
        "We talk about hiring data scientists.\n"
        "Resources\n"
        "- A course on gradient descent and the chain rule\n"
        "- The book Linear Regression in Practice"
    )
    assert ids("Hiring", text, linker) == []
    assert notes_of("Hiring", text, linker, "chain-rule") == ["in a link list"]
    after = text + (
        "\nIn the second half we explain how gradient descent walks downhill on "
        "the cost function, one small step at a time."
    )
    assert ids("Hiring", after, linker) == ["gradient-descent", "loss-functions"]


@pytest.mark.parametrize(
    "text",
    [
        "Next episode: gradient descent and the cost function.",
        "In the next episode we cover the chain rule.",
        "Stay tuned for our next season, with softmax and cross-entropy.",
        "Last episode we did Bayes' theorem; today is about hiring.",
    ],
)
def test_notes_about_other_episodes_are_no_evidence(linker: Linker, text: str) -> None:
    assert ids("Interview", text, linker) == []


def test_negated_mentions_do_not_count(linker: Linker) -> None:
    text = "We explain how models learn, stripping away the intimidating calculus."
    assert ids("How models learn", text + " Gradient descent, by example.", linker) == [
        "gradient-descent"
    ]


# --- where a phrase stands ----------------------------------------------------------------


def test_the_title_weighs_more_than_a_list_in_the_notes(linker: Linker) -> None:
    found = {
        c.topic.id: c
        for c in explain(
            episode("The cost function", "Topics: softmax, the dot product, eigenvalues."), linker
        )
    }
    assert [p.feature for p in found["loss-functions"].parts] == ["bias", "title"]
    assert [p.feature for p in found["softmax"].parts] == ["bias", "listed"]
    assert [m.place for m in found["softmax"].mentions] == ["listed"]
    assert found["loss-functions"].score > found["softmax"].score


def test_a_branch_of_math_named_in_a_list_is_not_enough(linker: Linker) -> None:
    text = "You need linear algebra, statistics, and calculus. Gradient descent, explained."
    assert ids("Getting started", text, linker) == ["gradient-descent"]
    assert notes_of("Getting started", text, linker, "derivatives") == [
        "a branch of math named in a list"
    ]


# --- what a phrase is ---------------------------------------------------------------------


def test_a_method_named_in_passing_does_not_pull_in_its_math(linker: Linker) -> None:
    listed = (
        "We compare models like logistic regression, k-means and lasso on churn data, "
        "scored by the mean squared error."
    )
    assert ids("Churn", listed, linker) == ["loss-functions"]
    found = {c.topic.id: c for c in explain(episode("Churn", listed), linker)}
    assert [m.feature for m in found["logistic-function"].mentions] == ["passing"]
    assert not found["logistic-function"].kept
    explained = (
        "Logistic regression squashes a weighted sum into a probability, and we fit "
        "it by minimizing the mean squared error."
    )
    assert "logistic-function" in ids("Churn", explained, linker)


def test_a_method_named_but_never_explained_does_not_count(linker: Linker) -> None:
    once = "The mean squared error of our model. We also tried lasso."
    assert "regularization" not in ids("Churn", once, linker)
    again = "The mean squared error of our model. We tried lasso. Then lasso again."
    assert "regularization" not in ids("Churn", again, linker)
    lasso = next(
        c for c in explain(episode("Churn", again), linker) if c.topic.id == "regularization"
    )
    assert lasso.reason.startswith("dropped: score")
    assert [p.feature for p in lasso.parts] == ["bias", "passing"]
    explained = "The mean squared error of our model. We tried lasso, which zeroes out weights."
    assert "regularization" in ids("Churn", explained, linker)
    titled = "The mean squared error of our model, and lasso again."
    assert "regularization" in ids("Lasso", titled, linker)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("A maximum entropy model for tagging, scored by its cost function.", "entropy"),
        ("Gradient boosting on tabular data, scored by its cost function.", "gradient"),
        (
            "Picking models with the Bayesian Information Criterion and a cost function.",
            "bayes-theorem",
        ),
        ("A Policy Gradient Reinforcement Learning Machine with a cost function.", "gradient"),
    ],
)
def test_a_named_method_that_contains_a_topic_word_is_not_that_topic(
    linker: Linker, text: str, absent: str
) -> None:
    found = ids("Models", text, linker)
    assert "loss-functions" in found and absent not in found
    if absent != "gradient" or "Policy" in text:  # gradient boosting is a method of its own
        notes = notes_of("Models", text, linker, absent)
        assert any(note.startswith("part of") for note in notes)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("The model is trained by averaging the squared errors over the data.", "loss-functions"),
        ("We estimate the probability of the data given the model.", "conditional-probability"),
        ("Learning is empirical risk minimization.", "loss-functions"),
        ("Entropy is a measure of the unpredictability of a system.", "entropy"),
    ],
)
def test_a_topic_explained_in_other_words_counts(linker: Linker, text: str, topic: str) -> None:
    assert topic in ids("An episode", text, linker)


def test_hints_need_a_clear_mention(linker: Linker) -> None:
    assert ids("The matrix", "A vector of calculus and tensors.", linker) == []
    found = ids("The matrix", "A vector of calculus and tensors, with softmax.", linker)
    assert {"softmax", "matrices", "vectors", "derivatives"} <= set(found)


# --- explain ------------------------------------------------------------------------------


def test_explain_shows_every_candidate_with_its_reason(linker: Linker) -> None:
    ep = episode(
        "Gradient descent",
        "Next episode: softmax.\nWe use a matrix.\nSponsored by Acme: the chain rule for less.",
    )
    found = {c.topic.id: c for c in explain(ep, linker)}
    assert found["gradient-descent"].kept
    best = found["gradient-descent"]
    threshold = linker.scorer.threshold
    assert best.reason == f"kept: score {best.score:g} reaches {threshold:g}"
    assert found["matrices"].kept  # a hint, in an episode that names a topic clearly
    assert found["softmax"].reason == "dropped: no mention counts"
    assert found["chain-rule"].mentions[0].note == "in a sponsor read"
    lines = describe(explain(ep, linker))
    assert lines[0].split()[:3] == ["KEPT", "gradient-descent", f"{best.score:.2f}"]
    assert lines[1].split()[:5] == ["parts:", "bias", f"{linker.scorer.bias:+.2f}", "title", "1"]
    assert any("not counted: about another episode" in line for line in lines)


def test_link_keeps_only_kept_candidates_best_first(linker: Linker) -> None:
    ep = episode("Softmax", "The chain rule. A matrix.")
    assert [item.topic.id for item in link(ep, linker)] == [
        c.topic.id for c in explain(ep, linker) if c.kept
    ]


# --- phrases and cues ---------------------------------------------------------------------


def test_a_star_in_a_phrase_stands_for_one_to_three_words() -> None:
    def stems(text: str) -> list[str]:
        return [t[0] for t in normalize_tokens(text)]

    cues = CueSet(["probability of * given"])
    assert cues.find(stems("the probability of the training data given a model")) == 1
    assert cues.find(stems("probability of given")) == -1
    assert cues.find(stems("probability of one two three four given")) == -1
    assert phrase_key("learn * with") == ("learn", "*", "with")


def _catalog_with(tmp_path: Path, extra: str) -> Path:
    text = (Path(__file__).resolve().parents[1] / "companion" / "data" / "topics.toml").read_text(
        "utf-8"
    )
    path = tmp_path / "topics.toml"
    path.write_text(text + "\n" + extra, "utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[implications]]\nconcept = "x"\ntopics = []\nkind = "vague"\n',
            "implication 'x': kind must be one of hint, branch, term, method",
        ),
        (
            '[[implications]]\nconcept = "x"\nconcepts = ["y"]\ntopics = []\n',
            "needs either 'concept' or 'concepts'",
        ),
        (
            '[[implications]]\nconcepts = ["x"]\ntopics = []\nweight = 2\n',
            "implication 'x': unknown key 'weight'",
        ),
    ],
)
def test_bad_vocabulary_is_named(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_catalog(_catalog_with(tmp_path, extra), check_speech=False)


def test_an_unknown_cue_list_is_named(tmp_path: Path) -> None:
    text = (
        _catalog_with(tmp_path, "")
        .read_text("utf-8")
        .replace("[linking]\n", "[linking]\nsponsors = []\n")
    )
    path = tmp_path / "cues.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(CatalogError, match=r"\[linking\]: unknown key 'sponsors'"):
        load_catalog(path, check_speech=False)


# --- version 2 topics: named methods and products -------------------------------------------


@pytest.mark.parametrize(
    ("title", "text", "absent"),
    [
        (
            "Project: a trading bot",
            "We will use models such as LSTM recurrent neural networks and "
            "convolutional neural networks, and compare tanh v relu, hypers, batch sizes.",
            {"recurrent-networks", "convolution", "activation-functions"},
        ),
        (
            "Emotions in faces",
            "We review clustering methods including K-means clustering, "
            "Spectral Clustering, and Stochastic Neighborhood Embedding.",
            {"embeddings"},
        ),
        (
            "Large Language Models 2",
            "Agents, benchmarks and prompt engineering for large language models.",
            {"language-modeling"},
        ),
        ("NLP packages: transformers, spaCy, NLTK", "Which library for which job.", {"attention"}),
    ],
)
def test_methods_and_products_named_in_passing(
    linker: Linker, title: str, text: str, absent: set[str]
) -> None:
    assert not absent & set(ids(title, text, linker))


@pytest.mark.parametrize(
    ("title", "text", "present"),
    [
        (
            "Deep NLP",
            "Recurrent neural networks (RNNs) loop back onto previous steps to handle "
            "sequences over time; an LSTM cell has a forget gate.",
            "recurrent-networks",
        ),
        (
            "Transformers",
            "The attention mechanism compares embeddings using dot products.",
            "attention",
        ),
        (
            "Trees",
            "Entropy is a measure of unpredictability, and a decision tree splits on the "
            "feature with the most information gain.",
            "decision-trees",
        ),
        (
            "k-Nearest Neighbors",
            "It finds the k closest examples under a distance function.",
            "k-nearest-neighbors",
        ),
        (  # "by" and a word in -ing: the sentence explains the method
            "Text",
            "Naive Bayes classifies documents by applying the chain rule to word counts.",
            "naive-bayes",
        ),
    ],
)
def test_methods_that_the_episode_explains(
    linker: Linker, title: str, text: str, present: str
) -> None:
    assert present in ids(title, text, linker)


def test_a_name_repeated_in_brackets_is_one_mention(catalog: Catalog) -> None:
    found = {
        c.topic.id: c
        for c in explain(
            episode("Translation", "These employ recurrent neural networks (RNNs) to translate."),
            catalog,
        )
    }
    assert len(found["recurrent-networks"].mentions) == 1
    assert not found["recurrent-networks"].kept


# --- issue 14.3: rules that generalize to unseen shows --------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Take the scores, exponentiate each one, and divide by their sum.", "softmax"),
        ("Subtract the truth from each guess, square the difference.", "loss-functions"),
        ("Each round we nudge every weight a little downhill on the loss.", "gradient-descent"),
        ("Points join their closest center; centers move to the mean.", "k-means-clustering"),
        ("A song becomes a list of 128 numbers.", "vectors"),
        ("The error flows backwards through the network, layer by layer.", "backpropagation"),
        ("Multiply the local slopes of each step together.", "chain-rule"),
        ("Randomly turning off half the neurons while it trains.", "dropout"),
        ("A word's chance given the words before it.", "conditional-probability"),
        ("Each new tree fits the errors the previous trees make.", "ensembles-and-boosting"),
        ("With enough features, points are all equally far apart.", "curse-of-dimensionality"),
    ],
)
def test_a_topic_described_in_everyday_words_counts(linker: Linker, text: str, topic: str) -> None:
    assert topic in ids("An episode", text, linker)


def test_the_parts_of_a_description_stand_in_one_sentence(linker: Linker) -> None:
    assert "softmax" in ids("Scores", "We exponentiate the scores and divide by the sum.", linker)
    apart = "We exponentiate the scores. Then, later, we divide the class by two."
    assert "softmax" not in ids("Scores", apart, linker)


def test_a_phrase_in_parts_on_the_words_of_a_whole_phrase_is_one_mention(
    linker: Linker,
) -> None:
    """'the probability of * given' and 'probability ... given' match the same words once."""
    text = "We estimate the probability of the training data given the model."
    (candidate,) = [
        c
        for c in explain(episode("Models", text), linker)
        if c.topic.id == "conditional-probability"
    ]
    assert len(candidate.mentions) == 1


def test_a_name_that_is_an_alias_and_implies_more_counts_each_topic_once(
    linker: Linker,
) -> None:
    """'boosted trees' is an alias of ensembles and implies decision trees: one mention each."""
    found = explain(episode("Boosted trees in production"), linker)
    assert {c.topic.id: len(c.mentions) for c in found} == {
        "ensembles-and-boosting": 1,
        "decision-trees": 1,
    }


def test_words_inside_a_description_still_count(linker: Linker) -> None:
    text = "Generation starts from pure Gaussian noise and walks downhill on the cost function."
    found = ids("Images", text, linker)
    assert {"diffusion-models", "normal-distribution", "gradient-descent", "loss-functions"} <= set(
        found
    )


def test_an_acronym_counts_only_in_capitals(linker: Linker) -> None:
    assert ids("Friends", "Mae and Gan met at the lake; Mae's dog swam.", linker) == []
    assert "loss-functions" in ids("Forecasts", "We judged every model by its MAE.", linker)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("It is gradient boosting: shallow trees, each fixing the last.", "ensembles-and-boosting"),
        ("Dropout (randomly zeroing units while training) keeps it honest.", "dropout"),
        ("We end with perplexity, a way to say how unsure the model is.", "language-modeling"),
    ],
)
def test_a_method_is_explained_by_a_gloss_after_its_name(
    linker: Linker, text: str, topic: str
) -> None:
    assert topic in ids("An episode", text, linker)


def test_an_explaining_cue_is_a_whole_word(linker: Linker) -> None:
    text = "They moved to LightGBM and scored it by mean squared error."
    found = {c.topic.id: c for c in explain(episode("Forecasts", text), linker)}
    assert not found["ensembles-and-boosting"].kept
    assert [m.place for m in found["ensembles-and-boosting"].mentions] == ["prose"]


def test_a_bracketed_gloss_stays_with_its_list_item(linker: Linker) -> None:
    text = "Batch norm, skip connections and dropout (randomly zeroing units) as a regularizer."
    found = ids("Tricks", text, linker)
    assert "dropout" in found and "normalization-layers" not in found


def test_a_title_that_lists_stories_is_a_list(linker: Linker) -> None:
    title = "Chip news, a vector database round, and a new CEO"
    assert ids(title, "This week's headlines, with links.", linker) == []


def test_a_cited_papers_name_is_what_the_episode_is_about(linker: Linker) -> None:
    text = "We read Compute-Optimal Vision Models (Doe et al., 2031) and its tables."
    assert "scaling-laws" in ids("Paper club", text, linker)
    bayes = (
        "We read Sparse Variational Bayes Networks (Doe & Roe, 2030) and its KL divergence term."
    )
    found = ids("Sparse Variational Bayes Networks", bayes, linker)
    assert "kl-divergence" in found and "bayesian-inference" not in found
    notes = notes_of("Sparse Variational Bayes Networks", bayes, linker, "bayesian-inference")
    assert notes == ["an ambiguous word in the name of a paper"] * 2


def test_a_timestamped_line_of_the_notes_is_a_chapter_title(linker: Linker) -> None:
    text = "A chat with a fraud team.\nTimestamps:\n- 00:00 Intro\n- 12:40 Random forests at work"
    found = {c.topic.id: c for c in explain(episode("Fraud", text), linker)}
    assert found["ensembles-and-boosting"].kept
    mention = found["ensembles-and-boosting"].mentions[0]
    assert (mention.place, mention.evidence.start) == ("chapter", 760.0)


@pytest.mark.parametrize(
    "text",
    [
        "Coming in season 5: the chain rule, softmax and eigenvalues.",
        "We'll spend three episodes on gradient descent and two on the dot product.",
        "We will close the year with an episode on Bayes' theorem.",
    ],
)
def test_plans_for_other_episodes_are_outlines(linker: Linker, text: str) -> None:
    assert ids("Housekeeping", text, linker) == []


def test_this_episodes_plan_is_evidence(linker: Linker) -> None:
    text = "In this episode we'll work through gradient descent step by step."
    assert ids("Learning", text, linker) == ["gradient-descent"]


def test_a_contrast_between_two_instances_keeps_the_topic(linker: Linker) -> None:
    text = "Euclidean distance is not cosine similarity, and the gap matters for text."
    notes = notes_of("Search", text, linker, "distance-metrics")
    assert "negated" not in notes
    assert ids("Search", "We do not need cosine similarity here.", linker) == []


def test_a_technique_in_a_career_story_is_in_passing(linker: Linker) -> None:
    text = (
        "Our guest left astronomy for retail analytics. Her thesis ran Monte Carlo "
        "simulations of galaxy mergers. Now she fixes dashboards."
    )
    assert ids("From stars to stores", text, linker) == []
    assert notes_of("From stars to stores", text, linker, "sampling-and-monte-carlo") == [
        "in a guest bio"
    ]


def test_a_name_brings_in_only_its_own_topic(linker: Linker) -> None:
    text = "The loss adds a KL divergence term; the sampler is a Markov chain."
    found = ids("Generative models", text, linker)
    assert {"kl-divergence", "markov-chains"} <= set(found)
    assert not {"cross-entropy", "conditional-probability"} & set(found)


def test_a_percent_sign_reads_percent(linker: Linker) -> None:
    assert [t[0] for t in normalize_tokens("a 30% chance")] == ["a", "30", "percent", "chanc"]
    text = "A 30% chance of rain, and the standard deviation of the forecasts."
    assert "probability-basics" in ids("Forecasts", text, linker)


# Version 2 of the labels names a model's own topic where the episode reviews or explains it.
@pytest.mark.parametrize(
    ("title", "text", "topic"),
    [
        (
            "Emotions in faces",
            "We review clustering methods including K-means clustering, "
            "Spectral Clustering, and Stochastic Neighborhood Embedding.",
            "k-means-clustering",
        ),
        (
            "Guessing games",
            "This approach is a variation of the widely used machine learning "
            "method of Expectation-Maximization.",
            "gaussian-mixtures-and-em",
        ),
        ("Ask us anything", "What are CNNs? And what tools do we use every day?", "convolution"),
        (
            "Making GANs practical",
            "We discuss the basics of GANs and where they fail.",
            "generative-adversarial-networks",
        ),
    ],
)
def test_a_model_the_episode_introduces_counts(
    linker: Linker, title: str, text: str, topic: str
) -> None:
    assert topic in ids(title, text, linker)


# --- words in another sense ---------------------------------------------------------------


def test_a_measure_of_a_road_is_not_a_gradient(linker: Linker) -> None:
    text = (
        "The last climb has a gradient of 9% over four kilometres, and a 12% gradient near the top."
    )
    assert ids("Riding the Alps", text, linker) == []
    assert set(notes_of("Riding the Alps", text, linker, "gradient")) == {
        "a measure in percent (a road's gradient, a budget's variance)"
    }
    assert "gradient" in ids("Slopes", "The gradient of the loss points uphill.", linker)


def test_a_company_named_like_a_topic_is_not_the_topic(linker: Linker) -> None:
    text = "We sit down with the CTO at Perplexity to talk about their answer engine."
    assert ids("Search engines", text, linker) == []
    assert notes_of("Search engines", text, linker, "language-modeling") == [
        "a name written with a capital ('Perplexity')"
    ]
    metric = "A lower perplexity means the language model is less surprised by the next word."
    assert "language-modeling" in ids("Evaluating models", metric, linker)


def test_a_product_named_like_a_topic_is_not_the_topic(linker: Linker) -> None:
    text = "Nvidia's Tensor Cores make training fast, and we compare the prices of GPUs."
    assert ids("Hardware", text, linker) == []
    assert notes_of("Hardware", text, linker, "matrices") == [
        "a name written with a capital ('Tensor')"
    ]


def test_a_publication_named_like_a_topic_is_not_the_topic(linker: Linker) -> None:
    for text in (
        "Our pick this week is an essay from The Gradient on speech datasets.",
        "Gradient article: new datasets for speech recognition.",
    ):
        assert ids("Reading list", text, linker) == [], text


def test_a_named_method_with_a_topic_word_is_not_that_topic(linker: Linker) -> None:
    text = "We use Bayesian optimization to tune the hyperparameters of our models."
    found = ids("Tuning", text, linker)
    assert "bayes-theorem" not in found
    assert found == ["bayesian-inference"]


def test_a_sponsor_list_is_no_evidence(linker: Linker) -> None:
    text = (
        "Sponsors:\n"
        "- Acme – the graph database for connected data, with PageRank built in. Try it free.\n"
        "We talk about hiring."
    )
    assert ids("Hiring", text, linker) == []
    assert set(notes_of("Hiring", text, linker, "graphs")) == {"in a sponsor read"}


def test_a_link_list_of_guests_is_no_evidence(linker: Linker) -> None:
    listed = "Featuring:\n- Adam Smith – Website, GitHub, LinkedIn\n- Eve Entropy – Website, X"
    about = (
        "In this episode we talk about the cost function, and why the squared error is "
        "the usual choice when a model predicts a number."
    )
    assert ids("Our guests", listed + "\n" + about, linker) == ["loss-functions"]
    assert notes_of("Our guests", listed, linker, "entropy") == ["in a link list"]
    line = "Adam Smith – Website, GitHub, LinkedIn\nWe explain the cost function."
    assert notes_of("Guests", line, linker, "stochastic-gradient-descent") == ["in a link list"]


def test_a_person_named_like_a_hint_is_not_the_hint(linker: Linker) -> None:
    text = "Adam Smith joins us to talk about the cost function of a churn model."
    assert notes_of("Churn", text, linker, "stochastic-gradient-descent") == [
        "part of a person's or product's name ('Adam')"
    ]
    assert ids("Churn", text, linker) == ["loss-functions"]


def test_a_subtitle_after_a_colon_does_not_explain_a_method(linker: Linker) -> None:
    text = "Fine-Tuning Pretrained Language Models: Weight Initializations and Early Stopping"
    assert ids("Green computing", "- " + text, linker) == []


# --- the learned decision -----------------------------------------------------------------


def test_the_packaged_weights_load_and_score_in_order(linker: Linker) -> None:
    scorer = load_scorer()
    assert scorer == linker.scorer
    title = scorer.probability({"title": 1.0})
    passing = scorer.probability({"passing": 1.0})
    alone = scorer.probability({"passing": 1.0, "alone": 1.0})
    assert title > scorer.threshold > passing > alone


def test_a_fit_learns_which_feature_says_gold_and_picks_a_threshold() -> None:
    rows = [Row({"sentence": 1.0}, True)] * 30 + [Row({"passing": 1.0}, False)] * 30
    rows += [Row({"sentence": 1.0}, False)] * 3 + [Row({"passing": 1.0}, True)] * 3
    scorer = fit(rows, missed=0)
    assert scorer.weight("sentence") > 0 > scorer.weight("passing")
    assert scorer.weight("spoken") == scorer.weight("sentence")  # tied: no labelled transcripts
    assert scorer.probability({"sentence": 1.0}) >= scorer.threshold
    assert scorer.probability({"passing": 1.0}) < scorer.threshold


def test_weights_are_written_and_read_back(tmp_path: Path) -> None:
    scorer = fit([Row({"title": 1.0}, True), Row({"hint": 1.0}, False)] * 5, missed=1)
    path = tmp_path / "weights.toml"
    write_scorer(scorer, path, "python benchmarks/score_linking.py --fit")
    assert load_scorer(path) == scorer
    assert "score_linking.py --fit" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bias = 0.1\nthreshold = 0.5\n[weights]\ntitle = 1.0\n", "[weights] must give exactly"),
        ("bias = 'x'\nthreshold = 0.5\n[weights]\n" + WEIGHTS_OK, "must be numbers"),
        ("bias = 0.1\nthreshold = 1.5\n[weights]\n" + WEIGHTS_OK, "is not between 0 and 1"),
        ("bias = = 0.1", "cannot read the linking weights"),
    ],
)
def test_bad_weights_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "weights.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=re.escape(message)) as caught:
        load_scorer(path)
    assert str(path) in str(caught.value)


def test_a_linker_is_made_once_and_links_like_the_catalog(catalog: Catalog, linker: Linker) -> None:
    ep = episode("Gradient descent", "We nudge the weights downhill on the cost function.")
    assert link(ep, linker) == link(ep, catalog)
    assert Linker.of(catalog, linker.scorer).scorer is linker.scorer
