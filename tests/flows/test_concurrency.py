"""Concurrent use with real separate processes: a backfill while a monitor run writes,
and `newswatch sql` while a run writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from flows.site_server import SiteServer
from warehouse.readonly import run_query

NEWSWATCH = [sys.executable, "-m", "flows.cli"]
SITE = Path(__file__).resolve().parents[2] / "examples" / "site"


def _config(path: Path, base: str, db: Path, delay: float) -> Path:
    feeds = "".join(f'[[feeds]]\nname = "{n}"\nurl = "{base}/feeds/{f}"\n'
                    for n, f in (("world", "world.xml"), ("wire", "caucasus.atom"), ("briefs", "briefs.rdf")))
    path.write_text(f'[warehouse]\npath = "{db}"\n[fetch]\nper_host_delay_s = {delay}\nper_host_concurrency = 1\n'
                    f'private_allowlist = ["127.0.0.1"]\n[run]\nbatch_size = 2\n{feeds}')
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    return env


def _wait_for_rows(db: Path, sql: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if run_query(db, sql, wait_s=2)[1][0][0]:
                return
        except Exception:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for: {sql}")


def test_backfill_during_a_monitor_run(tmp_path):
    db = tmp_path / "w.duckdb"
    env = _env(tmp_path)
    with SiteServer(SITE) as site:
        config = _config(tmp_path / "c.toml", site.base_url, db, delay=0.4)
        monitor = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for_rows(db, "SELECT count(*) FROM articles WHERE origin = 'feed'")
        assert monitor.poll() is None, "the monitor run finished before the backfill started"
        back = subprocess.run([*NEWSWATCH, "backfill", "--config", str(config), "--sitemap",
                               f"{site.base_url}/sitemap.xml"], env=env, capture_output=True, text=True,
                              timeout=600)
        out, err = monitor.communicate(timeout=600)
    assert monitor.returncode == 0, err
    assert back.returncode == 0, back.stderr
    for text in (err, back.stderr):
        assert "lock" not in text.lower(), text
    assert "backfill: " in back.stderr and "entries processed" in back.stderr  # plain progress lines
    _, rows = run_query(db, "SELECT count(*), count(DISTINCT article_id), count(DISTINCT url), "
                            "count(DISTINCT guid) FILTER (WHERE origin = 'feed') FROM articles")
    total, ids, urls, _ = rows[0]
    assert total == ids == urls
    _, pages = run_query(db, "SELECT count(DISTINCT url) FROM articles WHERE origin != 'seed'")
    assert pages[0][0] >= 19  # every page of the site, each once
    _, runs = run_query(db, "SELECT flow, status FROM runs ORDER BY started_at")
    assert sorted(runs) == [("backfill", "completed"), ("monitor", "completed")]
    _, events = run_query(db, "SELECT count(*), count(DISTINCT event_id) FROM events")
    assert events[0][0] == events[0][1] > 0


def test_sql_answers_while_a_run_writes(tmp_path):
    db = tmp_path / "w.duckdb"
    env = _env(tmp_path)
    with SiteServer(SITE) as site:
        config = _config(tmp_path / "c.toml", site.base_url, db, delay=0.3)
        run = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for_rows(db, "SELECT count(*) FROM runs")
        answers, slowest = 0, 0.0
        while run.poll() is None:
            started = time.monotonic()
            result = subprocess.run([*NEWSWATCH, "sql", "SELECT count(*) FROM articles", "--db", str(db),
                                     "--format", "csv"], env=env, capture_output=True, text=True, timeout=60)
            slowest = max(slowest, time.monotonic() - started)
            assert result.returncode == 0, result.stderr
            answers += 1
        run.communicate(timeout=60)
    assert run.returncode == 0
    assert answers >= 3
    assert slowest < 5.0
