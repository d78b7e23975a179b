"""URL canonicalisation, stable ids and text normalisation."""

from __future__ import annotations

import pytest

from extractors.textnorm import content_hash, html_to_text, tidy_text
from extractors.urls import canonicalize_url, choose_canonical, stable_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM:80/a/?utm_source=rss&utm_medium=feed&id=7#top", "http://example.com/a/?id=7"),
        ("https://ex.com:443/x?fbclid=1&gclid=2", "https://ex.com/x"),
        ("https://ex.com", "https://ex.com/"),
        ("https://ex.com/a/../b?b=2&a=1", "https://ex.com/b?b=2&a=1"),
        ("http://127.0.0.1:8765/ledger/x.html?utm_campaign=z", "http://127.0.0.1:8765/ledger/x.html"),
    ],
)
def test_canonicalize(raw, expected):
    assert canonicalize_url(raw) == expected


@pytest.mark.parametrize("bad", ["", "mailto:x@example.org", "/relative/path", "ftp://x.org/a"])
def test_canonicalize_rejects(bad):
    with pytest.raises(ValueError):
        canonicalize_url(bad)


def test_rel_canonical_only_on_same_site():
    page = "https://www.example.com/story?utm_source=x"
    assert choose_canonical(page, "https://example.com/story-canon") == "https://example.com/story-canon"
    assert choose_canonical(page, "/rel/path") == "https://www.example.com/rel/path"
    assert choose_canonical(page, "https://aggregator.net/story") == "https://www.example.com/story"
    assert choose_canonical(page, None) == "https://www.example.com/story"


def test_stable_id_is_stable_and_distinct():
    assert stable_id("https://a.org/x") == stable_id("https://a.org/x")
    assert stable_id("https://a.org/x") != stable_id("https://a.org/y")


def test_text_helpers():
    assert html_to_text("<p>One <b>two</b></p><p>three</p><script>x()</script>") == "One two\nthree"
    assert tidy_text("  a \u00a0 b \n\n\n c ") == "a b\nc"
    assert content_hash("Hello,  World!") == content_hash("hello world")
    assert content_hash("hello world") != content_hash("hello there world")
