"""The naive baseline: what a folder of scripts does, one thing after another.

feedparser on each feed, then httpx for each page, then trafilatura, then one
INSERT per row into DuckDB. No concurrency, no dedup, no classification.
Prints a JSON line: {"articles": n, "seconds": s, "articles_per_s": r, "failures": f}.

Usage: python bench/naive_baseline.py --db PATH FEED_URL [FEED_URL ...]
"""

from __future__ import annotations

import argparse
import json
import time

import duckdb
import feedparser
import httpx
import trafilatura


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("feeds", nargs="+")
    args = parser.parse_args()
    started = time.perf_counter()
    con = duckdb.connect(args.db)
    con.execute("CREATE TABLE IF NOT EXISTS articles (url VARCHAR, title VARCHAR, published VARCHAR, "
                "text VARCHAR)")
    stored = failures = 0
    with httpx.Client(timeout=20) as client:
        for feed_url in args.feeds:
            feed = feedparser.parse(client.get(feed_url).content)
            for entry in feed.entries:
                try:
                    html = client.get(entry.link).text
                    doc = trafilatura.bare_extraction(html, url=entry.link, with_metadata=True)
                except Exception:
                    failures += 1
                    continue
                if doc is None:
                    failures += 1
                    continue
                con.execute("INSERT INTO articles VALUES (?, ?, ?, ?)",
                            [entry.link, doc.title, doc.date, doc.text])
                stored += 1
    con.close()
    seconds = time.perf_counter() - started
    print(json.dumps({"articles": stored, "seconds": round(seconds, 3),
                      "articles_per_s": round((stored + failures) / seconds, 2), "failures": failures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
