"""Scoring event classification on labelled articles and sentences (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from extractors.classify import ClassifyInput, Event, classify, find_places, find_triggers, is_background
from extractors.fatalities import parse_fatalities
from extractors.rules import EVENT_TYPES, Rules


@dataclass(frozen=True)
class LabelledArticle:
    id: str
    title: str
    text: str
    published: date
    root_type: str
    types: frozenset[str]
    root_date: date | None
    root_location: str | None
    root_fatalities: int | None


@dataclass(frozen=True)
class LabelledSentence:
    text: str
    published: date
    types: frozenset[str]
    fatalities: int | None
    location: str | None
    note: str


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, predicted: set[str], actual: set[str]) -> None:
        self.tp += len(predicted & actual)
        self.fp += len(predicted - actual)
        self.fn += len(actual - predicted)


@dataclass
class ClassifyScore:
    articles: int = 0
    root_correct: int = 0
    date_correct: int = 0
    fatalities_correct: int = 0
    place_correct: int = 0
    micro: PRF = field(default_factory=PRF)
    per_type: dict[str, PRF] = field(default_factory=lambda: {t: PRF() for t in EVENT_TYPES})
    sentences: int = 0
    sentence_micro: PRF = field(default_factory=PRF)
    sentence_fatalities_correct: int = 0
    sentence_place_correct: int = 0
    misses: list[str] = field(default_factory=list)

    def rate(self, correct: int, total: int | None = None) -> float:
        total = self.articles if total is None else total
        return correct / total if total else 0.0


def score_articles(items: list[LabelledArticle], rules: Rules, score: ClassifyScore) -> None:
    for item in items:
        events = classify(ClassifyInput(item.id, item.title, item.text, item.published), rules)
        root = next((e for e in events if e.is_root), None)
        predicted = {e.event_type for e in events}
        score.articles += 1
        score.micro.add(predicted, set(item.types))
        for slug in EVENT_TYPES:
            score.per_type[slug].add(predicted & {slug}, set(item.types) & {slug})
        ok_root = root is not None and root.event_type == item.root_type
        score.root_correct += ok_root
        score.date_correct += root is not None and item.root_date is not None and root.event_date == item.root_date
        score.fatalities_correct += (root.fatalities if root else None) == item.root_fatalities
        score.place_correct += (root.location if root else None) == item.root_location
        if not ok_root or predicted != set(item.types):
            score.misses.append(_describe(item, root, predicted))


def _describe(item: LabelledArticle, root: Event | None, predicted: set[str]) -> str:
    got = root.event_type if root else "-"
    extra, missing = sorted(predicted - item.types), sorted(item.types - predicted)
    return f"{item.id}: root {got} (want {item.root_type}); extra {extra}; missing {missing}"


def score_sentences(items: list[LabelledSentence], rules: Rules, score: ClassifyScore) -> None:
    for item in items:
        if is_background(item.text, item.published, rules):
            predicted: set[str] = set()
        else:
            predicted = {h.slug for h in find_triggers(item.text, rules)}
        score.sentences += 1
        score.sentence_micro.add(predicted, set(item.types))
        deaths = parse_fatalities(item.text)
        count = deaths.count if deaths and predicted & {"armed_clash", "humanitarian"} else None
        score.sentence_fatalities_correct += count == item.fatalities
        places = find_places(item.text, rules)
        score.sentence_place_correct += (places[0] if places else None) == item.location


def type_counts(items: list[LabelledArticle]) -> Counter[str]:
    return Counter(t for i in items for t in i.types)
