"""Seed body text: what is removed from each seed, and that the story stays."""

from __future__ import annotations

from collections import Counter

import pytest

from extractors.bodytext import derive_body
from extractors.seeds import DEFAULT_SEED_DIR, read_manifest

# For each seed: what derive_body must remove (reason -> how many lines), and
# sentences that must stay in (first and last body paragraphs).
EXPECTED = {
    "000_a5e34d7f79b8e769.txt": (
        {"title": 1, "byline": 2, "related": 4, "original_url": 2, "heading_or_caption": 1},
        "PARIS — Officials from Azerbaijan and Armenia met in Paris on Monday",
        "Armenia has a security agreement with Russia, while Azerbaijan has one with Turkey.",
    ),
    "001_4dff18fee5ec817f.txt": (
        {"title": 2, "byline": 1, "standfirst": 1, "heading_or_caption": 1},
        "TEHRAN (Iran News) – Armenia and Azerbaijan on Friday held their first high-level talks",
        "Dozens of civilians have been confirmed killed",
    ),
    "002_e825855f27608c68.txt": (
        {"share": 2, "title": 1, "caption": 2, "heading_or_caption": 1},
        "Azerbaijan and separatists from Karabakh have held their first direct peace talks",
        "Despite strong ties between Moscow and Yerevan",
    ),
    "003_4e2df06bc1a1437c.txt": (
        {"title": 1, "comments": 30, "heading_or_caption": 1},
        "STEPANAKERT—The Nagorno-Karabakh Republic Foreign Ministry on Thursday accused Azerbaijan",
        "Lukashevich said that the Minsk Group Co-chairs will visit the region in July.",
    ),
    "004_89978c79b3e677df.txt": (
        {"title": 1, "byline": 2, "caption": 1, "related": 1, "embed": 3, "original_url": 2,
         "heading_or_caption": 1},
        "Armenian Prime Minister Nikol Pashinyan said the conflict over Nagorno-Karabakh was still not resolved",
        "Nagorno-Karabakh proclaimed its independence from Baku",
    ),
}


@pytest.mark.parametrize("info", read_manifest(), ids=lambda i: i.file)
def test_seed_body(info):
    raw = (DEFAULT_SEED_DIR / info.file).read_text(encoding="utf-8")
    result = derive_body(raw, info.title)
    removed_kinds, first, last = EXPECTED[info.file]
    assert Counter(reason for reason, _ in result.removed) == Counter(removed_kinds)
    lines = result.body.split("\n")
    assert lines[0].startswith(first) and lines[-1].startswith(last)
    for noise in ("said:", "Original url", "Related article", "pic.twitter.com", "(AFP photo)",
                  "alternate addresses", "source :", "Embed:"):
        assert noise not in result.body
    # Nothing of the story is lost: every removed line is short or clearly noise.
    assert len(result.body.split()) > 350


def test_broken_paragraph_is_rejoined():
    raw = "Headline\n\nThe talks in the Kremlin\n\nthat lasted four hours ended without a deal on Monday.\n"
    assert "The talks in the Kremlin that lasted four hours ended" in derive_body(raw).body
