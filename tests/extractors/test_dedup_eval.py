"""The dedup quality gate on the labelled pairs in evalsets/dedup (and `newswatch eval`)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from extractors.neardup import DedupSettings
from flows.evaluate import DEFAULT_LABELS, evaluate_dedup, load_dedup_pairs

ROOT = Path(__file__).resolve().parents[2]
PAIRS = DEFAULT_LABELS / "dedup" / "pairs.toml"


def test_labelled_set_is_large_and_varied():
    pairs = load_dedup_pairs(PAIRS)
    assert len(pairs) >= 40
    kinds = Counter((p.kind, p.duplicate) for p in pairs)
    for kind in ("syndicated", "cut", "insert", "rewrite"):
        assert kinds[(kind, True)] >= 4, kind
    for kind in ("same_day", "shared_background", "follow_up"):
        assert kinds[(kind, False)] >= 4, kind


def test_precision_and_recall_gate():
    score = evaluate_dedup(DEFAULT_LABELS, DedupSettings())
    misses = [(r.pair.a_name, r.pair.b_name, round(r.jaccard, 2), round(r.containment, 2)) for r in score.errors]
    assert score.precision >= 0.95, misses
    assert score.recall >= 0.90, misses


def test_eval_command_prints_precision_and_recall():
    out = subprocess.run([sys.executable, "-m", "flows.cli", "eval"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "precision" in out.stdout and "recall" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "flows.cli", "eval", "--labels", "/nonexistent.toml"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no labelled set" in bad.stderr
