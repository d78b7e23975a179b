"""Frozen records passed between extractors, warehouse and flows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from extractors.timing import StageClock


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a parsed feed."""

    feed_name: str
    guid: str
    link: str
    title: str
    published: datetime | None
    summary: str
    content: str


@dataclass(frozen=True)
class ParsedFeed:
    """Result of parsing one feed document: its entries and any parser complaint."""

    entries: tuple[FeedEntry, ...]
    title: str
    version: str
    bozo_message: str | None = None
    links: tuple[dict[str, str], ...] = ()  # feed-level links (rel, href): archives, paging


@dataclass(frozen=True)
class FetchResult:
    """A completed HTTP exchange (any status), after redirects."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: int

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class ExtractedArticle:
    """Text and metadata extracted from an article page."""

    text: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None


@dataclass(frozen=True)
class ExtractionFailure:
    """Extraction produced nothing usable; ``reason`` says why."""

    reason: str
    canonical_url: str | None = None


@dataclass(frozen=True)
class Article:
    """One document as stored in ``articles`` (seeds and fetched pages alike)."""

    article_id: str
    origin: str
    feed_name: str | None
    url: str
    canonical_url: str
    guid: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    fetched_at: datetime | None
    language: str | None
    text: str
    raw_text: str | None
    word_count: int
    content_hash: str
    extraction: str
    extraction_note: str | None = None
    site_name: str | None = None
    duplicate_of: str | None = None
    duplicate_kind: str | None = None
    similarity: float | None = None
    relevance: float | None = None
    is_relevant: bool | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class FeedState:
    """Conditional-GET and health state of one feed (row of ``feeds``)."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    disabled: bool = False


@dataclass(frozen=True)
class FeedPoll:
    """One poll of one feed in one run (row of ``feed_polls``)."""

    run_id: str
    feed_name: str
    polled_at: datetime
    http_status: int | None
    not_modified: bool
    entries: int
    new_entries: int
    bytes: int
    elapsed_ms: int
    error: str | None = None


@dataclass(frozen=True)
class RunError:
    """One problem met during a run, for ``runs.errors``."""

    stage: str
    message: str
    feed: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"feed": self.feed, "url": self.url, "stage": self.stage, "message": self.message}


@dataclass
class RunCounters:
    """Mutable tally of a run, turned into the ``runs`` row at the end."""

    feeds_total: int = 0
    feeds_ok: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    entries_seen: int = 0
    entries_new: int = 0
    articles_fetched: int = 0
    extraction_failed: int = 0
    duplicates_url: int = 0
    duplicates_text: int = 0
    duplicates_near: int = 0
    articles_stored: int = 0
    relevant_articles: int = 0
    events_added: int = 0
    articles_reprocessed: int = 0
    errors: list[RunError] = field(default_factory=list)
    clock: StageClock = field(default_factory=StageClock)
