"""The trafilatura adapter on real pages, and the feed fallback."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

from extractors.articles import build_article
from extractors.extract import extract_article
from extractors.records import ExtractedArticle, ExtractionFailure, FeedEntry
from tests.conftest import corpus


def test_real_pages_extract_with_metadata():
    root = corpus("article-extraction-benchmark")
    truth = json.loads((root / "ground-truth.json").read_text())
    pages = sorted((root / "html").glob("*.html.gz"))[:12]
    good = 0
    for page in pages:
        result = extract_article(gzip.decompress(page.read_bytes()), "https://example.org/x")
        if isinstance(result, ExtractedArticle):
            good += 1
            body = truth[page.name.split(".")[0]]["articleBody"]
            first_words = " ".join(body.split()[:6])
            assert first_words.split()[0] in result.text, page.name
    assert good >= 11


def test_empty_and_shell_pages_fail_with_reason():
    assert isinstance(extract_article(b"", "https://e.org/"), ExtractionFailure)
    shell = b"<html><head><title>App</title></head><body><div id='app'></div><script>boot()</script></body></html>"
    failure = extract_article(shell, "https://e.org/")
    assert isinstance(failure, ExtractionFailure) and failure.reason


def _entry(**kw) -> FeedEntry:
    base = dict(feed_name="f", guid="g1", link="https://news.example/a?utm_source=rss", title="Title",
                published=datetime(2023, 9, 21, tzinfo=UTC), summary="", content="")
    return FeedEntry(**(base | kw))


def test_fallback_prefers_feed_content_then_summary():
    now = datetime.now(UTC)
    failure = ExtractionFailure("extracted only 3 words")
    content = "Full feed content " * 10
    a = build_article(_entry(content=content, summary="short summary of the story here today"),
                      origin="feed", run_id="r", fetched_at=now, final_url="https://news.example/a",
                      extraction=failure)
    assert a.extraction == "feed_content" and a.extraction_note == "extracted only 3 words"
    b = build_article(_entry(summary="a summary long enough to be kept as the text"),
                      origin="feed", run_id="r", fetched_at=now, final_url=None, extraction=failure)
    assert b.extraction == "feed_summary" and b.canonical_url == "https://news.example/a"
    assert build_article(_entry(summary="too short"), origin="feed", run_id="r", fetched_at=now,
                         final_url=None, extraction=failure) is None


def test_extracted_article_uses_same_site_canonical():
    extracted = ExtractedArticle(text="word " * 50, title="T", canonical_url="https://news.example/canon")
    a = build_article(_entry(), origin="feed", run_id="r", fetched_at=datetime.now(UTC),
                      final_url="https://news.example/a", extraction=extracted)
    assert a.url == "https://news.example/a"
    assert a.canonical_url == "https://news.example/canon"
    assert a.extraction == "trafilatura" and a.word_count == 50
