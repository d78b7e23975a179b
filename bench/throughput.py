"""End-to-end throughput of `newswatch run`, next to its ceiling and its peers.

For each N (default 500, 2,000, 8,000) a loopback site serves N real article pages
(the 181 pages of the article-extraction benchmark, replicated with a per-copy change)
through feeds of 50 items, and the benchmark measures, on this machine:

- `newswatch run` (a real process, a real Prefect flow run, a real DuckDB file):
  articles/s over the pass, process wall time, seconds per stage, peak RSS of the
  process tree;
- a second `newswatch run` where every feed answers 304, against an empty Prefect flow run;
- the ceiling: trafilatura alone (bare_extraction with metadata) in W processes on the
  same N pages, read from memory;
- at the peer size (default 500): the naive sequential baseline, news-please and
  newspaper4k (both in W processes, from HTML; they run in bench/.peers-venv).

Writes bench/results/throughput.json, bench/results/throughput.md (the table) and
bench/throughput.png (articles/s against N).

Usage: python bench/throughput.py [--sizes 500 2000 8000] [--peer-size 500] [--workers 2]
       [--skip-peers] [--profile N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loopback_site import Catalogue, LoopbackSite, load_pages  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
PEERS_PYTHON = ROOT / "bench" / ".peers-venv" / "bin" / "python"
STAGES = ("poll", "fetch", "extract", "dedup", "classify", "write")


def corpus_dir() -> Path:
    base = Path(os.environ.get("NEWSWATCH_CORPORA", ROOT.parent / "shared" / "corpora"))
    return base / "article-extraction-benchmark"


# --- measuring processes ---------------------------------------------------------------


def process_kind(cmdline: list[str]) -> str:
    """A short name for a process of the run's tree, to group CPU time by."""
    text = " ".join(cmdline)
    if "uvicorn" in text or "prefect.server" in text or "server start" in text:
        return "prefect server"
    if "multiprocessing" in text or "spawn_main" in text:
        return "extract workers"
    return "main"


class TreeRss:
    """Peak resident memory of a process and all its descendants, and the CPU seconds of
    each (last value seen before it exits), sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self.cpu: dict[int, tuple[str, float]] = {}
        self._proc = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self._proc, *self._proc.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                        times = p.cpu_times()
                        kind = self.cpu[p.pid][0] if p.pid in self.cpu else process_kind(p.cmdline())
                        self.cpu[p.pid] = (kind, times.user + times.system)
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self._stop.wait(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak

    def cpu_by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for kind, seconds in self.cpu.values():
            out[kind] = out.get(kind, 0.0) + seconds
        return {k: round(v, 2) for k, v in sorted(out.items())}


def timed_process(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run a command; return its wall seconds, peak tree RSS (MB), exit code and output."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rss = TreeRss(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    peak = rss.stop()
    if proc.returncode not in (0,):
        print(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}", file=sys.stderr)
    return {"wall_s": wall, "peak_rss_mb": peak / 2**20, "cpu_s": rss.cpu_by_kind(), "code": proc.returncode,
            "stdout": out, "stderr": err}


def prefect_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_LOGGING_LEVEL="WARNING")
    return env


# --- newswatch --------------------------------------------------------------------------


def write_config(path: Path, db: Path, feeds: list[str], workers: int) -> None:
    lines = [
        "[warehouse]", f'path = "{db}"',
        "[fetch]", "per_host_concurrency = 16", "per_host_delay_s = 0.0", "allow_private_networks = true",
        "[run]", "batch_size = 50", "feed_concurrency = 8", f"extract_workers = {workers}",
    ]
    for j, url in enumerate(feeds):
        lines += ["[[feeds]]", f'name = "bench-{j}"', f'url = "{url}"']
    path.write_text("\n".join(lines) + "\n")


def last_run(db: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM runs ORDER BY started_at DESC LIMIT 1")
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
        row["stored_total"] = con.execute("SELECT count(*) FROM articles WHERE origin = 'feed'").fetchone()[0]
    finally:
        con.close()
    row["pass_s"] = (row["finished_at"] - row["started_at"]).total_seconds()
    return row


def newswatch_run(config: Path, env: dict[str, str], cwd: Path, profile: Path | None = None) -> dict[str, Any]:
    cmd = [str(BIN / "newswatch"), "run", "--config", str(config)]
    if profile is not None:
        cmd = [str(BIN / "pyinstrument"), "--renderer", "text", "--outfile", str(profile),
               str(BIN / "newswatch"), "run", "--config", str(config)]
    return timed_process(cmd, env, cwd)


# --- the ceiling: trafilatura alone -------------------------------------------------------

_WORKER_CATALOGUE: Catalogue | None = None


def _init_ceiling(corpus: str, n: int) -> None:
    global _WORKER_CATALOGUE
    import trafilatura  # noqa: F401 - import once per worker, outside the timing

    _WORKER_CATALOGUE = Catalogue(load_pages(Path(corpus)), n)


def _ceiling_job(i: int) -> bool:
    import trafilatura

    assert _WORKER_CATALOGUE is not None
    doc = trafilatura.bare_extraction(_WORKER_CATALOGUE.article(i), url=f"http://127.0.0.1/a/{i}.html",
                                      with_metadata=True)
    return doc is not None


def _ready(_: int) -> bool:
    return True


def ceiling(corpus: Path, n: int, workers: int) -> dict[str, Any]:
    """trafilatura alone on the same N pages in ``workers`` processes (pages built in memory)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_ceiling,
                             initargs=(str(corpus), n)) as pool:
        list(pool.map(_ready, range(workers * 4)))  # start the workers: imports and page loading
        started = time.perf_counter()
        ok = sum(pool.map(_ceiling_job, range(n), chunksize=16))
        seconds = time.perf_counter() - started
    return {"pages": n, "seconds": seconds, "articles_per_s": n / seconds, "extracted": ok, "workers": workers}


# --- peers --------------------------------------------------------------------------------


def naive_baseline(feeds: list[str], workdir: Path) -> dict[str, Any]:
    db = workdir / "naive.duckdb"
    run = timed_process([sys.executable, str(ROOT / "bench" / "naive_baseline.py"), "--db", str(db), *feeds],
                        dict(os.environ), workdir)
    figures = json.loads(run["stdout"].strip().splitlines()[-1])
    figures["peak_rss_mb"] = run["peak_rss_mb"]
    return figures


def peer_libraries(catalogue: Catalogue, base_url: str, workdir: Path, workers: int) -> dict[str, Any]:
    if not PEERS_PYTHON.exists():
        return {"skipped": f"{PEERS_PYTHON} missing: run `make peers`"}
    pages = workdir / "peer-pages"
    pages.mkdir()
    urls = {}
    for i in range(catalogue.n):
        (pages / f"{i}.html").write_bytes(catalogue.article(i))
        urls[str(i)] = f"{base_url}/a/{i}.html"
    (pages / "urls.json").write_text(json.dumps(urls))
    out = workdir / "peers.json"
    run = timed_process([str(PEERS_PYTHON), str(ROOT / "bench" / "peers.py"), "--pages-dir", str(pages),
                         "--workers", str(workers), "--json", str(out)], dict(os.environ), workdir)
    if run["code"] != 0 or not out.exists():
        return {"skipped": f"peers.py failed: {run['stderr'][-500:]}"}
    return json.loads(out.read_text())


# --- one size -----------------------------------------------------------------------------


def measure_size(pages, corpus: Path, n: int, args, env: dict[str, str], empty_s: float) -> dict[str, Any]:
    catalogue = Catalogue(pages, n)
    work = Path(tempfile.mkdtemp(prefix=f"nw-bench-{n}-"))
    try:
        with LoopbackSite(catalogue) as site:
            feeds = site.feed_urls()
            config, db = work / "bench.toml", work / "bench.duckdb"
            write_config(config, db, feeds, args.workers)
            print(f"N={n}: {len(feeds)} feeds, newswatch run ...", flush=True)
            profile = work / "profile.txt" if args.profile == n else None
            first = newswatch_run(config, env, work, profile)
            if first["code"] != 0:
                raise SystemExit(f"newswatch run failed at N={n}")
            run = last_run(db)
            if profile is not None:
                keep = RESULTS / f"profile-{n}.txt"
                shutil.copy(profile, keep)
                print(f"  profile of the main process written to {keep}")
            print(f"  {run['entries_new']} articles in {run['pass_s']:.1f} s "
                  f"({run['entries_new'] / run['pass_s']:.1f}/s), process {first['wall_s']:.1f} s, "
                  f"CPU s {first['cpu_s']}", flush=True)
            second = newswatch_run(config, env, work)
            again = last_run(db)
            print(f"  304 run: {second['wall_s']:.2f} s ({again['feeds_not_modified']}/{again['feeds_total']} "
                  f"feeds not modified), empty flow {empty_s:.2f} s", flush=True)
            print("  ceiling (trafilatura alone) ...", flush=True)
            ceil = ceiling(corpus, n, args.workers)
            print(f"  ceiling {ceil['articles_per_s']:.1f}/s", flush=True)
            result: dict[str, Any] = {
                "n": n,
                "feeds": len(feeds),
                "newswatch": {
                    "articles": run["entries_new"],
                    "stored": run["articles_stored"],
                    "near_duplicates": run["duplicates_near"],
                    "text_duplicates": run["duplicates_text"],
                    "extraction_failed": run["extraction_failed"],
                    "relevant": run["relevant_articles"],
                    "pass_s": run["pass_s"],
                    "articles_per_s": run["entries_new"] / run["pass_s"],
                    "process_wall_s": first["wall_s"],
                    "articles_per_s_wall": run["entries_new"] / first["wall_s"],
                    "peak_rss_mb": first["peak_rss_mb"],
                    "cpu_seconds": first["cpu_s"],
                    "stage_seconds": {s: run[f"{s}_seconds"] for s in STAGES},
                },
                "not_modified_run": {
                    "wall_s": second["wall_s"],
                    "pass_s": again["pass_s"],
                    "feeds_not_modified": again["feeds_not_modified"],
                    "feeds_total": again["feeds_total"],
                    "stored": again["articles_stored"],
                    "empty_flow_s": empty_s,
                    "ratio_to_empty_flow": second["wall_s"] / empty_s,
                },
                "ceiling": ceil,
            }
            if n == args.peer_size and not args.skip_peers:
                print("  naive baseline ...", flush=True)
                result["naive"] = naive_baseline(feeds, work)
                print(f"  naive {result['naive']['articles_per_s']:.1f}/s; news-please, newspaper4k ...", flush=True)
                result["peers"] = peer_libraries(catalogue, site.base_url, work, args.workers)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def empty_flow_seconds(env: dict[str, str], repeat: int = 3) -> float:
    runs = [timed_process([sys.executable, str(ROOT / "bench" / "empty_flow.py")], env, ROOT)["wall_s"]
            for _ in range(repeat)]
    return statistics.median(runs)


# --- report -------------------------------------------------------------------------------


def table(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; command: `{meta['command']}`.",
        "",
        "| N | newswatch articles/s (pass) | incl. process start | ceiling articles/s | ratio to ceiling "
        "| peak RSS MB | 304 run s | empty flow s | 304 / empty |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        nw, nm, ce = r["newswatch"], r["not_modified_run"], r["ceiling"]
        lines.append(
            f"| {r['n']:,} | {nw['articles_per_s']:.1f} | {nw['articles_per_s_wall']:.1f} | "
            f"{ce['articles_per_s']:.1f} | {nw['articles_per_s'] / ce['articles_per_s']:.2f} | "
            f"{nw['peak_rss_mb']:.0f} | {nm['wall_s']:.2f} | {nm['empty_flow_s']:.2f} | "
            f"{nm['ratio_to_empty_flow']:.2f} |"
        )
    lines += ["", "CPU milliseconds per article, by process (the run's whole process tree; the ceiling "
              "spends only extraction):", "",
              "| N | extract workers | main process | Prefect server | total | ceiling |",
              "|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        cpu, n = r["newswatch"]["cpu_seconds"], r["n"]
        total = sum(cpu.values())
        ceil_ms = 1000 * r["ceiling"]["seconds"] * r["ceiling"].get("workers", 2) / n
        lines.append(f"| {n:,} | {1000 * cpu.get('extract workers', 0) / n:.1f} | {1000 * cpu.get('main', 0) / n:.1f} "
                     f"| {1000 * cpu.get('prefect server', 0) / n:.1f} | {1000 * total / n:.1f} | ≤ {ceil_ms:.1f} |")
    lines += ["", "Seconds per stage (summed over threads and processes):", "",
              "| N | " + " | ".join(STAGES) + " | pass wall |", "|---:|" + "---:|" * (len(STAGES) + 1)]
    for r in results:
        st = r["newswatch"]["stage_seconds"]
        lines.append(f"| {r['n']:,} | " + " | ".join(f"{st[s]:.1f}" for s in STAGES)
                     + f" | {r['newswatch']['pass_s']:.1f} |")
    for r in results:
        if "naive" not in r:
            continue
        nw = r["newswatch"]["articles_per_s"]
        lines += ["", f"Peers at N = {r['n']:,} (same pages; newswatch {nw:.1f} articles/s):", "",
                  "| tool | what it does | articles/s | newswatch is × faster |", "|---|---|---:|---:|"]
        naive = r["naive"]
        lines.append(f"| naive baseline | feedparser → httpx → trafilatura → INSERT per row, sequential "
                     f"| {naive['articles_per_s']:.1f} | {nw / naive['articles_per_s']:.2f} |")
        for name, peer in (r.get("peers") or {}).items():
            if not isinstance(peer, dict) or "pages_per_s" not in peer:
                lines.append(f"| {name} | {peer} | – | – |")
                continue
            lines.append(f"| {name} {peer.get('version', '')} | extraction only, from HTML in memory, "
                         f"{meta['workers']} processes | {peer['pages_per_s']:.1f} | {nw / peer['pages_per_s']:.2f} |")
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [r["n"] for r in results]
    fig, ax = plt.subplots(figsize=(9.5, 4.2), dpi=110)
    ax.plot(ns, [r["ceiling"]["articles_per_s"] for r in results], "k--o", label="ceiling: trafilatura alone")
    ax.plot(ns, [r["newswatch"]["articles_per_s"] for r in results], "-o", color="tab:blue",
            label="newswatch run (flow pass)")
    ax.plot(ns, [r["newswatch"]["articles_per_s_wall"] for r in results], ":o", color="tab:blue",
            label="newswatch run (incl. process start)")
    markers = {"naive": ("s", "tab:red", "naive sequential baseline")}
    for r in results:
        if "naive" in r:
            m, c, label = markers["naive"]
            ax.plot([r["n"]], [r["naive"]["articles_per_s"]], m, color=c, label=label)
        for (name, peer), (m, c) in zip((r.get("peers") or {}).items(),
                                        (("^", "tab:orange"), ("v", "tab:green")), strict=False):
            if isinstance(peer, dict) and "pages_per_s" in peer:
                ax.plot([r["n"]], [peer["pages_per_s"]], m, color=c, label=f"{name} (extraction only)")
    ax.set_xscale("log")
    ax.set_xticks(ns, [f"{n:,}" for n in ns])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("articles in the pass (N)")
    ax.set_ylabel("articles per second")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("newswatch end-to-end throughput, 2 cores")
    fig.tight_layout()
    fig.savefig(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--peer-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--profile", type=int, default=0, help="profile the main process of the run at this N")
    parser.add_argument("--replot", type=Path, help="only redraw the table and plot from a results JSON")
    args = parser.parse_args(argv)
    if args.replot:
        saved = json.loads(args.replot.read_text())
        print(table(saved["results"], saved["meta"]))
        plot(saved["results"], ROOT / "bench" / "throughput.png")
        return 0
    corpus = corpus_dir()
    if not (corpus / "html").is_dir():
        print(f"skipped: {corpus / 'html'} not present")
        return 0
    pages = load_pages(corpus)
    RESULTS.mkdir(exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="nw-bench-prefect-"))
    env = prefect_env(home)
    try:
        timed_process([sys.executable, str(ROOT / "bench" / "empty_flow.py")], env, ROOT)  # migrate PREFECT_HOME
        empty_s = empty_flow_seconds(env)
        print(f"empty Prefect flow run: {empty_s:.2f} s (median of 3)", flush=True)
        results = [measure_size(pages, corpus, n, args, env, empty_s) for n in args.sizes]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "command": "python bench/throughput.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "workers": args.workers,
    }
    (RESULTS / "throughput.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    text = table(results, meta)
    (RESULTS / "throughput.md").write_text(text + "\n")
    plot(results, ROOT / "bench" / "throughput.png")
    print()
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
