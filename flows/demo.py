"""`newswatch demo`: serve the offline example site and run the monitor against it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from flows.site_server import SiteServer

SITE = Path(__file__).resolve().parent.parent / "examples" / "site"
DEMO_FEEDS = (
    ("ledger-world", "feeds/world.xml"),
    ("southern-wire", "feeds/caucasus.atom"),
    ("ledger-briefs", "feeds/briefs.rdf"),
    ("broken-feed", "feeds/broken.xml"),
)
EXAMPLE_QUERIES = (
    ("Stored articles by origin and how their text was obtained",
     "SELECT origin, extraction, count(*) AS n FROM articles GROUP BY ALL ORDER BY n DESC"),
    ("Latest articles",
     "SELECT published_at::DATE AS day, feed_name, left(title, 60) AS title FROM articles "
     "WHERE origin = 'feed' ORDER BY published_at DESC LIMIT 8"),
    ("Copies and what they copy",
     "SELECT a.duplicate_kind, left(a.title, 40) AS copy, left(o.title, 40) AS original "
     "FROM articles a JOIN articles o ON o.article_id = a.duplicate_of"),
    ("Feed health", "SELECT name, last_status, consecutive_failures, last_error FROM feeds ORDER BY name"),
    ("Timeline: the root event of every relevant original, seeds included",
     "SELECT e.event_date, e.event_type, e.actor1, e.actor2, e.location, e.fatalities, left(a.title, 45) AS title "
     "FROM events e JOIN articles a USING (article_id) WHERE e.is_root ORDER BY e.event_date"),
    ("Events by type", "SELECT event_type, count(*) AS events, count(*) FILTER (WHERE is_root) AS as_root "
     "FROM events GROUP BY 1 ORDER BY 2 DESC"),
)


def demo_config(base_url: str, db: Path) -> str:
    """Return the TOML of the demo: the example feeds, loopback allowed, no delays."""
    feeds = "\n".join(
        f'[[feeds]]\nname = "{name}"\nurl = "{base_url}/{path}"\n' for name, path in DEMO_FEEDS
    )
    return (
        f'[warehouse]\npath = "{db.resolve()}"\n\n'
        '[fetch]\ntimeout_s = 10\nper_host_concurrency = 4\nper_host_delay_s = 0.0\n'
        'private_allowlist = ["127.0.0.1"]\n\n'
        '[run]\nbatch_size = 8\n\n' + feeds
    )


def run_demo(db: Path, run_monitor: Callable, load_settings: Callable) -> int:
    """Serve the site, run one monitor pass, print the report and example queries."""
    from flows.output import render
    from warehouse.readonly import run_query

    if not SITE.is_dir():
        typer.echo(f"newswatch: error: demo site {SITE} is missing (restore examples/ from git)", err=True)
        return 2
    db.parent.mkdir(parents=True, exist_ok=True)
    config_path = db.with_name(db.stem + "-config.toml")
    with SiteServer.on_stable_port(SITE) as server:
        config_path.write_text(demo_config(server.base_url, db), encoding="utf-8")
        typer.echo(f"Serving examples/site on {server.base_url}; warehouse {db}\n")
        settings = load_settings(config_path)
        code = run_monitor(settings, str(config_path), "demo")
    if code != 0:
        return code
    typer.echo("\nExample queries (newswatch sql \"…\" --db " + str(db) + "):")
    for title, query in EXAMPLE_QUERIES:
        columns, rows = run_query(db, query)
        typer.echo(f"\n-- {title}\n{query}\n{render(columns, rows, 'table')}")
    from flows.briefing import write_briefing

    page = write_briefing(db, db.with_name(db.stem + "-briefing.html"))
    typer.echo(f"\nHTML briefing (open it in a browser; it works offline): {page}")
    return 0
