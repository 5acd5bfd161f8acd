"""The linker's decision: a small logistic regression over a candidate topic's mentions.

A candidate topic's counted mentions become a few features (FEATURES: where the topic is
named and how); its score is the probability ``1 / (1 + exp(-(bias + sum(weight * value))))``
and it is kept when the score reaches the threshold. The weights and the threshold live in
``companion/data/link_scorer.toml``; ``python benchmarks/score_linking.py --fit`` refits them
on every labelled development show and rewrites that file (``--loso`` fits them on all shows
but one and scores the one left out).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from companion.errors import CatalogError
from companion.files import atomic_write

__all__ = ["FEATURES", "Part", "Row", "Scorer", "fit", "load_scorer", "write_scorer"]

# name -> what it says. A topic named clearly gets 1 for the best place it is named in (title,
# heading, sentence, method, listed, in that order) and "more" for its other clear mentions;
# one that is not gets its weaker mentions. A count n adds up like mentions that each weigh
# half the one before (2 * (1 - 0.5**n): 1, 1.5, 1.75, ...); "spoken" is capped at 1.
FEATURES: dict[str, str] = {
    "title": "named clearly in the episode's title",
    "heading": "named clearly in a heading, a chapter title or a glossary label (at best)",
    "sentence": "named clearly in a sentence of the notes (at best)",
    "method": "a named method explained in its sentence (at best)",
    "listed": "named clearly only as items of lists",
    "more": "further clear mentions beyond the best one",
    "named": 'a model or method named in passing whose name is the topic\'s own ("GANs")',
    "passing": "a named method in passing: a list, or a sentence that does not explain it",
    "hint": "an ambiguous word or a branch of math (counted only when not alone)",
    "alone": "nothing in the episode names any topic clearly",
    "spoken": "mentions in the transcript (weighs what a sentence of the notes weighs)",
}
# No development show has labelled transcripts: a transcript's mentions (at most 1 in all)
# weigh what a clear name in a sentence of the notes weighs.
TIED = {"spoken": "sentence"}
DEFAULT_PATH = "data/link_scorer.toml"
L2 = 0.5  # pull of each weight towards its PRIOR in the fit: a few dozen episodes per show
# What the fit starts from and is pulled back to where the data says little (a feature few
# episodes have): the order of the rules before the fit (the title more than a heading, a
# heading more than a sentence, a list least; a method in passing and "alone" against).
PRIOR: dict[str, float] = {
    "title": 3.0,
    "heading": 2.5,
    "sentence": 2.0,
    "method": 2.0,
    "listed": 1.0,
    "more": 1.0,
    "named": 0.0,
    "passing": -1.0,
    "hint": 1.0,
    "alone": -2.0,
}
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(13))  # 0.2 .. 0.8


@dataclass(frozen=True, slots=True)
class Part:
    """One feature's part in a candidate's score."""

    feature: str
    value: float
    weight: float

    @property
    def share(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True, slots=True)
class Scorer:
    bias: float
    weights: tuple[float, ...]  # in FEATURES order
    threshold: float

    def weight(self, feature: str) -> float:
        return self.weights[list(FEATURES).index(feature)]

    def parts(self, values: Mapping[str, float]) -> tuple[Part, ...]:
        """The bias and each feature's part in the score (value x weight)."""
        return (
            Part("bias", 1.0, self.bias),
            *(
                Part(name, values.get(name, 0.0), w)
                for name, w in zip(FEATURES, self.weights, strict=True)
                if values.get(name, 0.0)
            ),
        )

    def probability(self, values: Mapping[str, float]) -> float:
        z = sum(p.share for p in self.parts(values))
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


@dataclass(frozen=True, slots=True)
class Row:
    """One candidate topic of one labelled episode: its features and whether the gold has it."""

    values: Mapping[str, float]
    gold: bool


def count_value(count: int) -> float:
    return 2.0 * (1.0 - 0.5**count)


def fit(rows: Sequence[Row], missed: int) -> Scorer:
    """Weights by logistic regression (Newton's method) over ``rows``, each weight pulled
    towards its PRIOR (a Gaussian prior: L2 around it), then the
    threshold of THRESHOLDS with the best F1 on them (``missed``: gold links no candidate
    has). A TIED feature takes the weight of the feature it is tied to."""
    import numpy as np

    names = [n for n in FEATURES if n not in TIED]
    x = np.array([[1.0] + [r.values.get(n, 0.0) for n in names] for r in rows])
    y = np.array([1.0 if r.gold else 0.0 for r in rows])
    penalty = np.diag([0.0] + [L2] * len(names))
    prior = np.array([0.0] + [PRIOR[n] for n in names])
    w = prior.copy()
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
        grad = x.T @ (p - y) + penalty @ (w - prior)
        hess = (x * (p * (1 - p))[:, None]).T @ x + penalty + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    fitted = dict(zip(names, (float(v) for v in w[1:]), strict=True))
    weights = tuple(round(fitted[TIED.get(n, n)], 4) for n in FEATURES)
    scorer = Scorer(round(float(w[0]), 4), weights, 0.5)
    probs = [scorer.probability(r.values) for r in rows]
    best = max(THRESHOLDS, key=lambda t: (_f1(probs, rows, missed, t), -abs(t - 0.5)))
    return Scorer(scorer.bias, weights, best)


def _f1(probs: Sequence[float], rows: Sequence[Row], missed: int, threshold: float) -> float:
    tp = sum(p >= threshold and r.gold for p, r in zip(probs, rows, strict=True))
    fp = sum(p >= threshold and not r.gold for p, r in zip(probs, rows, strict=True))
    fn = sum(p < threshold and r.gold for p, r in zip(probs, rows, strict=True)) + missed
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def load_scorer(path: Path | None = None) -> Scorer:
    """The scorer in ``path`` (default: the packaged ``companion/data/link_scorer.toml``)."""
    name = str(path) if path is not None else f"companion/{DEFAULT_PATH}"
    try:
        raw = (
            Path(path).read_bytes()
            if path is not None
            else resources.files("companion").joinpath(DEFAULT_PATH).read_bytes()
        )
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{name}: cannot read the linking weights: {exc}") from exc
    weights = data.get("weights")
    if not isinstance(weights, dict) or set(weights) != set(FEATURES):
        raise CatalogError(f"{name}: [weights] must give exactly {', '.join(FEATURES)}")
    numbers = [data.get("bias"), data.get("threshold"), *weights.values()]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        raise CatalogError(f"{name}: bias, threshold and every weight must be numbers")
    threshold = float(data["threshold"])
    if not 0.0 < threshold < 1.0:
        raise CatalogError(f"{name}: threshold {threshold} is not between 0 and 1")
    return Scorer(float(data["bias"]), tuple(float(weights[n]) for n in FEATURES), threshold)


def write_scorer(scorer: Scorer, path: Path, command: str) -> None:
    """Write ``scorer`` as TOML to ``path`` (through a temporary file)."""
    lines = [
        "# The linker's weights (companion/linking/scorer.py): a logistic regression over each",
        "# candidate topic's mention features. Written by a fit, do not edit by hand; refit with",
        f"#   {command}",
        f"bias = {scorer.bias!r}",
        f"threshold = {scorer.threshold!r}",
        "",
        "[weights]",
    ]
    lines += [
        f"{name} = {w!r}  # {FEATURES[name]}"
        for name, w in zip(FEATURES, scorer.weights, strict=True)
    ]
    atomic_write(path, "\n".join(lines) + "\n")
