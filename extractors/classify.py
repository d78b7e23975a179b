"""Event classification: sentences -> typed events with actors, place, date,
fatalities and the evidence sentence (pure; rules come from the data files)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from extractors.dates import find_dates, resolve_event_date
from extractors.fatalities import parse_fatalities
from extractors.rules import Rules
from extractors.sentences import Sentence, split_sentences

# "YEREVAN, June 5 (Reuters) —", "PARIS —", "STEPANAKERT—", "TEHRAN (Iran News) –"
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z.'’ -]{2,40}?)(,\s*(?P<when>[A-Z][a-z]{2,8}\.? \d{1,2}))?\s*(\([^)]{1,40}\))?\s*[—–-]+\s*"
)
# Clause boundaries: cues before them do not govern a trigger after them.
_CLAUSE = re.compile(r"[;:]|,\s+(but|while|and|as|before|although|who|when)\b|\bbut\b|\bwhile\b|"
                     r"\bas\b(?= \w+ (were|was|had|have))|\band\b(?= \w+ed\b)", re.I)
# A trigger inside an infinitive complement ("urged them to return to talks",
# "meant to allow the sides to swap prisoners") has not happened, unless the
# verb before "to" says it did ("agreed to a truce", "began to withdraw").
_INFINITIVE = re.compile(r"\bto(\s+[\w’'-]+){0,2}\s*$", re.I)
_FACTIVE_TO = re.compile(r"\b(agreed|agree|agrees|began|begun|started|continued|managed|went on|moved|returned|"
                         r"rushed|resorted|turned|decided|voted)(\s+[\w’'-]+){0,3}\s+to(\s+[\w’'-]+){0,2}\s*$", re.I)
# Where a sentence turns to background: "..., which was the cause of a war that ...".
_SEGMENT = re.compile(r",\s+(?=(which|who|where|a war|a conflict|the war|when|the (worst|first|biggest|deadliest|"
                      r"heaviest|most|latest))\b)|\s[—–]\s|;\s", re.I)
# A trigger followed by a modal or "is expected to" reports no event yet ("a ceasefire
# could be announced", "a full exchange of prisoners is expected").
_FUTURE_AFTER = re.compile(r"^[\w\s,’'-]{0,30}?\b((is|are|was|were|will be|would be)\s+(not\s+)?"
                           r"(expected|due|scheduled|set|likely|planned|possible)|could|would|will|might|may)\b", re.I)
# After "agreed to" only these words make the agreed thing an event of its own.
_AGREED_OBJECT = re.compile(r"\bagreed(\s+[\w’'-]+){0,3}\s+to(\s+(a|an|the)\b[\w\s’'-]*)?\s*$", re.I)
_FIELD_TYPES = {"armed_clash", "humanitarian", "military_posture", "protest"}
_LOCATIVE = re.compile(r"\b(in|at|to|from|near|outside|inside|into|towards?|around|across)\s+(the\s+)?$", re.I)
_CUE_WINDOW_WORDS = 8
_FATALITY_TYPES = {"armed_clash", "humanitarian"}
_REPORTED = re.compile(r"\b(said|says|claimed|alleged|according to|reported)\b", re.I)


@dataclass(frozen=True)
class ClassifyInput:
    article_id: str
    title: str
    text: str
    published: date


@dataclass(frozen=True)
class Event:
    event_id: str
    article_id: str
    event_type: str
    plover: str
    cameo: str
    is_root: bool
    actor1: str | None
    actor2: str | None
    location: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    event_date: date
    date_precision: str
    fatalities: int | None
    fatalities_qualifier: str | None
    evidence: str
    confidence: float
    classifier_version: str
    sentence_index: int


@dataclass(frozen=True)
class _Hit:
    slug: str
    start: int


def strip_dateline(sentence: str) -> tuple[str, str | None]:
    """Return the sentence without a leading dateline, and the dateline's place."""
    m = _DATELINE.match(sentence)
    if not m or len(m.group("place").split()) > 4:
        return sentence, None
    return sentence[m.end():], m.group("place").strip().title()


def _governing_context(sentence: str, start: int) -> str:
    """The words of the same clause just before position ``start``."""
    before = sentence[:start]
    boundaries = list(_CLAUSE.finditer(before))
    if boundaries:
        before = before[boundaries[-1].end():]
    return " ".join(before.split()[-_CUE_WINDOW_WORDS:])


def _cancelled(slug: str, context: str, after: str, rules: Rules) -> bool:
    if rules.cues.any_negation.search(context):
        return True
    if slug in rules.cues.speech_acts:
        return False
    if _FUTURE_AFTER.search(after):
        return True
    if _INFINITIVE.search(context):
        factive = _FACTIVE_TO.search(context)
        if not factive or (factive.group(1).lower().startswith("agree") and not _AGREED_OBJECT.search(context)):
            return True
    return rules.cues.any_hypothetical.search(context) is not None


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def is_background(sentence: str, published: date, rules: Rules) -> bool:
    """True when a sentence reports no new event: history markers, habitual or
    standing situations, or a date before the previous calendar month."""
    if rules.cues.any_background.search(sentence):
        return True
    dates = find_dates(sentence, published)
    if dates and all(_month_index(d.value) < _month_index(published) - 1 for d in dates):
        return True
    years = [int(y) for y in re.findall(r"\b(19\d\d|20\d\d)\b", sentence)]
    return bool(years) and max(years) < published.year - (1 if published.month <= 1 else 0)


def background_spans(sentence: str, published: date, rules: Rules) -> list[tuple[int, int]]:
    """Character spans of the sentence that are background (the whole sentence, or
    a trailing clause such as ", which was the cause of a war that killed ...")."""
    bounds = [0, *(m.start() for m in _SEGMENT.finditer(sentence)), len(sentence)]
    spans = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        if is_background(sentence[start:end], published, rules):
            spans.append((start, end))
    return spans


def find_triggers(sentence: str, rules: Rules, skip: list[tuple[int, int]] | None = None) -> list[_Hit]:
    """Event-type triggers in a sentence that are not negated, hypothetical or wished for.

    One hit per type (its first valid trigger), in order of position; triggers inside
    ``skip`` spans (background clauses) are ignored.
    """
    hits: dict[str, _Hit] = {}
    for event_type in rules.types:
        for m in event_type.combined.finditer(sentence):
            if skip and any(a <= m.start() < b for a, b in skip):
                continue
            after = sentence[m.end():m.end() + 40]
            if _cancelled(event_type.slug, _governing_context(sentence, m.start()), after, rules):
                continue
            hits[event_type.slug] = _Hit(event_type.slug, m.start())
            break
    # "agreed to a ceasefire", "agreed to halt the fighting", "the ceasefire agreement":
    # a truce, not a separate deal.
    if "ceasefire" in hits and "agreement" in hits:
        a, c = hits["agreement"].start, hits["ceasefire"].start
        word = sentence[a:a + 12].lower()
        if (word.startswith("agree") and 0 < c - a < 80) or re.search(
                r"(cease-?fire|truce)\s+(agreement|deal)", sentence[max(0, a - 20):a + 12], re.I):
            del hits["agreement"]
    return sorted(hits.values(), key=lambda h: h.start)


def find_actors(sentence: str, rules: Rules) -> list[str]:
    """Actor codes in order of first mention.

    On overlapping mentions the one starting first, then the longer, wins: in
    "Karabakh Armenian authorities" the NKR name covers "Armenian" (ARM).
    """
    lowered = sentence.lower()
    found = sorted(
        (m.start(), -m.end(), actor.code)
        for actor in rules.actors
        if actor.literal in lowered
        for m in actor.pattern.finditer(sentence)
    )
    ordered: list[str] = []
    covered_to = -1
    for start, neg_end, code in found:
        if start < covered_to:
            continue
        covered_to = -neg_end
        if code not in ordered:
            ordered.append(code)
    return ordered


def find_places(sentence: str, rules: Rules) -> list[str]:
    """Canonical place names in order of mention.

    A capital counts only after a locative preposition ("talks in Moscow"): on its
    own it usually stands for a government ("Baku accused ..."). Broad areas (the
    whole of Nagorno-Karabakh) are not event locations.
    """
    names: list[str] = []
    for m in rules.place_pattern.finditer(sentence):
        name = rules.place_alias[m.group(1).lower()]
        place = rules.places[name]
        if place.kind == "area":
            continue
        if place.kind == "capital" and not _LOCATIVE.search(sentence[max(0, m.start() - 30):m.start()]):
            continue
        if name not in names:
            names.append(name)
    return names


def _pick_place(slug: str, places: list[str], rules: Rules) -> str | None:
    """Diplomatic events happen at a venue (first place named); field events at the
    most specific place named (a town or border point before a province)."""
    if not places:
        return None
    if slug not in _FIELD_TYPES:
        return places[0]
    rank = {"city": 0, "border": 0, "region": 1, "capital": 2}
    return min(places, key=lambda n: (rank.get(rules.places[n].kind, 3), places.index(n)))


def _blank_out(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with the given spans replaced by spaces (positions are kept)."""
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _with_death_toll(hits: list[_Hit], foreground: str, rules: Rules) -> list[_Hit]:
    """People reported killed (outside background) are a clash, or a humanitarian
    event when the sentence already reads as a disaster (explosion, landmine)."""
    deaths = parse_fatalities(foreground)
    slugs = {h.slug for h in hits}
    if deaths is None or deaths.count is None or slugs & _FATALITY_TYPES:
        return hits
    start = foreground.find(deaths.text)
    return sorted([*hits, _Hit("armed_clash", max(start, 0))], key=lambda h: h.start)


def _event_id(article_id: str, sentence_index: int, slug: str) -> str:
    return "e_" + hashlib.sha256(f"{article_id}|{sentence_index}|{slug}".encode()).hexdigest()[:16]


def classify(article: ClassifyInput, rules: Rules) -> list[Event]:
    """Return the events an article reports; exactly one has ``is_root`` when any exist.

    Background sentences (history) yield no events; fatalities are read only for
    clashes and humanitarian events from the event's own sentence.
    """
    sentences = split_sentences(article.text)
    if not sentences:
        return []
    first_text, dateline_place = strip_dateline(sentences[0].text)
    sentences[0] = Sentence(first_text, 0, sentences[0].paragraph)
    if sentences[0].text.strip() == article.title.strip() and len(sentences) > 1:
        sentences = sentences[1:]
    events: list[Event] = []
    root_candidates: list[tuple[int, int, int, Event]] = []
    order = {t.slug: i for i, t in enumerate(rules.types)}
    for position, sentence in enumerate(sentences):
        text = sentence.text
        skip = background_spans(text, article.published, rules)
        if skip and skip[0] == (0, len(text)):
            continue
        hits = find_triggers(text, rules, skip)
        foreground = _blank_out(text, skip)
        hits = _with_death_toll(hits, foreground, rules)
        if not hits:
            continue
        actors = find_actors(text, rules)
        places = find_places(foreground, rules)
        when = resolve_event_date(foreground, article.published)
        deaths = parse_fatalities(foreground)
        for hit in hits:
            event_type = rules.type(hit.slug)
            place_name = _pick_place(hit.slug, places, rules)
            if place_name is None and hit.slug in _FIELD_TYPES and position + 1 < len(sentences):
                following = find_places(sentences[position + 1].text, rules)
                place_name = _pick_place(hit.slug, following, rules)
            place = rules.places.get(place_name) if place_name else None
            lead = sentence.index <= 1
            confidence = 0.55 + (0.2 if lead else 0.0) + (0.1 if actors else 0.0) + (0.05 if place else 0.0)
            if _REPORTED.search(text):
                confidence -= 0.05
            event = Event(
                event_id=_event_id(article.article_id, sentence.index, hit.slug),
                article_id=article.article_id,
                event_type=hit.slug,
                plover=event_type.plover,
                cameo=event_type.cameo,
                is_root=False,
                actor1=actors[0] if actors else None,
                actor2=actors[1] if len(actors) > 1 else None,
                location=place.name if place else None,
                country=place.country if place else None,
                latitude=place.lat if place else None,
                longitude=place.lon if place else None,
                event_date=when.value,
                date_precision=when.precision,
                fatalities=deaths.count if deaths and hit.slug in _FATALITY_TYPES else None,
                fatalities_qualifier=deaths.qualifier if deaths and hit.slug in _FATALITY_TYPES else None,
                evidence=text,
                confidence=round(min(confidence, 0.95), 2),
                classifier_version=rules.version,
                sentence_index=sentence.index,
            )
            events.append(event)
            root_candidates.append((sentence.index, hit.start, order[hit.slug], event))
    if not events:
        return []
    root = min(root_candidates, key=lambda c: (c[0], c[1], c[2]))[3]
    if root.location is None and dateline_place:
        name = rules.place_alias.get(dateline_place.lower())
        if name:
            place = rules.places[name]
            root = _with(root, location=place.name, country=place.country, latitude=place.lat, longitude=place.lon)
    return [_with(root, is_root=True) if e.event_id == root.event_id else e for e in events]


def _with(event: Event, **changes: object) -> Event:
    from dataclasses import replace

    return replace(event, **changes)
