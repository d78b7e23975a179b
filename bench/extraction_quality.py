"""Extraction quality on the article-extraction benchmark: F1 over 4-word shingles per page.

Scores, on the 181 real pages of ``article-extraction-benchmark`` against their ground truth:

* ``adapter``: what the pipeline stores: ``extractors.extract.extract_article`` on the page
  bytes, then ``extractors.articles.build_article`` with a feed entry that has no content or
  summary (so a failed extraction stores nothing: its text counts as empty);
* ``trafilatura``: plain ``trafilatura.extract(html, url=url)`` with its default settings;
* with ``--peers``: news-please and newspaper4k, run by bench/peers.py in bench/.peers-venv
  (``make peers``), which also reports their speed with ``--workers`` processes.

The score (as in the benchmark): text -> lower-case ``\\w+`` tokens -> multiset of 4-token
shingles; precision = shared / predicted shingles, recall = shared / truth shingles, F1 per
page, then the mean over pages (the headline) and the corpus-level micro figures.
Usage: python bench/extraction_quality.py [--peers] [--workers 2] [--json PATH] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CORPORA = Path(os.environ.get("NEWSWATCH_CORPORA", ROOT.parent / "shared" / "corpora"))
BENCHMARK = CORPORA / "article-extraction-benchmark"
PEERS_PYTHON = ROOT / "bench" / ".peers-venv" / "bin" / "python"
PEERS_SCRIPT = ROOT / "bench" / "peers.py"
SHINGLE = 4
LOW_F1 = 0.5
WORSE_BY = 0.001

_TOKEN = re.compile(r"\w+")

# ---------------------------------------------------------------- the scorer (pure functions)


def tokenize(text: str | None) -> list[str]:
    """Lower-cased ``\\w+`` tokens of ``text`` (Unicode word characters; punctuation dropped)."""
    return _TOKEN.findall((text or "").lower())


def shingles(tokens: list[str], size: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """Multiset of the ``size``-token shingles of ``tokens``.

    A sequence shorter than ``size`` (but not empty) is one shingle: the whole sequence.
    """
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1))


@dataclass(frozen=True)
class Match:
    """Shingle counts of one prediction against its truth (multisets: repeats count)."""

    shared: int
    predicted: int
    truth: int

    @property
    def precision(self) -> float:
        return self.shared / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.shared / self.truth if self.truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def shingle_match(predicted: str | None, truth: str, size: int = SHINGLE) -> Match:
    """Compare a predicted text with the ground truth over ``size``-token shingles.

    A truth of fewer than ``size`` tokens is one shingle (its whole token sequence), and the
    prediction is then cut into shingles of that same length. An empty prediction scores 0.
    """
    truth_tokens = tokenize(truth)
    size = max(1, min(size, len(truth_tokens)))
    pred, gold = shingles(tokenize(predicted), size), shingles(truth_tokens, size)
    return Match(sum((pred & gold).values()), sum(pred.values()), sum(gold.values()))


def summarize(method: str, call: str, matches: dict[str, Match], failures: dict[str, str]) -> dict:
    """Summary figures of one method: mean per-page P/R/F1 (headline), micro P/R/F1, low pages."""
    n = len(matches)
    total = Match(sum(m.shared for m in matches.values()), sum(m.predicted for m in matches.values()),
                  sum(m.truth for m in matches.values()))
    return {
        "method": method,
        "call": call,
        "pages": n,
        "mean_precision": round(sum(m.precision for m in matches.values()) / n, 4) if n else 0.0,
        "mean_recall": round(sum(m.recall for m in matches.values()) / n, 4) if n else 0.0,
        "mean_f1": round(sum(m.f1 for m in matches.values()) / n, 4) if n else 0.0,
        "micro_precision": round(total.precision, 4),
        "micro_recall": round(total.recall, 4),
        "micro_f1": round(total.f1, 4),
        "pages_f1_below_0_5": sum(m.f1 < LOW_F1 for m in matches.values()),
        "failures": len(failures),
        "failed_pages": dict(sorted(failures.items())),
        "per_page_f1": {key: round(m.f1, 4) for key, m in sorted(matches.items())},
    }


# ---------------------------------------------------------------- the corpus and the methods


@dataclass(frozen=True)
class Page:
    key: str
    url: str
    html: bytes
    truth: str


def load_corpus(corpus_dir: Path | None = None) -> list[Page]:
    """The benchmark's pages with their ground truth, sorted by id.

    Raises FileNotFoundError when the corpus is not there (NEWSWATCH_CORPORA overrides its place).
    """
    folder = Path(corpus_dir) if corpus_dir else BENCHMARK
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return [Page(key, item["url"], gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes()),
                 item["articleBody"]) for key, item in sorted(truth.items())]


ADAPTER_CALL = ("extractors.extract.extract_article(html_bytes, url) -> "
                "extractors.articles.build_article(entry without feed content) -> article.text")
PLAIN_CALL = "trafilatura.extract(html_bytes, url=url) (default settings)"


def adapter_text(html: bytes, url: str) -> tuple[str, str | None]:
    """The text the pipeline stores for this page (``""`` if none) and the failure reason, if any."""
    from extractors.articles import build_article
    from extractors.extract import extract_article
    from extractors.records import ExtractionFailure, FeedEntry

    entry = FeedEntry(feed_name="benchmark", guid=url, link=url, title="", published=None,
                      summary="", content="")
    extraction = extract_article(html, url)
    article = build_article(entry, origin="bench", run_id="extraction-quality",
                            fetched_at=datetime.now(UTC), final_url=url, extraction=extraction)
    reason = extraction.reason if isinstance(extraction, ExtractionFailure) else None
    return (article.text if article else ""), reason


def plain_trafilatura_text(html: bytes, url: str) -> tuple[str, str | None]:
    """Plain trafilatura's text with default settings (``""`` and a reason when it returns None)."""
    import trafilatura

    text = trafilatura.extract(html, url=url)
    return (text, None) if text else ("", "trafilatura returned None")


def score_method(method: str, call: str, extract: Callable[[bytes, str], tuple[str, str | None]],
                 pages: Iterable[Page]) -> tuple[dict, dict[str, str]]:
    """Run one extraction function over the pages; return (summary, texts by page id)."""
    matches: dict[str, Match] = {}
    failures: dict[str, str] = {}
    texts: dict[str, str] = {}
    started = time.perf_counter()
    for page in pages:
        text, reason = extract(page.html, page.url)
        texts[page.key] = text
        matches[page.key] = shingle_match(text, page.truth)
        if reason:
            failures[page.key] = reason
    summary = summarize(method, call, matches, failures)
    summary["seconds_one_process"] = round(time.perf_counter() - started, 2)
    return summary, texts


def score_pipeline_adapter(corpus_dir: Path | None = None) -> dict:
    """Summary figures of the pipeline's adapter + fallback on the benchmark (see ``summarize``)."""
    return score_method("adapter", ADAPTER_CALL, adapter_text, load_corpus(corpus_dir))[0]


def score_peers(pages: list[Page], workers: int = 2, peers_python: Path = PEERS_PYTHON) -> dict[str, dict]:
    """Run bench/peers.py in the peers' venv over the pages; return per peer its quality summary
    merged with its speed figures (``pages_per_s``, ``seconds``, ``failure_types``, ``version``...).

    Raises FileNotFoundError when the peers' venv is missing (``make peers``) and
    CalledProcessError when peers.py fails.
    """
    if not peers_python.exists():
        raise FileNotFoundError(f"{peers_python} not found: run `make peers` first")
    with tempfile.TemporaryDirectory(prefix="newswatch-peers-") as tmp:
        folder = Path(tmp)
        (folder / "pages").mkdir()
        for page in pages:
            (folder / "pages" / f"{page.key}.html").write_bytes(page.html)
        (folder / "pages" / "urls.json").write_text(json.dumps({p.key: p.url for p in pages}), encoding="utf-8")
        subprocess.run([str(peers_python), str(PEERS_SCRIPT), "--pages-dir", str(folder / "pages"),
                        "--workers", str(workers), "--json", str(folder / "speed.json"),
                        "--texts-out", str(folder / "texts")], check=True)
        speed = json.loads((folder / "speed.json").read_text(encoding="utf-8"))
        report = {}
        for peer, figures in speed.items():
            matches, failures = {}, {}
            for page in pages:
                path = folder / "texts" / peer / f"{page.key}.txt"
                text = path.read_text(encoding="utf-8") if path.exists() else ""
                matches[page.key] = shingle_match(text, page.truth)
                if page.key in figures.get("failed_pages", {}):
                    failures[page.key] = figures["failed_pages"][page.key]
            call = {"news-please": "NewsPlease.from_html(html_bytes, url=url, fetch_images=False).maintext",
                    "newspaper4k": "Article(url, fetch_images=False).download(input_html=html_bytes).parse()"
                                   ".text"}.get(peer, peer)
            summary = summarize(peer, call, matches, failures)
            summary["speed"] = {k: v for k, v in figures.items() if k != "failed_pages"}
            report[peer] = summary
    return report


# ---------------------------------------------------------------- why the adapter loses pages


def _adapter_variant_f1(page: Page, **changes) -> float:
    """F1 of the adapter's trafilatura call with ``changes`` applied (comments appended when included)."""
    import trafilatura

    from extractors.extract import _CONFIG

    settings = dict(with_metadata=True, include_comments=False, include_tables=True, deduplicate=False)
    settings.update(changes)
    doc = trafilatura.bare_extraction(page.html, url=page.url, config=_CONFIG, **settings)
    if doc is None:
        return 0.0
    # bare_extraction keeps comments apart; trafilatura.extract's text output appends them.
    text = f"{doc.text or ''}\n{doc.comments or ''}" if settings["include_comments"] else doc.text
    return shingle_match(text, page.truth).f1


def _difference_reason(page: Page, failure: str | None, a_words: int, p_words: int, p_f1: float) -> str:
    """Why the adapter's text scores differently from plain trafilatura's on one page."""
    from extractors.extract import MIN_WORDS

    if failure:
        reason = f"adapter returned failure, nothing stored: {failure}"
        if "words (<" in failure:
            reason += f" (MIN_WORDS={MIN_WORDS} rejected it; plain has {p_words} words)"
        return reason
    causes = []
    for label, changes in [("comments excluded (trafilatura's default includes them)", {"include_comments": True}),
                           ("with_metadata=True changes the text", {"with_metadata": False}),
                           ("comments excluded + with_metadata=True", {"include_comments": True,
                                                                       "with_metadata": False})]:
        if abs(_adapter_variant_f1(page, **changes) - p_f1) <= WORSE_BY:
            causes.append(label)
            break
    length = "shorter" if a_words < p_words else "longer" if a_words > p_words else "same length"
    return f"adapter text {length}: " + ("; ".join(causes) or "other (output formatting / tidying)")


def page_differences(pages: list[Page], adapter: tuple[dict, dict[str, str]],
                     plain: tuple[dict, dict[str, str]]) -> list[dict]:
    """Pages whose adapter F1 differs from plain trafilatura's by more than WORSE_BY, with a reason.

    ``adapter_worse`` tells the direction. The reason is computed: a failure (and MIN_WORDS),
    else which of the adapter's departures from trafilatura's defaults (comments excluded,
    metadata extraction on), undone, gives plain trafilatura's F1 back.
    """
    (a_sum, a_texts), (p_sum, p_texts) = adapter, plain
    rows = []
    for page in pages:
        a_f1, p_f1 = a_sum["per_page_f1"][page.key], p_sum["per_page_f1"][page.key]
        if abs(p_f1 - a_f1) <= WORSE_BY:
            continue
        a_words, p_words = len(tokenize(a_texts[page.key])), len(tokenize(p_texts[page.key]))
        reason = _difference_reason(page, a_sum["failed_pages"].get(page.key), a_words, p_words, p_f1)
        rows.append({"page": page.key, "url": page.url, "adapter_worse": a_f1 < p_f1, "adapter_f1": a_f1,
                     "trafilatura_f1": p_f1, "adapter_words": a_words, "trafilatura_words": p_words,
                     "truth_words": len(tokenize(page.truth)), "reason": reason})
    return rows


# ---------------------------------------------------------------- report


def quality_report(pages: list[Page] | None = None, *, peers: bool = False, workers: int = 2) -> dict:
    """Everything the benchmark prints, as one JSON-able dict (what ``--json`` writes):

    ``{"methods": {name: summary}, "page_differences": [row]}`` with the summaries of
    ``summarize`` (peers' also carry ``speed``) and the rows of ``page_differences``.
    Raises as ``load_corpus`` and ``score_peers`` do.
    """
    pages = load_corpus() if pages is None else pages
    adapter = score_method("adapter", ADAPTER_CALL, adapter_text, pages)
    plain = score_method("trafilatura", PLAIN_CALL, plain_trafilatura_text, pages)
    methods = {"adapter": adapter[0], "trafilatura": plain[0]}
    if peers:
        methods.update(score_peers(pages, workers=workers))
    return {"methods": methods, "page_differences": page_differences(pages, adapter, plain)}


def _row(s: dict) -> str:
    return (f"{s['method']:<12} {s['pages']:>5} {s['mean_precision']:>7.3f} {s['mean_recall']:>7.3f} "
            f"{s['mean_f1']:>7.3f} {s['micro_precision']:>7.3f} {s['micro_recall']:>7.3f} {s['micro_f1']:>7.3f} "
            f"{s['pages_f1_below_0_5']:>7} {s['failures']:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None, help=f"benchmark folder (default {BENCHMARK})")
    parser.add_argument("--peers", action="store_true", help="also score news-please and newspaper4k (make peers)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the peers' pools")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    try:
        pages = load_corpus(args.corpus)
    except FileNotFoundError as exc:
        print(f"skipped: benchmark corpus not found ({exc}); set NEWSWATCH_CORPORA")
        return 0
    if args.peers and not PEERS_PYTHON.exists():
        print(f"{PEERS_PYTHON} not found: run `make peers` first (or leave out --peers)")
        return 2
    report = quality_report(pages, peers=args.peers, workers=args.workers)
    summaries, differences = report["methods"], report["page_differences"]
    print(f"{len(pages)} pages; score: mean over pages of 4-word-shingle P/R/F1 (multisets, lower-case \\w+ "
          f"tokens); micro = pooled shingle counts")
    print(f"{'method':<12} {'pages':>5} {'mean P':>7} {'mean R':>7} {'mean F1':>7} {'micro P':>7} {'micro R':>7} "
          f"{'micro F1':>7} {'F1<0.5':>7} {'failures':>8}")
    for summary in summaries.values():
        print(_row(summary))
    for summary in summaries.values():
        print(f"  {summary['method']}: {summary['call']}")
        if "speed" in summary:
            sp = summary["speed"]
            print(f"    speed: {sp['pages_per_s']} pages/s with {sp['workers']} processes ({sp['seconds']} s; "
                  f"start-up {sp['startup_seconds']} s), version {sp['version']}, "
                  f"failure types {sp['failure_types'] or '-'}")
    worse = [row for row in differences if row["adapter_worse"]]
    print(f"\npages where the adapter's F1 is below plain trafilatura's by more than {WORSE_BY}: {len(worse)}")
    for row in worse:
        print(f"  {row['page'][:12]}  F1 {row['adapter_f1']:.3f} vs {row['trafilatura_f1']:.3f}  words "
              f"{row['adapter_words']} vs {row['trafilatura_words']} (truth {row['truth_words']})  "
              f"{row['reason']}  {row['url']}")
    better = Counter(row["reason"].split(": ", 1)[-1] for row in differences if not row["adapter_worse"])
    print(f"pages where the adapter's F1 is above plain trafilatura's: {sum(better.values())}")
    for reason, count in better.most_common():
        print(f"  {count:>4}  {reason}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
