"""Extraction throughput of newswatch's trafilatura adapter on the 181 real benchmark pages.

Prints pages/s with one process and with a pool of N processes (the monitor flow's
``extract_workers``), on the same pages, so the gain from both cores is visible.
Usage: python bench/extract_speed.py [--repeat 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.steps import _extract_job  # noqa: E402

PAGES = ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark" / "html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not PAGES.is_dir():
        print(f"skipped: {PAGES} not present")
        return 0
    jobs = [(gzip.decompress(p.read_bytes()), f"https://example.org/{p.name}")
            for p in sorted(PAGES.glob("*.html.gz"))] * args.repeat
    started = time.perf_counter()
    results = [_extract_job(j) for j in jobs]
    one = len(jobs) / (time.perf_counter() - started)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
        list(pool.map(_extract_job, jobs[:4]))  # warm the workers up (imports)
        started = time.perf_counter()
        list(pool.map(_extract_job, jobs, chunksize=8))
        many = len(jobs) / (time.perf_counter() - started)
    failures = sum(type(r).__name__ == "ExtractionFailure" for r, _ in results)
    print(f"pages: {len(jobs)} ({len(jobs) // args.repeat} distinct), extraction failures: {failures}")
    print(f"adapter, 1 process:           {one:7.1f} pages/s")
    print(f"adapter, {args.workers} processes (pool):  {many:7.1f} pages/s  ({many / one:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
