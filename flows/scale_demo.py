"""`make scale-demo`: one sharded monitor pass on real distributed machinery, checked.

Starts (and stops) everything on this machine, on loopback:
PostgreSQL (installed from Debian's packages if missing) holding the DuckLake catalog
and the Prefect server's database; `prefect server start` on it; a process work pool
with two `prefect worker start` processes; the demo site with 20 feeds whose items
overlap (each article is listed by about five feeds, so shards race to store the same
stories). It deploys newswatch (`newswatch deploy`), runs the monitor deployment split
into shards, and checks the warehouse against a reference pass of the same feeds
written by one process into a DuckDB file.

Usage: python -m flows.scale_demo [--workers 2] [--feeds 20] [--shards 4] [--json PATH] [--keep DIR]
Exit code 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flows import localcluster
from flows.site_server import SiteServer

PROJECT_DIR = Path(__file__).resolve().parents[1]
SITE = PROJECT_DIR / "examples" / "site"
POOL = "newswatch-scale-demo"
BIN = Path(sys.executable).parent


def article_pages(site: Path) -> list[str]:
    """Site-relative paths of the demo's article pages (both templates)."""
    return sorted(str(p.relative_to(site)) for d in ("ledger", "wire") for p in (site / d).glob("*.html"))


def overlapping_feed(k: int, pages: list[str], per_feed: int = 5) -> str:
    """RSS feed k: ``per_feed`` consecutive pages starting at 2k, so neighbours overlap."""
    items = []
    for j in range(per_feed):
        page = pages[(2 * k + j) % len(pages)]
        link = "{{BASE_URL}}/" + page
        items.append(f"<item><title>{Path(page).stem.replace('-', ' ')}</title><link>{link}</link>"
                     f"<guid isPermaLink=\"true\">{link}</guid></item>")
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Scale demo feed {k}</title><link>{{{{BASE_URL}}}}/</link>"
            "<description>Overlapping feed of the demo site</description>"
            + "".join(items) + "</channel></rss>")


def build_site(workdir: Path, feeds: int) -> tuple[Path, list[str]]:
    """A copy of the demo site with ``feeds`` overlapping feeds under feeds/scale/."""
    site = workdir / "site"
    shutil.copytree(SITE, site)
    pages = article_pages(site)
    (site / "feeds" / "scale").mkdir()
    names = []
    for k in range(feeds):
        (site / "feeds" / "scale" / f"{k:02d}.xml").write_text(overlapping_feed(k, pages), encoding="utf-8")
        names.append(f"feeds/scale/{k:02d}.xml")
    return site, names


def write_config(path: Path, base_url: str, feed_paths: list[str], warehouse: dict[str, str],
                 shards: int) -> None:
    lines = ["[warehouse]"] + [f"{k} = {json.dumps(v)}" for k, v in warehouse.items()] + [
        "[fetch]", "per_host_concurrency = 4", "per_host_delay_s = 0.0", 'private_allowlist = ["127.0.0.1"]',
        "[run]", f"shards = {shards}", "extract_workers = 1",
    ]
    for i, feed in enumerate(feed_paths):
        lines += ["[[feeds]]", f'name = "scale-{i:02d}"', f'url = "{base_url}/{feed}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(cmd: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_DIR)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                           f"{done.stderr[-3000:]}")
    return done


ROWS = """
SELECT article_id, canonical_url, duplicate_of IS NOT NULL AS is_copy, is_relevant
FROM articles ORDER BY article_id
"""


def warehouse_facts(config: Path, env: dict[str, str]) -> dict[str, Any]:
    """What the warehouse holds, read through `newswatch sql` (the user's read path)."""
    def sql(query: str) -> list[dict[str, Any]]:
        out = _run([str(BIN / "newswatch"), "sql", query, "--config", str(config), "--format", "json"], env)
        return json.loads(out.stdout)

    rows = sql(ROWS)
    counts = sql("SELECT (SELECT count(*) FROM articles) AS articles, "
                 "(SELECT count(DISTINCT article_id) FROM articles) AS distinct_articles, "
                 "(SELECT count(*) FROM events) AS events, "
                 "(SELECT count(DISTINCT event_id) FROM events) AS distinct_events, "
                 "(SELECT count(*) FROM near_index) AS index_entries, "
                 "(SELECT count(DISTINCT article_id) FROM near_index) AS distinct_index_entries")[0]
    roots = sql("SELECT count(*) AS bad FROM (SELECT a.article_id FROM articles a "
                "LEFT JOIN events e ON e.article_id = a.article_id AND e.is_root "
                "WHERE a.duplicate_of IS NULL AND a.is_relevant GROUP BY 1 HAVING count(e.event_id) <> 1)")[0]
    return {"rows": rows, **counts, "relevant_originals_without_one_root": roots["bad"]}


def run_demo(workdir: Path, workers: int, feeds: int, shards: int) -> dict[str, Any]:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 1)
        clock = now
        print(f"[scale-demo] {name}: {timings[name]} s", flush=True)

    site_dir, feed_paths = build_site(workdir, feeds)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base_env.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    with SiteServer(site_dir) as site, localcluster.postgres(workdir) as pg:
        pg.create_database("lake")
        pg.create_database("prefect")
        print(f"[scale-demo] port postgres {pg.port}", flush=True)
        lap("postgres started")
        lake = {"backend": "ducklake", "catalog": pg.libpq_dsn("lake"), "data_path": str(workdir / "lake")}
        config = workdir / "newswatch.toml"
        write_config(config, site.base_url, feed_paths, lake, shards)
        # the reference: the same feeds, one process, one DuckDB file
        reference = workdir / "reference.toml"
        write_config(reference, site.base_url, feed_paths, {"path": str(workdir / "reference.duckdb")}, 1)
        ref_env = {**base_env, "PREFECT_HOME": str(workdir / "reference-prefect")}
        _run([str(BIN / "newswatch"), "run", "--config", str(reference)], ref_env)
        lap("reference pass (one process, DuckDB file)")
        with localcluster.prefect_server(workdir, pg.sqlalchemy_url("prefect")) as api_url:
            env = {**base_env, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(workdir / "client-prefect")}
            print(f"[scale-demo] port prefect {urlsplit(api_url).port}", flush=True)
            lap("prefect server healthy (on PostgreSQL)")
            # --limit 2: a worker runs at most two flow runs at once (the parent and one shard),
            # which is also what a 2-core host can usefully run; the rest go to other workers.
            with localcluster.workers(api_url, POOL, workers, workdir, limit=2) as started:
                lap(f"{workers} workers registered")
                _run([str(BIN / "newswatch"), "deploy", "--pool", POOL, "--config", str(config), "--no-schedule"],
                     env)
                lap("deployed")
                run = json.loads(_run([sys.executable, "-c", _TRIGGER, str(config)], env, timeout=900).stdout
                                 .strip().splitlines()[-1])
                lap("sharded monitor pass")
        names = [w.name for w in started]
        facts = warehouse_facts(config, base_env)
        expected = warehouse_facts(reference, base_env)
        shards_run = shard_rows(config, base_env, run["flow_run_id"])
    return {"timings_s": timings, "workers": names, "run": run, "shards": shards_run,
            "lake": facts, "reference": expected}


# Runs in a subprocess with PREFECT_API_URL set: trigger the parent deployment, wait.
_TRIGGER = """
import json, sys
from prefect.deployments import run_deployment
flow_run = run_deployment("monitor/newswatch-monitor",
                          parameters={"config_path": sys.argv[1], "trigger": "scale-demo"}, timeout=840)
print(json.dumps({"flow_run_id": str(flow_run.id), "state": flow_run.state.name if flow_run.state else None}))
"""


def check(result: dict[str, Any], shards: int) -> list[str]:
    """What is wrong with the demo's outcome (empty: all good)."""
    problems = []
    lake, ref = result["lake"], result["reference"]
    if result["run"].get("state") != "Completed":
        problems.append(f"the monitor run ended {result['run'].get('state')}")
    if lake["articles"] != lake["distinct_articles"]:
        problems.append(f"duplicate article rows: {lake['articles']} rows, {lake['distinct_articles']} ids")
    if lake["events"] != lake["distinct_events"]:
        problems.append(f"duplicate event rows: {lake['events']} rows, {lake['distinct_events']} ids")
    if lake["index_entries"] != lake["distinct_index_entries"]:
        problems.append("duplicate near-duplicate index entries")
    lake_ids = {r["article_id"] for r in lake["rows"]}
    ref_ids = {r["article_id"] for r in ref["rows"]}
    if lake_ids != ref_ids:
        problems.append(f"articles differ from the reference: missing {sorted(ref_ids - lake_ids)}, "
                        f"extra {sorted(lake_ids - ref_ids)}")
    copies = sum(r["is_copy"] for r in lake["rows"])
    ref_copies = sum(r["is_copy"] for r in ref["rows"])
    if copies != ref_copies:
        problems.append(f"{copies} copies marked, the reference marks {ref_copies}")
    if lake["events"] == 0 or lake["relevant_originals_without_one_root"]:
        problems.append(f"events: {lake['events']} stored, {lake['relevant_originals_without_one_root']} "
                        "relevant originals without exactly one root event")
    shard_workers = {s["worker"] for s in result["shards"]}
    if len(result["shards"]) != shards:
        problems.append(f"{len(result['shards'])} shard runs recorded, expected {shards}")
    if not set(result["workers"]) <= shard_workers:
        problems.append(f"not every worker ran a shard: shards ran on {sorted(shard_workers)}, "
                        f"workers were {result['workers']}")
    return problems


def shard_rows(config: Path, env: dict[str, str], parent: str) -> list[dict[str, Any]]:
    query = ("SELECT json_extract(parameters, '$.shard')::INTEGER AS shard, worker, status, feeds_total, "
             f"entries_new, articles_stored FROM runs WHERE parent_run_id = '{parent}' ORDER BY shard")
    out = _run([str(BIN / "newswatch"), "sql", query, "--config", str(config), "--format", "json"], env)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--json", type=Path, help="write the outcome here")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (logs, lake files)")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newswatch-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = run_demo(workdir, args.workers, args.feeds, args.shards)
        problems = check(result, args.shards)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    for s in result["shards"]:
        print(f"shard {s['shard']}: {s['status']} on {s['worker']}: {s['feeds_total']} feeds, "
              f"{s['entries_new']} new entries, {s['articles_stored']} stored")
    lake = result["lake"]
    print(f"warehouse: {lake['articles']} article rows ({lake['distinct_articles']} ids), "
          f"{lake['events']} events; reference: {result['reference']['articles']} articles, "
          f"{result['reference']['events']} events")
    summary = {k: v for k, v in result.items() if k not in ("lake", "reference")}
    summary["lake"] = {k: v for k, v in lake.items() if k != "rows"}
    summary["reference"] = {k: v for k, v in result["reference"].items() if k != "rows"}
    summary["problems"] = problems
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))
    if problems:
        print("SCALE DEMO FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("scale demo: all checks passed (both workers ran shards, rows match the reference, no duplicates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
