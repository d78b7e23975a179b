"""Scoring the duplicate decision on labelled pairs (pure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from extractors.neardup import DedupSettings, is_near_duplicate, signature, similarity
from extractors.textnorm import content_hash


@dataclass(frozen=True)
class LabelledPair:
    a_name: str
    b_name: str
    a_text: str
    b_text: str
    duplicate: bool
    kind: str


@dataclass(frozen=True)
class PairResult:
    pair: LabelledPair
    predicted: bool
    jaccard: float
    containment: float


@dataclass(frozen=True)
class DedupScore:
    results: tuple[PairResult, ...]

    def _count(self, predicted: bool, actual: bool) -> int:
        return sum(r.predicted == predicted and r.pair.duplicate == actual for r in self.results)

    @property
    def precision(self) -> float:
        tp, fp = self._count(True, True), self._count(True, False)
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def recall(self) -> float:
        tp, fn = self._count(True, True), self._count(False, True)
        return tp / (tp + fn) if tp + fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """kind -> (correct, total)."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.results:
            out[r.pair.kind][0] += r.predicted == r.pair.duplicate
            out[r.pair.kind][1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}

    @property
    def errors(self) -> list[PairResult]:
        return [r for r in self.results if r.predicted != r.pair.duplicate]


def score_pairs(pairs: list[LabelledPair], settings: DedupSettings) -> DedupScore:
    """Decide every pair the way the pipeline does (exact hash, then near) and score it."""
    results = []
    for pair in pairs:
        if content_hash(pair.a_text) == content_hash(pair.b_text):
            results.append(PairResult(pair, True, 1.0, 1.0))
            continue
        a, b = signature(pair.a_text, settings), signature(pair.b_text, settings)
        sim = similarity(a, b)
        results.append(PairResult(pair, is_near_duplicate(sim, a, b, settings), sim.jaccard, sim.containment))
    return DedupScore(tuple(results))
