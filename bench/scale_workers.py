"""Scale-out throughput: one sharded monitor pass with 1 worker against 2 workers.

Everything runs on this machine: a private PostgreSQL (DuckLake catalog + Prefect's
database), `prefect server start` on it, process workers, and the loopback site of bench/loopback_site.py
serving N real pages through feeds of 50. Each setting gets a fresh lake; the pass is
split into 2 shards. The parent run is `newswatch run` in this process's child, against the
server; the shards are deployment runs that the workers (`--limit 1`: one flow run at a
time each) pick up. Measured: the parent run's wall time (from its `runs` row), articles/s,
which worker ran each shard.

Two settings of `[run] extract_workers` are measured: 1 (each worker is "one core", as if
each were its own small host) and 2 (each shard uses both cores of this machine).

Usage: python bench/scale_workers.py [--n 1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loopback_site import Catalogue, LoopbackSite, load_pages  # noqa: E402
from flows import localcluster  # noqa: E402
from flows.scale_demo import _run  # noqa: E402

BIN = Path(sys.executable).parent
POOL = "newswatch-bench"
RESULTS = ROOT / "bench" / "results"


def write_config(path: Path, catalog: str, data_path: Path, feeds: list[str], extract_workers: int) -> None:
    lines = ["[warehouse]", 'backend = "ducklake"', f"catalog = {json.dumps(catalog)}",
             f"data_path = {json.dumps(str(data_path))}",
             "[fetch]", "per_host_concurrency = 16", "per_host_delay_s = 0.0", "allow_private_networks = true",
             "[run]", "shards = 2", f"extract_workers = {extract_workers}"]
    for j, url in enumerate(feeds):
        lines += ["[[feeds]]", f'name = "bench-{j:03d}"', f'url = "{url}"']
    path.write_text("\n".join(lines) + "\n")


def parent_run(config: Path, env: dict[str, str]) -> dict[str, Any]:
    def sql(query: str) -> list[dict[str, Any]]:
        return json.loads(_run([str(BIN / "newswatch"), "sql", query, "--config", str(config), "--format", "json"],
                               env).stdout)

    flow_run_id = sql("SELECT run_id FROM runs WHERE flow = 'monitor' ORDER BY started_at DESC LIMIT 1")[0]["run_id"]
    run = sql("SELECT entries_new, articles_stored, status, "
              "epoch(finished_at) - epoch(started_at) AS seconds "
              f"FROM runs WHERE run_id = '{flow_run_id}'")[0]
    shards = sql("SELECT json_extract(parameters, '$.shard')::INTEGER AS shard, worker, entries_new, "
                 f"epoch(finished_at) - epoch(started_at) AS seconds FROM runs WHERE parent_run_id = '{flow_run_id}' "
                 "ORDER BY shard")
    rows = sql("SELECT count(*) AS n, count(DISTINCT article_id) AS ids FROM articles")[0]
    return {**run, "shards": shards, "article_rows": rows["n"], "article_ids": rows["ids"]}


def measure(workdir: Path, pg, api_url: str, site: LoopbackSite, workers: int, extract_workers: int,
            env: dict[str, str]) -> dict[str, Any]:
    name = f"lake_w{workers}_x{extract_workers}"
    pg.create_database(name)
    config = workdir / f"{name}.toml"
    write_config(config, pg.libpq_dsn(name), workdir / name, site.feed_urls(), extract_workers)
    with localcluster.workers(api_url, POOL, workers, workdir / name, limit=1) as started:
        _run([str(BIN / "newswatch"), "deploy", "--pool", POOL, "--config", str(config), "--no-schedule"], env)
        # the parent runs here (`newswatch run` against the server); only the shards go to workers
        _run([str(BIN / "newswatch"), "run", "--config", str(config)], env, timeout=1800)
    plain = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    run = parent_run(config, plain)
    run.update(workers=workers, extract_workers=extract_workers,
               worker_names=[w.name for w in started],
               articles_per_s=run["entries_new"] / run["seconds"] if run["seconds"] else None)
    print(f"{workers} worker(s), extract_workers={extract_workers}: {run['entries_new']} articles in "
          f"{run['seconds']:.1f} s = {run['articles_per_s']:.1f}/s; shards on "
          f"{[s['worker'] for s in run['shards']]}", flush=True)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=RESULTS / "scale_workers.json")
    args = parser.parse_args(argv)
    if reason := localcluster.unavailable_reason():
        print(f"skipped: {reason}")
        return 0
    corpus = Path(os.environ.get("NEWSWATCH_CORPORA", ROOT.parent / "shared" / "corpora"))
    pages = load_pages(corpus / "article-extraction-benchmark")
    workdir = Path(tempfile.mkdtemp(prefix="nw-scale-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
               PREFECT_HOME=str(workdir / "client-prefect"))
    results = []
    with LoopbackSite(Catalogue(pages, args.n)) as site, localcluster.postgres(workdir) as pg:
        pg.create_database("prefect")
        with localcluster.prefect_server(workdir, pg.sqlalchemy_url("prefect")) as api_url:
            env["PREFECT_API_URL"] = api_url
            for extract_workers in (1, 2):
                for workers in (1, 2):
                    results.append(measure(workdir, pg, api_url, site, workers, extract_workers, env))
    meta = {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "n": args.n,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "command": "python bench/scale_workers.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    print()
    print(f"N = {args.n:,}, 2 shards, workers started with --limit 1; {meta['machine']}")
    print("| extract_workers | workers | pass s | articles/s | speed-up | shards ran on | rows = ids |")
    print("|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        base = next(b for b in results if b["extract_workers"] == r["extract_workers"] and b["workers"] == 1)
        print(f"| {r['extract_workers']} | {r['workers']} | {r['seconds']:.1f} | {r['articles_per_s']:.1f} | "
              f"{r['articles_per_s'] / base['articles_per_s']:.2f}× | "
              f"{', '.join(sorted({s['worker'] for s in r['shards']}))} | "
              f"{r['article_rows'] == r['article_ids']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
