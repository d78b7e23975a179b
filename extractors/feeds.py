"""Feed parsing: feedparser on fetched bytes, entries mapped to frozen FeedEntry records."""

from __future__ import annotations

import calendar
import hashlib
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import feedparser

from extractors.errors import PermanentError
from extractors.records import FeedEntry, ParsedFeed
from extractors.textnorm import html_to_text


def _to_datetime(struct: object) -> datetime | None:
    """feedparser gives UTC ``time.struct_time``; return an aware datetime, or None when
    missing, unparsable or more than a day in the future (a wrong clock or a bad feed)."""
    if not struct:
        return None
    try:
        value = datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)  # type: ignore[arg-type]
    except (OverflowError, ValueError, TypeError):
        return None
    return None if value > datetime.now(UTC) + timedelta(days=1) else value


def _entry_content(entry: feedparser.FeedParserDict) -> str:
    parts = [c.get("value", "") for c in entry.get("content", []) or [] if c.get("value")]
    return html_to_text("\n".join(parts)) if parts else ""


def _entry_guid(entry: feedparser.FeedParserDict, link: str, title: str) -> str:
    guid = (entry.get("id") or entry.get("guid") or "").strip()
    if guid:
        return guid
    if link:
        return link
    basis = f"{title}|{entry.get('published', '')}|{entry.get('summary', '')[:200]}"
    return "sha256:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]


def parse_feed(
    data: bytes, url: str, feed_name: str = "", content_type: str | None = None
) -> ParsedFeed:
    """Parse feed bytes (RSS 0.9x/1.0/2.0, Atom, RDF) into a ParsedFeed.

    A document with parser complaints ("bozo") that still yields entries is
    accepted and the complaint kept in ``bozo_message``. Raises PermanentError
    when the document yields no entries and is not a well-formed empty feed.
    """
    # Without a type feedparser flags every document; application/xml lets the
    # XML declaration decide the encoding (RFC 3023), as for a file.
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    bozo = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    version = parsed.get("version") or ""
    entries: list[FeedEntry] = []
    for raw in parsed.entries:
        title = html_to_text(raw.get("title", "") or "")
        link = (raw.get("link") or "").strip()
        if link:
            link = urljoin(url, link)
        entries.append(
            FeedEntry(
                feed_name=feed_name,
                guid=_entry_guid(raw, link, title),
                link=link,
                title=title,
                published=_to_datetime(raw.get("published_parsed") or raw.get("updated_parsed")),
                summary=html_to_text(raw.get("summary", "") or ""),
                content=_entry_content(raw),
            )
        )
    if not entries and (bozo or not version):
        reason = bozo or "not a recognised RSS/Atom/RDF document"
        raise PermanentError(f"feed {feed_name or url} yielded no entries: {reason}")
    return ParsedFeed(
        entries=tuple(entries),
        title=html_to_text(parsed.feed.get("title", "") or ""),
        version=version,
        bozo_message=bozo,
        links=tuple({"rel": str(link.get("rel", "")), "href": str(link.get("href", ""))}
                    for link in parsed.feed.get("links", []) or []),
    )
