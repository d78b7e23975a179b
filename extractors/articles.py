"""From a feed entry and its fetched page to an Article record (pure functions)."""

from __future__ import annotations

from datetime import datetime

from extractors.records import Article, ExtractedArticle, ExtractionFailure, FeedEntry
from extractors.textnorm import content_hash, tidy_text, word_count
from extractors.urls import canonicalize_url, choose_canonical, stable_id

# A feed body shorter than this is not worth storing as the article text.
MIN_FALLBACK_WORDS = 8
# Metadata longer than this is cut (a 100 kB "title" is an attack or a bug, not a title).
MAX_TITLE_CHARS = 1000
MAX_AUTHOR_CHARS = 300


def entry_url(entry: FeedEntry) -> str | None:
    """Return the canonical form of the entry's link, or None when it has no usable link."""
    if not entry.link:
        return None
    try:
        return canonicalize_url(entry.link)
    except ValueError:
        return None


def article_id_for(url: str) -> str:
    """Stable article id: hash of the canonical form of the entry's URL."""
    return stable_id(url, prefix="a")


def build_article(
    entry: FeedEntry,
    *,
    origin: str,
    run_id: str,
    fetched_at: datetime,
    final_url: str | None,
    extraction: ExtractedArticle | ExtractionFailure,
) -> Article | None:
    """Combine an entry and its extraction into an Article.

    When extraction failed (or the page could not be fetched: ``final_url`` None)
    the feed's content, else its summary, becomes the text and ``extraction``
    says so. Returns None when there is no text at all to keep.
    """
    url = entry_url(entry)
    if url is None:
        return None
    declared = extraction.canonical_url
    canonical = choose_canonical(final_url or url, declared) if final_url else url
    if isinstance(extraction, ExtractedArticle):
        text, how, note = extraction.text, "trafilatura", None
        title = extraction.title or entry.title
        author, language, site = extraction.author, extraction.language, extraction.site_name
        published = entry.published or extraction.published
    else:
        if word_count(entry.content) >= MIN_FALLBACK_WORDS:
            text, how = entry.content, "feed_content"
        elif word_count(entry.summary) >= MIN_FALLBACK_WORDS:
            text, how = entry.summary, "feed_summary"
        else:
            return None
        note = extraction.reason
        title, author, language, site = entry.title, None, None, None
        published = entry.published
    return Article(
        article_id=article_id_for(url),
        origin=origin,
        feed_name=entry.feed_name or None,
        url=url,
        canonical_url=canonical,
        guid=entry.guid or None,
        title=tidy_text(title)[:MAX_TITLE_CHARS] or None if title else None,
        author=tidy_text(author)[:MAX_AUTHOR_CHARS] or None if author else None,
        published_at=published,
        fetched_at=fetched_at,
        language=language,
        text=text,
        raw_text=None,
        word_count=word_count(text),
        content_hash=content_hash(text),
        extraction=how,
        extraction_note=note,
        site_name=site,
        run_id=run_id,
    )
