"""Run reports: read from the warehouse, rendered as plain text or markdown."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from warehouse import queries
from warehouse.store import fetch_dicts

COUNTER_LABELS = (
    ("feeds_total", "feeds polled"),
    ("feeds_ok", "feeds with entries"),
    ("feeds_not_modified", "feeds not modified (304)"),
    ("feeds_failed", "feeds failed"),
    ("entries_seen", "entries seen"),
    ("entries_new", "entries new"),
    ("articles_fetched", "article pages fetched"),
    ("extraction_failed", "extraction failed (feed text used)"),
    ("duplicates_url", "duplicates by URL"),
    ("duplicates_text", "duplicates by text"),
    ("duplicates_near", "near duplicates"),
    ("articles_stored", "articles stored"),
    ("relevant_articles", "relevant articles"),
    ("events_added", "events added"),
    ("articles_reprocessed", "articles reprocessed"),
)


@dataclass(frozen=True)
class RunReport:
    run: dict[str, Any]
    polls: list[dict[str, Any]]
    events: list[dict[str, Any]] = field(default_factory=list)  # events this run added
    shards: list[dict[str, Any]] = field(default_factory=list)  # child runs of a sharded pass

    @property
    def errors(self) -> list[dict[str, Any]]:
        raw = self.run.get("errors")
        return json.loads(raw) if isinstance(raw, str) else list(raw or [])

    def as_dict(self) -> dict[str, Any]:
        run = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.run.items()}
        run["errors"] = self.errors
        shards = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in s.items() if k != "errors"}
                  for s in self.shards]
        return {"run": run, "feeds": self.polls, "shards": shards}


def load_report(con: duckdb.DuckDBPyConnection, run_id: str) -> RunReport | None:
    """Return the report of ``run_id``, or None if there is no such run."""
    runs = fetch_dicts(con, queries.RUN_BY_ID, [run_id])
    if not runs:
        return None
    return RunReport(runs[0], fetch_dicts(con, queries.POLLS_OF_RUN, [run_id]),
                     fetch_dicts(con, queries.EVENTS_OF_RUN, [run_id]),
                     fetch_dicts(con, queries.SHARDS_OF_RUN, [run_id]))


def shard_lines(report: RunReport) -> list[str]:
    """One line per shard of a sharded pass: where it ran and what it stored."""
    return [
        f"shard {s['shard']}: {s['status']} on {s['worker'] or s['host']}, {s['feeds_total'] or 0} feeds, "
        f"{s['entries_new'] or 0} new entries, {s['articles_stored'] or 0} stored (run {s['run_id']})"
        for s in report.shards
    ]


def _duration(run: dict[str, Any]) -> str:
    if run.get("finished_at") and run.get("started_at"):
        return f"{(run['finished_at'] - run['started_at']).total_seconds():.1f}s"
    return "-"


def _feed_status(poll: dict[str, Any]) -> str:
    if poll["error"]:
        return "FAILED"
    if poll["not_modified"]:
        return "304 not modified"
    return f"HTTP {poll['http_status']}"


REPROCESS_KEYS = ("articles_reprocessed", "duplicates_url", "duplicates_text", "duplicates_near",
                  "relevant_articles", "events_added")


def _counters(run: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if run.get("flow") == "reprocess":
        return tuple((k, label) for k, label in COUNTER_LABELS if k in REPROCESS_KEYS)
    return tuple((k, label) for k, label in COUNTER_LABELS if k != "articles_reprocessed")


def summary_line(run: dict[str, Any]) -> str:
    """One sentence saying what the run changed."""
    if run.get("flow") == "reprocess":
        return (
            f"Reprocessed {run.get('articles_reprocessed') or 0} articles: "
            f"{run.get('duplicates_url') or 0} URL, {run.get('duplicates_text') or 0} text and "
            f"{run.get('duplicates_near') or 0} near duplicates; {run.get('relevant_articles') or 0} relevant, "
            f"{run.get('events_added') or 0} events."
        )
    stored = run.get("articles_stored") or 0
    copies = sum(run.get(k) or 0 for k in ("duplicates_url", "duplicates_text", "duplicates_near"))
    return (
        f"Stored {stored} new article{'s' if stored != 1 else ''} ({copies} of them copies) from "
        f"{run.get('entries_new') or 0} new entries; {run.get('feeds_not_modified') or 0} feeds not "
        f"modified, {run.get('feeds_failed') or 0} failed."
    )


STAGE_NAMES = ("poll", "fetch", "extract", "dedup", "classify", "write")


def stage_line(run: dict[str, Any]) -> str | None:
    """Seconds per stage, or None for runs that did not record them."""
    seconds = {s: run.get(f"{s}_seconds") for s in STAGE_NAMES}
    if not any(seconds.values()):
        return None
    parts = ", ".join(f"{s} {v or 0:.1f}s" for s, v in seconds.items())
    return f"Time per stage (summed over threads and processes): {parts}"


def format_text(report: RunReport) -> str:
    """Render a report for the terminal."""
    run = report.run
    lines = [
        f"Run {run['run_id']}  flow={run['flow']}  trigger={run['trigger']}  "
        f"status={run['status']}  duration={_duration(run)}",
        summary_line(run),
        "",
    ]
    width = max(len(label) for _, label in COUNTER_LABELS)
    lines += [f"  {label:<{width}}  {run.get(key) or 0:>6}" for key, label in _counters(run)]
    if stages := stage_line(run):
        lines += ["", stages]
    if report.shards:
        lines += ["", f"Shards ({len(report.shards)}):"] + [f"  {line}" for line in shard_lines(report)]
    if report.polls:
        lines += ["", "Feeds:"]
        name_w = max(len(p["feed_name"]) for p in report.polls)
        for p in report.polls:
            lines.append(
                f"  {p['feed_name']:<{name_w}}  {_feed_status(p):<17} entries={p['entries']:<4} "
                f"new={p['new_entries']:<4} {p['elapsed_ms']:>6} ms"
                + (f"  {p['error']}" if p["error"] else "")
            )
    # Failures of polled feeds are already in the feed lines above.
    polled = {p["feed_name"] for p in report.polls if p["error"]}
    errors = [e for e in report.errors if not (e.get("stage") == "poll" and e.get("feed") in polled)]
    if errors:
        lines += ["", f"Problems ({len(errors)}), by stage:"]
        for stage in sorted({e.get("stage") or "-" for e in errors}):
            group = [e for e in errors if (e.get("stage") or "-") == stage]
            lines.append(f"  {stage} ({len(group)}):")
            for e in group:
                where = e.get("url") or e.get("feed") or ""
                lines.append(f"    {where}: {e.get('message')}")
    return "\n".join(lines)


def format_markdown(report: RunReport) -> str:
    """Render a report as markdown (the Prefect artifact)."""
    run = report.run
    out = [
        f"# newswatch {run['flow']} run `{run['run_id']}`",
        "",
        f"Status **{run['status']}**, trigger `{run['trigger']}`, duration {_duration(run)}.",
        "",
        summary_line(run),
        "",
        "| counter | value |",
        "|---|---:|",
    ]
    out += [f"| {label} | {run.get(key) or 0} |" for key, label in _counters(run)]
    if stages := stage_line(run):
        out += ["", stages + "."]
    if report.shards:
        out += ["", "## Shards", ""] + [f"- {line}" for line in shard_lines(report)]
    if report.polls:
        out += ["", "## Feeds", "", "| feed | status | entries | new | ms | error |",
                "|---|---|---:|---:|---:|---|"]
        for p in report.polls:
            error = (p["error"] or "").replace("|", "\\|")
            out.append(f"| {p['feed_name']} | {_feed_status(p)} | {p['entries']} | "
                       f"{p['new_entries']} | {p['elapsed_ms']} | {error} |")
    if report.errors:
        out += ["", "## Problems", ""]
        for e in report.errors:
            where = e.get("url") or e.get("feed") or ""
            out.append(f"- **{e.get('stage')}** `{where}`: {e.get('message')}")
    return "\n".join(out)
