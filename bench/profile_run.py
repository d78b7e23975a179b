"""Where the main process of `newswatch run` spends its CPU: a py-spy profile, grouped.

Serves N pages of the throughput benchmark's loopback site, runs `newswatch run` under
`py-spy record --gil` (only samples where a thread holds the GIL, i.e. Python CPU time of
the main process; extraction runs in pool processes and is not in it), and sums the samples
by what the stack is doing. Writes the raw samples to bench/results/profile-N.txt.

Usage: python bench/profile_run.py [--n 2000] [--rate 100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loopback_site import Catalogue, LoopbackSite, load_pages  # noqa: E402
from bench.throughput import RESULTS, corpus_dir, prefect_env, write_config  # noqa: E402

BIN = Path(sys.executable).parent

# First matching group wins, so the more specific come first.
GROUPS = (
    ("relevance scoring", ("extractors/relevance.py",)),
    ("MinHash signatures", ("extractors/neardup.py", "datasketch")),
    ("event classification", ("extractors/classify.py",)),
    ("write transaction (dedup lookups, inserts)", ("warehouse/",)),
    ("building article records", ("extractors/articles.py", "extractors/textnorm.py")),
    ("HTTP fetching", ("extractors/fetching.py", "httpx", "httpcore", "h11")),
    ("feed parsing", ("extractors/feeds.py", "feedparser")),
    ("imports", ("_find_and_load",)),
    ("process pool (pickling pages)", ("concurrent/futures/process.py", "multiprocessing")),
    ("Prefect engine and client", ("prefect",)),
)


def group_of(stack: str) -> str:
    for name, marks in GROUPS:
        if any(m in stack for m in marks):
            return name
    return "other"


def summarise(raw: Path, rate: int) -> Counter:
    seconds: Counter = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            seconds[group_of(stack)] += int(count) / rate
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=100)
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if spy is None:
        print("skipped: py-spy is not installed (pip install -e '.[bench]')")
        return 0
    work = Path(tempfile.mkdtemp(prefix="nw-profile-"))
    RESULTS.mkdir(exist_ok=True)
    raw = RESULTS / f"profile-{args.n}.txt"
    try:
        with LoopbackSite(Catalogue(load_pages(corpus_dir()), args.n)) as site:
            config = work / "bench.toml"
            write_config(config, work / "bench.duckdb", site.feed_urls(), 2)
            env = prefect_env(work / "prefect")
            done = subprocess.run([spy, "record", "--gil", "--rate", str(args.rate), "--format", "raw",
                                   "-o", str(raw), "--", str(BIN / "newswatch"), "run", "--config", str(config)],
                                  env=env, cwd=work, capture_output=True, text=True)
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
                return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = summarise(raw, args.rate)
    total = sum(seconds.values())
    print(f"main process of `newswatch run`, N = {args.n:,}: {total:.1f} s of Python CPU "
          f"({1000 * total / args.n:.1f} ms per article); raw samples in {raw}")
    for name, value in seconds.most_common():
        print(f"  {name:<45} {value:6.2f} s  {1000 * value / args.n:5.2f} ms/article  {100 * value / total:4.1f}%")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DO_NOT_TRACK", "1")
    raise SystemExit(main())
