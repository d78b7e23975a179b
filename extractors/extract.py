"""The one trafilatura adapter: HTML bytes in, ExtractedArticle or ExtractionFailure out.

It builds a single explicit trafilatura configuration (no signal-based timeout,
which only works on the main thread; no global dedup cache) and maps the result
to our own record with a real ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import trafilatura
from dateutil import parser as dateparser
from trafilatura.settings import use_config

from extractors.records import ExtractedArticle, ExtractionFailure
from extractors.textnorm import tidy_text, word_count

# Fewer words than this and we consider the page "almost nothing" (app shells,
# paywalls, cookie walls) and fall back to the feed's own content.
MIN_WORDS = 40


def _config():
    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


_CONFIG = _config()


def parse_date(value: str | None) -> datetime | None:
    """Parse a date string to an aware UTC datetime (naive values are taken as UTC)."""
    if not value:
        return None
    try:
        parsed = dateparser.parse(value)
    except (ValueError, OverflowError):
        return None
    if parsed is None:
        return None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None if parsed > datetime.now(UTC) + timedelta(days=1) else parsed


def extract_article(html: bytes | str, url: str) -> ExtractedArticle | ExtractionFailure:
    """Extract the main text and metadata of one article page.

    Never raises for bad input: an unparsable page, an empty result or a text
    shorter than MIN_WORDS becomes an ExtractionFailure with the reason.
    """
    if not html:
        return ExtractionFailure("empty page")
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            deduplicate=False,
            config=_CONFIG,
        )
    except Exception as exc:  # trafilatura/lxml raise many types on broken markup
        return ExtractionFailure(f"extractor error: {type(exc).__name__}: {exc}")
    if doc is None:
        return ExtractionFailure("extractor found no main text")
    text = tidy_text(doc.text or "")
    canonical = doc.url if doc.url and doc.url != url else None
    if word_count(text) < MIN_WORDS:
        return ExtractionFailure(
            f"extracted only {word_count(text)} words (< {MIN_WORDS})", canonical_url=canonical
        )
    return ExtractedArticle(
        text=text,
        title=tidy_text(doc.title) if doc.title else None,
        author=doc.author or None,
        published=parse_date(doc.date),
        language=doc.language or None,
        site_name=doc.sitename or None,
        canonical_url=canonical,
    )
