"""Storing a batch: duplicate decisions, relevance and events, written in ONE transaction.

The CPU work (signatures, relevance, classification) is done before the writer lock
by :func:`analyse`; lookups come from ``warehouse`` and decisions from
``extractors.dedup`` (pure). Deciding under the lock keeps decisions consistent
when runs overlap.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from extractors.classify import ClassifyInput, Event, classify
from extractors.dedup import resolve_duplicates
from extractors.neardup import DedupSettings, Signature, band_keys, signature
from extractors.records import Article, FeedPoll, FeedState
from extractors.relevance import Lexicon, load_lexicon, relevance
from extractors.rules import Rules, load_rules
from extractors.timing import StageClock
from warehouse import nearindex, store

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Analysis:
    """What the pipeline computed for a batch before writing it."""

    signatures: dict[str, Signature]
    relevance: dict[str, float] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    inserted: list[Article]
    relevant: int = 0
    events_added: int = 0
    dedup_seconds: float = 0.0  # of the call, the part spent on duplicate lookups and decisions


def compute_signatures(articles: Sequence[Article], settings: DedupSettings) -> dict[str, Signature]:
    """MinHash signatures of the articles' texts (CPU; call outside the write lock)."""
    return {a.article_id: signature(a.text, settings) for a in articles if a.text}


def article_date(article: Article) -> date:
    """The date relative expressions in an article are read against."""
    when = article.published_at or article.fetched_at or datetime.now(UTC)
    return when.date()


def classify_article(article: Article, rules: Rules) -> list[Event]:
    """Events of one article (its title, body text and publication date)."""
    return classify(ClassifyInput(article.article_id, article.title or "", article.text or "",
                                  article_date(article)), rules)


def analyse(articles: Sequence[Article], dedup: DedupSettings, threshold: float = DEFAULT_THRESHOLD,
            rules: Rules | None = None, lexicon: Lexicon | None = None,
            clock: StageClock | None = None) -> Analysis:
    """Signatures, relevance and (for relevant articles) events of a batch."""
    clock = clock or StageClock()
    rules = rules or load_rules()
    lexicon = lexicon or load_lexicon()
    with clock.measure("classify"):
        scores = {a.article_id: relevance(a.title or "", a.text or "", lexicon) for a in articles}
        events = {a.article_id: classify_article(a, rules) for a in articles
                  if scores[a.article_id] >= threshold}
    with clock.measure("dedup"):
        signatures = compute_signatures(articles, dedup)
    return Analysis(signatures, scores, events)


def store_batch(
    con: duckdb.DuckDBPyConnection,
    articles: Sequence[Article],
    analysis: Analysis,
    dedup: DedupSettings,
    threshold: float = DEFAULT_THRESHOLD,
    feed_states: Sequence[FeedState] = (),
    polls: Sequence[FeedPoll] = (),
    run_id: str | None = None,
) -> BatchResult:
    """Decide duplicates against everything stored, insert the batch with its relevance,
    index its originals, add the events of its relevant originals (copies get none),
    and record feed state and polls, all in one transaction. A rerun inserts nothing.
    """
    with store.transaction(con):
        fresh = store.unstored(con, articles)
        result = BatchResult([])
        if fresh:
            started = time.perf_counter()
            signatures = analysis.signatures
            keys = [k for a in fresh if (s := signatures.get(a.article_id)) for k in band_keys(s)]
            bands = nearindex.lookup_bands(con, keys)
            stored = nearindex.lookup_signatures(con, [d for docs in bands.values() for d in docs])
            marked, entries = resolve_duplicates(
                fresh,
                signatures,
                originals_by_url=store.originals_by_url(con, [a.canonical_url for a in fresh]),
                originals_by_hash=store.originals_by_hash(con, [a.content_hash for a in fresh]),
                stored_bands=bands,
                stored_signatures=stored,
                settings=dedup,
            )
            dedup_seconds = time.perf_counter() - started
            marked = [_with_relevance(a, analysis, threshold) for a in marked]
            store.insert_article_rows(con, marked)
            nearindex.add_entries(con, entries)
            originals = [a for a in marked if a.duplicate_of is None and a.is_relevant]
            events = [e for a in originals for e in analysis.events.get(a.article_id, [])]
            result = BatchResult(marked, len(originals), store.insert_events(con, events, run_id), dedup_seconds)
        for state in feed_states:
            store.upsert_feed_state(con, state)
        store.insert_polls(con, polls)
    return result


def _with_relevance(article: Article, analysis: Analysis, threshold: float) -> Article:
    score = analysis.relevance.get(article.article_id)
    if score is None:
        return article
    relevant = score >= threshold if article.duplicate_of is None else None
    return dataclasses.replace(article, relevance=score, is_relevant=relevant)
