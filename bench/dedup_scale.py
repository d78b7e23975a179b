"""Near-duplicate index at scale: insert + lookup cost per article with N stored documents.

For each N (default 10k, 100k, 1M) a fresh warehouse is preloaded with N stored
originals: rows in ``articles`` and their LSH entries in ``near_index`` /
``near_bands``. Their signatures are synthetic (random 32-bit values, which is what
MinHash gives for unrelated documents) so the preload takes minutes, not hours.
Then ``--probe`` new articles of synthetic text (a tenth of them copies of an
earlier probe cut to 55%) go through the pipeline's real path, ``flows.storing.store_batch``,
in batches of 50, and the time per article is reported: signature, and the write
transaction (exact + near lookups, decisions, inserts, index update). The first
10 batches of a fresh process also read the index pages from disk; that one-off
per run is reported apart ("warm-up") from the steady cost per article. Each N runs in
its own process; peak RSS is that process's maximum resident size.

Usage: python bench/dedup_scale.py [--sizes 10000 100000 1000000] [--probe 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARMUP_BATCHES = 10
sys.path.insert(0, str(ROOT))


def preload(con, n: int) -> None:
    import numpy as np
    import pyarrow as pa

    from extractors.neardup import BANDS, NUM_PERM

    rng = np.random.default_rng(7)
    con.execute("DROP INDEX near_bands_key")
    step = 50_000
    for start in range(0, n, step):
        m = min(step, n - start)
        ids = [f"bench_{i}" for i in range(start, start + m)]
        doc_keys = rng.integers(-2**63, 2**63 - 1, size=m, dtype=np.int64)
        now = datetime(2024, 1, 1, tzinfo=UTC)
        con.register("a", pa.table({
            "article_id": ids, "origin": ["feed"] * m, "url": [f"https://bench.example/{i}" for i in ids],
            "canonical_url": [f"https://bench.example/{i}" for i in ids],
            "content_hash": [f"{i:064x}" for i in range(start, start + m)],
            "text": ["synthetic stored text"] * m, "word_count": pa.array([3] * m, pa.int32()),
            "extraction": ["bench"] * m, "fetched_at": pa.array([now] * m, pa.timestamp("us", tz="UTC")),
        }))
        con.execute("INSERT INTO articles (article_id, origin, url, canonical_url, content_hash, text, "
                    "word_count, extraction, fetched_at) SELECT * FROM a")
        con.unregister("a")
        sigs = rng.integers(0, 2**32 - 1, size=(m, NUM_PERM), dtype=np.uint32)
        con.register("ix", pa.table({
            "doc_key": doc_keys, "article_id": ids, "shingles": pa.array([300] * m, pa.int32()),
            "signature": pa.array([s.astype("<u4").tobytes() for s in sigs], pa.binary()),
        }))
        con.execute("INSERT INTO near_index SELECT * FROM ix")
        con.unregister("ix")
        con.register("b", pa.table({
            "band_key": rng.integers(-2**63, 2**63 - 1, size=m * BANDS, dtype=np.int64),
            "doc_key": np.repeat(doc_keys, BANDS),
        }))
        con.execute("INSERT INTO near_bands SELECT * FROM b")
        con.unregister("b")
    con.execute("CREATE INDEX near_bands_key ON near_bands (band_key)")
    con.execute("CHECKPOINT")


def synthetic_articles(count: int, seed: int = 11):
    from extractors.records import Article
    from extractors.textnorm import content_hash, word_count

    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20_000)]
    originals: list[str] = []
    out = []
    for i in range(count):
        if originals and i % 10 == 9:  # a near copy: an earlier original cut to 55% plus a new line
            base = rng.choice(originals).split()
            text = " ".join(base[: int(len(base) * 0.55)]) + f" closing line {i} added by the desk"
        else:
            text = " ".join(rng.choice(vocab) for _ in range(300))
            originals.append(text)
        url = f"https://probe.example/{seed}/{i}"
        out.append(Article(
            article_id=f"probe_{seed}_{i}", origin="feed", feed_name="bench", url=url, canonical_url=url,
            guid=url, title=f"probe {i}", author=None, published_at=None, fetched_at=datetime.now(UTC),
            language=None, text=text, raw_text=None, word_count=word_count(text),
            content_hash=content_hash(text), extraction="bench",
        ))
    return out


def run_preload(db: Path, n: int) -> dict:
    from warehouse.connection import write_connection

    started = time.perf_counter()
    with write_connection(db) as con:
        preload(con, n)
    return {"preload_s": time.perf_counter() - started}


def run_probe(db: Path, n: int, probe: int, batch: int) -> dict:
    """Measured in a fresh process, as a monitor run would open the warehouse."""
    from extractors.neardup import DedupSettings
    from flows.storing import Analysis, compute_signatures, store_batch
    from warehouse.connection import write_connection

    settings = DedupSettings()
    articles = synthetic_articles(probe)
    sig_s = 0.0
    batch_s: list[float] = []
    copies = 0
    with write_connection(db) as con:
        for i in range(0, len(articles), batch):
            chunk = articles[i:i + batch]
            t0 = time.perf_counter()
            sigs = compute_signatures(chunk, settings)
            t1 = time.perf_counter()
            stored = store_batch(con, chunk, Analysis(sigs), settings).inserted
            batch_s.append(time.perf_counter() - t1)
            sig_s += t1 - t0
            copies += sum(a.duplicate_of is not None for a in stored)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The first batches of a process read the index pages from disk (a one-off per
    # run); the rest is the steady per-article cost.
    warm = WARMUP_BATCHES
    steady = batch_s[warm:]
    return {"stored_docs": n, "probe": probe, "copies_found": copies, "copies_made": probe // 10,
            "signature_ms": 1000 * sig_s / probe, "write_ms": 1000 * sum(batch_s) / probe,
            "steady_write_ms": 1000 * sum(steady) / (len(steady) * batch),
            "warmup_s": sum(batch_s[:warm]) - len(batch_s[:warm]) * sum(steady) / len(steady),
            "total_ms": 1000 * sig_s / probe + 1000 * sum(steady) / (len(steady) * batch),
            "peak_rss_mb": rss_mb}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--probe", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--preload", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.preload:
        print(json.dumps(run_preload(Path(args.preload[0]), int(args.preload[1]))))
        return 0
    if args.measure:
        print(json.dumps(run_probe(Path(args.measure[0]), int(args.measure[1]), args.probe, args.batch)))
        return 0
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "bench.duckdb")
            load = _child("--preload", db, str(n))
            r = _child("--measure", db, str(n), "--probe", str(args.probe), "--batch", str(args.batch))
        rows.append(r)
        print(f"N={n:>9,}  signature {r['signature_ms']:.2f} ms  write+lookup {r['steady_write_ms']:.2f} ms "
              f"(mean incl. warm-up {r['write_ms']:.2f})  total {r['total_ms']:.2f} ms/article  "
              f"warm-up {r['warmup_s']:.2f} s/run  copies found {r['copies_found']}/{r['copies_made']}  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB  (preload {load['preload_s']:.0f} s)", flush=True)
    if len(rows) > 1:
        ratio = rows[-1]["total_ms"] / rows[0]["total_ms"]
        print(f"cost per article at N={rows[-1]['stored_docs']:,} is {ratio:.2f}x the cost at "
              f"N={rows[0]['stored_docs']:,} (goal: <= 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
