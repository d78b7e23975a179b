"""Relevance: on-topic news scores high; sport, culture and business that name a country score low."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from extractors.errors import PermanentError
from extractors.feeds import parse_feed
from extractors.relevance import load_lexicon, relevance
from extractors.seeds import load_seed_articles
from tests.conftest import corpus

LEXICON = load_lexicon()
LABELS = Path(__file__).resolve().parents[1] / "data" / "relevance_real_feeds.toml"

# Short texts written for this test.
OFF_TOPIC = {
    "formula1": ("Verstappen wins in Baku after late safety car",
                 "Max Verstappen won the Azerbaijan Grand Prix on the Baku street circuit on Sunday, holding off "
                 "his rivals after a late safety car. Qualifying had been disrupted by red flags, and the podium "
                 "was completed by the two Ferraris. The Azerbaijan race has the longest flat-out run of the year."),
    "culture": ("An Armenian composer's songs return to the concert hall",
                "A festival in Paris is devoting an evening to the songs of Komitas, the Armenian composer and priest. "
                "The concert pairs his folk arrangements with new works by young Armenian musicians, and an "
                "exhibition of manuscripts opens at the museum next door."),
    "business": ("Baku lender posts record profit as oil prices rise",
                 "A bank based in Baku reported record quarterly profit, helped by higher oil prices and strong "
                 "lending to small businesses. Shares rose 4 percent, and investors expect inflation in Azerbaijan "
                 "to ease later this year, the bank's chief executive told analysts."),
}
ON_TOPIC = (
    "Armenia and Azerbaijan exchange fire on border",
    "Armenian and Azerbaijani troops exchanged fire on the border near Jermuk overnight, killing two soldiers, "
    "the defence ministries said. Each side blamed the other for breaking the ceasefire, and the EU urged both to "
    "return to peace talks on a treaty.",
)


@pytest.mark.parametrize("name", sorted(OFF_TOPIC))
def test_off_topic_scores_low(name):
    title, text = OFF_TOPIC[name]
    assert relevance(title, text, LEXICON) < 0.3


def test_on_topic_scores_high():
    assert relevance(*ON_TOPIC, LEXICON) > 0.9


def test_every_seed_is_relevant():
    for seed in load_seed_articles():
        assert relevance(seed.title, seed.text, LEXICON) >= 0.5, seed.article_id


def test_real_feeds_regression_list():
    root = corpus("real-feeds")
    labels = tomllib.loads(LABELS.read_text())
    threshold = labels["threshold"]
    expected = {(e["feed"], e["guid"]): e["relevant"] for e in labels["entries"]}
    flagged, scored = set(), {}
    for path in sorted(p for p in root.iterdir() if p.is_file()):
        try:
            feed = parse_feed(path.read_bytes(), "https://example.org/feed", path.name)
        except PermanentError:
            continue
        for entry in feed.entries:
            score = relevance(entry.title, entry.summary, LEXICON)
            scored[(path.name, entry.guid)] = score
            if score >= threshold:
                flagged.add((path.name, entry.guid))
    assert flagged == {key for key, relevant in expected.items() if relevant}
    for key, relevant in expected.items():
        assert key in scored, key
        assert (scored[key] >= threshold) == relevant, (key, scored[key])


def test_lexicon_requires_only_earlier_groups(tmp_path):
    from extractors.errors import ConfigError
    from extractors.relevance import load_lexicon

    bad = tmp_path / "lexicon.toml"
    bad.write_text('version = "t"\noffset = 1.0\n'
                   '[[groups]]\nname = "a"\nweight = 1.0\ncap = 2\nrequires = ["b"]\npatterns = ["x"]\n'
                   '[[groups]]\nname = "b"\nweight = 1.0\ncap = 2\npatterns = ["y"]\n')
    with pytest.raises(ConfigError, match="must be groups listed before it"):
        load_lexicon(bad)
