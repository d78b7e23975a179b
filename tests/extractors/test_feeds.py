"""Feed parsing on real corpora and on each format."""

from __future__ import annotations

import pytest

from extractors.errors import PermanentError
from extractors.feeds import parse_feed
from tests.conftest import corpus

RSS2 = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>A &amp; B</title><link>/news/a.html</link><guid isPermaLink="false">id-a</guid>
<pubDate>Tue, 10 Nov 2020 01:00:00 +0300</pubDate>
<description>&lt;p&gt;Short &lt;b&gt;summary&lt;/b&gt;&lt;/p&gt;</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>W</title><id>tag:w,2020:feed</id><updated>2020-10-10T00:00:00Z</updated>
<entry><title>Truce</title><id>tag:w,2020:truce</id><link href="http://example.org/truce"/>
<updated>2020-10-10T09:30:00Z</updated><content type="html">&lt;p&gt;Full text here.&lt;/p&gt;</content></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://example.org/"><title>B</title><link>http://example.org/</link>
<description>d</description><items><rdf:Seq><rdf:li rdf:resource="http://example.org/b1"/></rdf:Seq></items></channel>
<item rdf:about="http://example.org/b1"><title>Brief</title><link>http://example.org/b1</link>
<dc:date>2023-12-07T12:00:00Z</dc:date><description>A brief.</description></item></rdf:RDF>"""


def test_rss2_entry_fields():
    feed = parse_feed(RSS2, "http://example.org/feed.xml", "f")
    (entry,) = feed.entries
    assert entry.title == "A & B"
    assert entry.link == "http://example.org/news/a.html"  # made absolute
    assert entry.guid == "id-a"
    assert entry.published.isoformat() == "2020-11-09T22:00:00+00:00"
    assert entry.summary == "Short summary"
    assert feed.version == "rss20" and feed.bozo_message is None


def test_atom_and_rdf():
    atom = parse_feed(ATOM, "http://example.org/atom", "w").entries[0]
    assert atom.guid == "tag:w,2020:truce" and atom.content == "Full text here."
    rdf = parse_feed(RDF, "http://example.org/rdf", "b")
    assert rdf.version == "rss10"
    assert rdf.entries[0].guid == "http://example.org/b1"
    assert rdf.entries[0].published.year == 2023


def test_bozo_feed_with_entries_is_used():
    broken = RSS2.replace(b"</channel></rss>", b"<unclosed></channel></rss>")
    feed = parse_feed(broken, "http://example.org/f", "f")
    assert len(feed.entries) == 1 and feed.bozo_message


@pytest.mark.parametrize("data", [b"", b"<html><body>Error 502</body></html>", b"\x00\xff garbage"])
def test_feed_without_entries_fails_with_reason(data):
    with pytest.raises(PermanentError, match="yielded no entries"):
        parse_feed(data, "http://example.org/f", "f")


def test_every_real_feed_parses_sanely():
    root = corpus("real-feeds")
    files = sorted(p for p in root.iterdir() if p.is_file())
    assert len(files) >= 150
    total = ok = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), f"https://example.org/{path.name}", path.name)
        except PermanentError:
            continue
        ok += 1
        for e in feed.entries:
            total += 1
            assert e.guid, path
            assert e.link == "" or e.link.startswith(("http://", "https://")), (path, e.link)
            assert e.title or e.summary or e.content or e.link, path
    assert ok >= 0.9 * len(files)
    assert total > 1000


def test_feedparser_test_suite_never_raises_unexpectedly():
    root = corpus("feedparser-tests")
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix in {".xml", ".rdf", ".atom", ".json"}]
    assert len(files) > 1000
    parsed = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), "http://example.org/feed", "t")
        except PermanentError as exc:
            assert "yielded no entries" in str(exc)
            continue
        parsed += 1
        for e in feed.entries:
            assert isinstance(e.title, str) and isinstance(e.summary, str) and e.guid
    assert parsed > 300
