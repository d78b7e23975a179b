"""Classification speed: articles per second on one core over the labelled set, repeated.

Runs what the pipeline runs for every stored original, relevance scoring and, for
relevant articles, event classification (``flows.storing.analyse`` without the
MinHash part), on the 59 labelled articles of evalsets/classify repeated --repeat
times, in this one process.
Usage: python bench/classify_speed.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extractors.classify import ClassifyInput, classify  # noqa: E402
from extractors.relevance import load_lexicon, relevance  # noqa: E402
from extractors.rules import load_rules  # noqa: E402
from flows.evaluate import DEFAULT_LABELS, load_classify_articles  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rules, lexicon = load_rules(), load_lexicon()
    items = load_classify_articles(DEFAULT_LABELS / "classify") * args.repeat
    words = sum(len(i.text.split()) for i in items)
    started = time.perf_counter()
    events = 0
    for item in items:
        if relevance(item.title, item.text, lexicon) >= 0.5:
            events += len(classify(ClassifyInput(item.id, item.title, item.text, item.published), rules))
    elapsed = time.perf_counter() - started
    print(f"articles: {len(items)} ({len(items) // args.repeat} distinct, mean {words / len(items):.0f} words), "
          f"events: {events}")
    print(f"relevance + classification, 1 core: {len(items) / elapsed:7.1f} articles/s "
          f"({1000 * elapsed / len(items):.2f} ms/article)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
