"""The `newswatch` command line: a thin shell over the flows and the warehouse.

`sql`, `feeds`, `runs` and `report` never import Prefect. Exit codes: 0 run
completed (even with failed feeds), 1 the run itself failed, 2 usage/config error.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from extractors.errors import ConfigError, NewswatchError, PermanentError, TransientError

app = typer.Typer(
    name="newswatch",
    help="Monitor news feeds on the Armenia–Azerbaijan conflict into a DuckDB warehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config file (default: ./newswatch.toml, else built-in defaults)."),
]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"newswatch: error: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Path | None):
    from flows.config import load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        _fail(str(exc), 2)


def _prepare_prefect(settings) -> None:
    """Quiet, local Prefect defaults (a user's own settings win)."""
    home = Path(os.environ.setdefault("PREFECT_HOME", str(settings.local_dir / ".prefect")))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _print_report(report) -> None:
    from warehouse.reports import format_text

    typer.echo(format_text(report))


def _run_flow(settings, flow_obj, **params) -> int:
    """Run a flow, print its report, return the exit code (0 completed, 1 failed, 2 usage)."""
    from warehouse.connection import read_connection
    from warehouse.reports import load_report

    state = flow_obj(**params, return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, dict) and "run" in result:
        with read_connection(settings.warehouse_target, sandboxed=False) as con:
            report = load_report(con, result["run"]["run_id"])
        if report is not None:
            _print_report(report)
    if state.is_completed():
        return 0
    if isinstance(result, ConfigError):
        _fail(str(result), 2)
    typer.echo(f"newswatch: the run failed: {result}", err=True)
    return 1


def _run_monitor(settings, config_path: str | None, trigger: str, shards: int | None = None) -> int:
    """Run the monitor flow and print its report; return the exit code."""
    _prepare_prefect(settings)
    from flows.monitor import monitor_for

    params = {"config_path": config_path, "trigger": trigger}
    if shards is not None:
        params["shards"] = shards
    return _run_flow(settings, monitor_for(settings), **params)


@app.command()
def run(
    config: ConfigOpt = None,
    shards: Annotated[int | None, typer.Option(
        min=1, help="Split the pass into this many shard runs on the work pool's workers "
                    "(default: [run] shards; needs PREFECT_API_URL and `newswatch deploy`).")] = None,
) -> None:
    """One monitoring pass: poll feeds, fetch and store new articles, print the run report.

    Example: newswatch run --config newswatch.toml
    Example: PREFECT_API_URL=http://prefect.internal:4200/api newswatch run --shards 8
    """
    settings = _settings(config)
    if not settings.enabled_feeds:
        _fail(f"no enabled [[feeds]] in {settings.source}: add at least one feed", 2)
    sharded = (shards if shards is not None else settings.run.shards) > 1
    if sharded and not os.environ.get("PREFECT_API_URL"):
        _fail("a sharded pass runs on a work pool's workers: set PREFECT_API_URL to your Prefect server "
              "(and run `newswatch deploy --pool NAME` once), or use --shards 1", 2)
    # shard runs start on other hosts: give them the config's absolute path
    config_path = str(Path(config).resolve()) if config and sharded else (str(config) if config else None)
    raise typer.Exit(_run_monitor(settings, config_path, "manual", shards))


@app.command()
def demo(
    db: Annotated[Path, typer.Option(help="Warehouse file of the demo.")] = Path("data/demo.duckdb"),
) -> None:
    """Offline demo: serve examples/ on 127.0.0.1, run the monitor into data/demo.duckdb.

    Example: newswatch demo
    """
    from flows.demo import run_demo

    raise typer.Exit(run_demo(db, _run_monitor, _settings))


@app.command()
def reprocess(
    config: ConfigOpt = None,
    stage: Annotated[str, typer.Option(help="dedup | classify | all")] = "all",
    since: Annotated[str | None, typer.Option(help="Only articles stored on or after this date (YYYY-MM-DD).")] = None,
) -> None:
    """Recompute stored decisions (duplicates, relevance and events) after a rule or threshold change.

    Example: newswatch reprocess --stage dedup --since 2024-01-01
    """
    settings = _settings(config)
    _prepare_prefect(settings)
    from flows.reprocess import check_stage

    try:
        stages = check_stage(stage)
    except ConfigError as exc:
        _fail(str(exc), 2)
    typer.echo("reprocessing: " + ", ".join(stages), err=True)
    from flows.reprocess import reprocess as reprocess_flow

    raise typer.Exit(_run_flow(settings, reprocess_flow, stage=stage, since=since,
                               config_path=str(config) if config else None))


@app.command()
def backfill(
    config: ConfigOpt = None,
    since: Annotated[str | None, typer.Option(help="Oldest publication date kept (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Newest publication date kept (YYYY-MM-DD).")] = None,
    feed: Annotated[str | None, typer.Option(help="A [[feeds]] name: its archived / paged history.")] = None,
    urls: Annotated[Path | None, typer.Option(help="A file of article URLs, one per line.")] = None,
    sitemap: Annotated[str | None, typer.Option(help="A sitemap or sitemap index URL (Google News too).")] = None,
) -> None:
    """Store older articles from a sitemap, a feed's archive pages or a URL file, within dates.

    Example: newswatch backfill --sitemap https://example.org/sitemap.xml --since 2023-01-01 --until 2023-12-31
    """
    settings = _settings(config)
    if not (feed or urls or sitemap):
        _fail("backfill needs a source: --sitemap URL, --urls FILE or --feed NAME", 2)
    _prepare_prefect(settings)
    from flows.backfill import backfill as backfill_flow

    raise typer.Exit(_run_flow(settings, backfill_flow, since=since, until=until, feed=feed,
                               urls=str(urls) if urls else None, sitemap=sitemap,
                               config_path=str(config) if config else None))


@app.command()
def serve(config: ConfigOpt = None) -> None:
    """Run the monitor on the configured cron schedule as a Prefect deployment (starts a local server if needed).

    Example: newswatch serve --config newswatch.toml
    """
    settings = _settings(config)
    if not settings.enabled_feeds:
        _fail(f"no enabled [[feeds]] in {settings.source}: add at least one feed", 2)
    _prepare_prefect(settings)
    from flows.serving import run_serve

    raise typer.Exit(run_serve(settings, str(config) if config else None))


@app.command()
def deploy(
    pool: Annotated[str, typer.Option(help="Prefect process work pool the deployments go to.")],
    config: ConfigOpt = None,
    schedule: Annotated[bool, typer.Option(help="Give the monitor its [schedule] cron.")] = True,
) -> None:
    """Deploy the monitor, monitor-shard, backfill and reprocess flows to a Prefect work pool
    (needs PREFECT_API_URL; start workers with `prefect worker start --pool NAME`).

    Example: newswatch deploy --pool newswatch --config /srv/newswatch/newswatch.toml
    """
    settings = _settings(config)
    if not os.environ.get("PREFECT_API_URL"):
        _fail("PREFECT_API_URL is not set: point it at your Prefect server, e.g. "
              "export PREFECT_API_URL=http://prefect-host:4200/api", 2)
    from flows.deploy import DEPLOYMENTS, deploy_all

    config_path = str(Path(config).resolve()) if config else None
    cron = settings.schedule.cron if schedule else None
    try:
        deploy_all(pool, config_path, cron, settings.schedule.timezone)
    except Exception as exc:  # the API is down, the pool does not exist, ...
        _fail(f"deploy failed: {type(exc).__name__}: {exc}", 1)
    for spec in DEPLOYMENTS:
        flow_name = spec.entrypoint.rsplit(":", 1)[1].replace("_", "-")
        typer.echo(f"deployed {flow_name}/{spec.name} to work pool {pool!r}")
    if settings.run.shards > 1:
        typer.echo(f"monitor passes are split into {settings.run.shards} shard runs ([run] shards)")
    typer.echo(f"start workers with: prefect worker start --pool {pool}")


@app.command()
def compact(
    config: ConfigOpt = None,
    keep_days: Annotated[int, typer.Option(min=0, help="Keep snapshots (time travel) this many days.")] = 7,
) -> None:
    """Compact a DuckLake warehouse: merge small data files, expire old snapshots, delete
    unreferenced files (one writer at a time; safe while workers run). A DuckDB file is
    checkpointed.

    Example: newswatch compact --config /srv/newswatch/newswatch.toml --keep-days 7
    """
    from warehouse import lake
    from warehouse.connection import target_label, write_connection

    settings = _settings(config)
    target = settings.warehouse_target
    try:
        if not isinstance(target, lake.LakeTarget):
            with write_connection(target, wait_s=60) as con:
                con.execute("CHECKPOINT")
            typer.echo(f"checkpointed {target_label(target)} (a DuckDB file has no small files to merge)")
            return
        before = lake.data_files(target)
        with write_connection(target, wait_s=600) as con:
            lake.compact(con, keep_days)
        after = lake.data_files(target)
    except TransientError as exc:
        _fail(str(exc), 1)
    files = f": {before} data files before, {after} after" if before is not None else ""
    typer.echo(f"compacted {target_label(target)}{files} (snapshots older than {keep_days} days expired)")


@app.command(name="eval")
def evaluate(
    config: ConfigOpt = None,
    labels: Annotated[Path | None, typer.Option(help="Labelled sets: a folder like evalsets/ (dedup/ and "
                                                    "classify/), one of those folders, or a pairs.toml.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="List every article the classifier gets wrong.")] = False,
) -> None:
    """Score duplicate detection and event classification on the labelled sets.

    Example: newswatch eval --labels evalsets/
    """
    from extractors.rules import load_rules
    from flows.evaluate import DEFAULT_LABELS, evaluate_classify, evaluate_dedup, format_classify, format_dedup

    settings = _settings(config)
    root = labels or DEFAULT_LABELS
    wants_dedup = root.is_file() or (root / "dedup").is_dir() or (root / "pairs.toml").is_file()
    wants_classify = root.is_dir() and ((root / "classify").is_dir() or (root / "articles.toml").is_file())
    if not (wants_dedup or wants_classify):
        _fail(f"no labelled set at {root}: pass a folder holding dedup/ or classify/, or a pairs.toml", 2)
    try:
        if wants_dedup:
            typer.echo(format_dedup(evaluate_dedup(root, settings.dedup)))
        if wants_classify:
            if wants_dedup:
                typer.echo("")
            typer.echo(format_classify(evaluate_classify(root, load_rules()), verbose))
    except ConfigError as exc:
        _fail(str(exc), 2)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="One read-only SQL statement.")],
    config: ConfigOpt = None,
    db: Annotated[Path | None, typer.Option("--db", help="Warehouse file (overrides the config).")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Run a read-only SQL query against the warehouse.

    Example: newswatch sql "SELECT feed_name, count(*) FROM articles GROUP BY 1" --format csv
    """
    from flows.output import render
    from warehouse.readonly import run_query

    path = db if db is not None else _settings(config).warehouse_target
    try:
        columns, rows = run_query(path, query)
    except TransientError as exc:
        _fail(str(exc), 1)
    except NewswatchError as exc:
        _fail(str(exc), 2)
    if columns:
        typer.echo(render(columns, rows, fmt.value))


def _share(value) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


@app.command()
def feeds(
    config: ConfigOpt = None,
    enable: Annotated[str | None, typer.Option("--enable", help="Re-enable a feed disabled after failures.")] = None,
) -> None:
    """List configured feeds with their health; --enable NAME brings back a disabled feed.

    Example: newswatch feeds            newswatch feeds --enable oc-media
    """
    from flows.output import render
    from warehouse import queries
    from warehouse.connection import WarehouseMissingError, read_connection, write_connection
    from warehouse.store import enable_feed, fetch_dicts

    settings = _settings(config)
    if enable is not None:
        if enable not in {f.name for f in settings.feeds}:
            _fail(f"no feed named {enable!r} in {settings.source}", 2)
        if isinstance(settings.warehouse_target, Path) and not settings.warehouse_target.exists():
            _fail(f"no warehouse at {settings.warehouse_target}: nothing to enable", 2)
        with write_connection(settings.warehouse_target, wait_s=30) as con:
            found = enable_feed(con, enable)
        typer.echo(f"feed {enable} enabled" if found else f"feed {enable} has never been polled; nothing to do")
        return
    health: dict[str, dict] = {}
    try:
        with read_connection(settings.warehouse_target, sandboxed=False) as con:
            health = {r["name"]: r for r in fetch_dicts(con, queries.FEED_HEALTH)}
    except WarehouseMissingError:
        pass
    except TransientError as exc:
        _fail(str(exc), 1)
    columns = ["name", "state", "last_status", "last_success", "failures", "next_poll_at", "304", "articles",
               "relevant", "copies", "url", "last_error"]
    rows = []
    for f in settings.feeds:
        h = health.get(f.name, {})
        state = "disabled" if h.get("disabled") else ("on" if f.enabled else "off (config)")
        rows.append([f.name, state, h.get("last_status") or "never polled", h.get("last_success"),
                     h.get("consecutive_failures", 0), h.get("next_poll_at"), _share(h.get("share_304")),
                     h.get("articles", 0), _share(h.get("relevant_share")), _share(h.get("duplicate_share")),
                     f.url, h.get("last_error")])
    typer.echo(render(columns, rows, "table"))


@app.command()
def runs(
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 10,
) -> None:
    """Show the most recent runs with their counters.

    Example: newswatch runs --limit 5
    """
    from flows.output import render
    from warehouse import queries
    from warehouse.connection import read_connection
    from warehouse.store import fetch_dicts

    settings = _settings(config)
    try:
        with read_connection(settings.warehouse_target, sandboxed=False) as con:
            rows = fetch_dicts(con, queries.RECENT_RUNS, [limit])
    except NewswatchError as exc:
        _fail(str(exc), 1 if isinstance(exc, TransientError) else 2)
    columns = ["run_id", "flow", "trigger", "status", "started_at", "feeds_total", "feeds_failed",
               "feeds_not_modified", "entries_new", "articles_stored", "duplicates_url",
               "duplicates_text", "extraction_failed"]
    typer.echo(render(columns, [[r[c] for c in columns] for r in rows], "table"))


@app.command()
def report(
    config: ConfigOpt = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Run id (default: the latest run).")] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write the HTML briefing to this file.")] = None,
) -> None:
    """Print the report of a run (the latest by default), or write the HTML briefing.

    Example: newswatch report --run 0b9d…        newswatch report --html briefing.html
    """
    if html_path is not None:
        from flows.briefing import write_briefing
        from warehouse.connection import WarehouseMissingError

        try:
            written = write_briefing(_settings(config).warehouse_target, html_path)
        except WarehouseMissingError as exc:
            _fail(str(exc), 2)
        typer.echo(f"briefing written to {written}")
        return
    from warehouse import queries
    from warehouse.connection import read_connection
    from warehouse.reports import load_report

    settings = _settings(config)
    try:
        with read_connection(settings.warehouse_target, sandboxed=False) as con:
            if run_id is None:
                latest = con.execute(queries.RECENT_RUNS, [1]).fetchone()
                if latest is None:
                    _fail("no runs recorded yet: run `newswatch run` first", 2)
                run_id = latest[0]
            found = load_report(con, run_id)
    except NewswatchError as exc:
        _fail(str(exc), 1 if isinstance(exc, TransientError) else 2)
    if found is None:
        _fail(f"no run with id {run_id!r} (see `newswatch runs`)", 2)
    _print_report(found)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except PermanentError as exc:
        typer.echo(f"newswatch: error: {exc}", err=True)
        sys.exit(2)
    except NewswatchError as exc:
        typer.echo(f"newswatch: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
