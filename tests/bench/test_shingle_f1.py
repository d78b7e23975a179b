"""The extraction-quality scorer of bench/extraction_quality.py: 4-word shingle P/R/F1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.extraction_quality import Match, shingle_match, shingles, summarize, tokenize  # noqa: E402

TRUTH = "The council approved the budget on Monday after a long debate."


def test_tokens_are_lower_case_words_without_punctuation():
    assert tokenize("Hello, World! It's 2024 — Baku") == ["hello", "world", "it", "s", "2024", "baku"]
    assert tokenize(None) == []


def test_identical_text_scores_one_whatever_the_case_and_punctuation():
    match = shingle_match("the COUNCIL approved the budget, on Monday; after a long debate", TRUTH)
    assert (match.precision, match.recall, match.f1) == (1.0, 1.0, 1.0)
    assert match.shared == match.truth == 8


def test_disjoint_text_scores_zero():
    match = shingle_match("Rain is expected over the mountains by the weekend.", TRUTH)
    assert (match.shared, match.precision, match.recall, match.f1) == (0, 0.0, 0.0, 0.0)


def test_partial_overlap_has_the_exact_expected_value():
    # truth shingles: (a b c d), (b c d e); prediction: (a b c d), (b c d x), (c d x y)
    match = shingle_match("alpha bravo charlie delta xray yankee", "alpha bravo charlie delta echo")
    assert (match.shared, match.predicted, match.truth) == (1, 3, 2)
    assert match.precision == pytest.approx(1 / 3)
    assert match.recall == pytest.approx(1 / 2)
    assert match.f1 == pytest.approx(0.4)


def test_repeated_shingles_count_as_a_multiset():
    once = "the cat sat on the mat"
    match = shingle_match(once, f"{once} {once}")
    assert (match.shared, match.predicted, match.truth) == (3, 3, 9)
    assert match.f1 == pytest.approx(0.5)


@pytest.mark.parametrize("prediction", ["", None, "   ", "!!!"])
def test_empty_prediction_scores_zero(prediction):
    match = shingle_match(prediction, TRUTH)
    assert (match.predicted, match.precision, match.recall, match.f1) == (0, 0.0, 0.0, 0.0)
    assert match.truth == 8


def test_truth_shorter_than_four_words_is_one_shingle():
    assert shingles(["breaking", "news"]) == {("breaking", "news"): 1}
    assert shingle_match("Breaking news", "Breaking news!").f1 == 1.0
    # the prediction is cut into 2-word shingles: (some breaking) (breaking news) (news today)
    match = shingle_match("Some breaking news today", "Breaking news")
    assert (match.shared, match.predicted, match.truth) == (1, 3, 1)
    assert match.f1 == pytest.approx(0.5)


def test_prediction_shorter_than_four_words_matches_nothing_of_a_long_truth():
    match = shingle_match("The council", TRUTH)
    assert (match.shared, match.predicted, match.f1) == (0, 1, 0.0)


def test_summary_means_per_page_f1_and_pools_counts_for_micro_figures():
    summary = summarize("m", "call", {"good": Match(1, 1, 1), "bad": Match(0, 10, 10)}, {"bad": "no text"})
    assert summary["mean_f1"] == 0.5
    assert summary["micro_f1"] == pytest.approx(round(1 / 11, 4))
    assert summary["pages_f1_below_0_5"] == 1
    assert summary["failures"] == 1
    assert summary["per_page_f1"] == {"bad": 0.0, "good": 1.0}
