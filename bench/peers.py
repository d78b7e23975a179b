"""Peers' extraction speed: news-please and newspaper4k over a folder of pages, in a process pool.

Runs with the peers' own venv only (``make peers``; it never imports newswatch):

    bench/.peers-venv/bin/python bench/peers.py --pages-dir DIR --workers 2 --json OUT [--texts-out TEXTS]

DIR holds ``<name>.html`` files and ``urls.json`` (name -> url). For each peer a pool of
``--workers`` spawned processes imports the library once per process, then maps every page
through it. The raw page bytes go to each library, which decodes them itself (as it would
when it fetches: news-please's crawler hands over the response body, newspaper4k runs
UnicodeDammit), the same way newswatch hands bytes to trafilatura.

Timed: the pool's map over all pages (page bytes are read before, the workers are already
started, have imported the library and extracted one small warm-up page). Reported apart: the
workers' start-up (spawn + import + warm-up) and, within it, import and warm-up times.
A page whose extraction raises counts as a failure, by exception type (e.g. newspaper4k on
Korean pages needs nltk's punkt data, which cannot be downloaded here: LookupError); an empty
text is a failure of type "empty".
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
import warnings
from importlib import metadata
from pathlib import Path
from threading import BrokenBarrierError

PEERS = {"news-please": "news-please", "newspaper4k": "newspaper4k"}  # peer -> distribution name
CHUNKSIZE = 2  # small chunks: page costs vary ten-fold, so big chunks leave one worker idle

# A small page extracted once per worker before timing: the first call of a library pays one-off
# set-up (news-please loads langdetect's language profiles: ~0.6 s) that a long-running
# pipeline would pay once, not per page.
WARM_UP_PAGE = (b"<html><head><title>Warm-up</title></head><body><article><p>"
                + b"A short paragraph of plain English text, extracted once to warm the library up. " * 12
                + b"</p></article></body></html>")

_extract = None  # the worker's extraction function, set by _init_worker
_init_seconds = (0.0, 0.0)  # (import, warm-up) in this worker


def _news_please():
    from newsplease import NewsPlease

    def extract(html: bytes, url: str) -> str | None:
        article = NewsPlease.from_html(html, url=url, fetch_images=False)
        return getattr(article, "maintext", None)

    return extract


def _newspaper4k():
    import newspaper

    def extract(html: bytes, url: str) -> str | None:
        article = newspaper.Article(url, fetch_images=False)
        article.download(input_html=html)
        article.parse()
        return article.text

    return extract


_LOADERS = {"news-please": _news_please, "newspaper4k": _newspaper4k}


def _init_worker(peer: str, barrier) -> None:
    """Import the peer's library once in this worker, warm it up, then wait for the other workers."""
    global _extract, _init_seconds
    # The libraries warn per page (dateutil's unknown time zone names): noise in the report.
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    _extract = _LOADERS[peer]()
    imported = time.perf_counter()
    _extract(WARM_UP_PAGE, "https://example.org/warm-up")
    _init_seconds = (imported - started, time.perf_counter() - imported)
    try:
        barrier.wait(timeout=300)
    except BrokenBarrierError:
        pass  # a replaced worker: the others are long past the start


def _worker_init_seconds(_: int) -> tuple[float, float]:
    return _init_seconds


def _extract_page(job: tuple[str, bytes, str]) -> tuple[str, str | None, str | None, float, float]:
    """Return (name, text, failure type, wall seconds, CPU seconds) for one page; never raises."""
    name, html, url = job
    started, cpu = time.perf_counter(), time.process_time()
    try:
        text, failure = _extract(html, url), None
    except Exception as exc:  # any library error is a failed page, named by its type
        text, failure = None, type(exc).__name__
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if failure is None and (not text or not text.strip()):
        text, failure = None, "empty"
    return name, text, failure, seconds, cpu


def load_pages(pages_dir: Path) -> list[tuple[str, bytes, str]]:
    """Read ``urls.json`` and every ``<name>.html`` it names, as (name, bytes, url), sorted by name.

    Raises FileNotFoundError naming the missing file.
    """
    urls = json.loads((pages_dir / "urls.json").read_text(encoding="utf-8"))
    return [(name, (pages_dir / f"{name}.html").read_bytes(), urls[name]) for name in sorted(urls)]


def run_peer(peer: str, jobs: list[tuple[str, bytes, str]], workers: int) -> tuple[dict, dict[str, str]]:
    """Extract every page with one peer in a spawned pool; return (figures, texts by name)."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    started = time.perf_counter()
    with ctx.Pool(workers, initializer=_init_worker, initargs=(peer, barrier)) as pool:
        inits = pool.map(_worker_init_seconds, range(workers), chunksize=1)
        startup = time.perf_counter() - started
        started = time.perf_counter()
        results = pool.map(_extract_page, jobs, chunksize=CHUNKSIZE)
        seconds = time.perf_counter() - started
    texts = {name: text for name, text, *_ in results if text is not None}
    failed = {name: kind for name, _, kind, *_ in results if kind is not None}
    slowest = sorted(((round(sec, 3), name) for name, _, _, sec, _ in results), reverse=True)[:3]
    types: dict[str, int] = {}
    for kind in failed.values():
        types[kind] = types.get(kind, 0) + 1
    figures = {
        "pages": len(jobs),
        "workers": workers,
        "seconds": round(seconds, 3),
        "pages_per_s": round(len(jobs) / seconds, 2) if seconds else None,
        "failures": len(failed),
        "failure_types": dict(sorted(types.items())),
        "failed_pages": dict(sorted(failed.items())),
        "page_seconds_total": round(sum(sec for *_, sec, _ in results), 3),
        "page_cpu_seconds_total": round(sum(cpu for *_, cpu in results), 3),
        "slowest_pages": {name: sec for sec, name in slowest},
        "startup_seconds": round(startup, 3),
        "import_seconds": round(max(i for i, _ in inits), 3),
        "warmup_seconds": round(max(w for _, w in inits), 3),
        "version": metadata.version(PEERS[peer]),
    }
    return figures, texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages-dir", type=Path, required=True, help="folder of <name>.html and urls.json")
    parser.add_argument("--workers", type=int, default=2, help="processes per peer's pool")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--texts-out", type=Path, help="write each page's text to DIR/<peer>/<name>.txt")
    parser.add_argument("--peers", nargs="+", choices=sorted(PEERS), default=sorted(PEERS))
    args = parser.parse_args(argv)
    jobs = load_pages(args.pages_dir)
    report = {}
    print(f"{'peer':<12} {'version':>8} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'failures':>8}  "
          f"{'start-up s':>10}  failure types")
    for peer in args.peers:
        figures, texts = run_peer(peer, jobs, max(1, args.workers))
        report[peer] = figures
        print(f"{peer:<12} {figures['version']:>8} {figures['pages']:>6} {figures['seconds']:>8.2f} "
              f"{figures['pages_per_s']:>8.1f} {figures['failures']:>8}  {figures['startup_seconds']:>10.2f}  "
              f"{figures['failure_types'] or '-'}", flush=True)
        if args.texts_out:
            folder = args.texts_out / peer
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in texts.items():
                (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
