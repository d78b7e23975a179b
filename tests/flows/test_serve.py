"""`newswatch serve` as a user runs it: local Prefect server, every-minute schedule,
a scheduled run landing in the warehouse, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

from tests.flows.conftest import write_config
from warehouse.readonly import run_query

NEWSWATCH = [sys.executable, "-m", "flows.cli"]


def test_serve_runs_on_schedule_and_stops_cleanly(tmp_path, news_site):
    server, feeds = news_site
    db = tmp_path / "w.duckdb"
    config = write_config(tmp_path / "c.toml", server.base_url, {"main": feeds["main"]}, db,
                          extra='[schedule]\ncron = "* * * * *"\n')
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5", "PREFECT_RUNNER_POLL_FREQUENCY": "5",
           "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([*NEWSWATCH, "serve", "--config", str(config)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        landed = []
        while time.monotonic() < deadline and not landed:
            time.sleep(3)
            assert proc.poll() is None, log.read_text()
            try:
                _, rows = run_query(db, "SELECT trigger, status, flow FROM runs", wait_s=3)
            except Exception:
                continue
            landed = [r for r in rows if r == ("scheduled", "completed", "monitor")]
        assert landed, log.read_text()
        _, stored = run_query(db, "SELECT count(*) FROM articles WHERE origin = 'feed'")
        assert stored[0][0] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=90)
    text = log.read_text()
    assert code == 0, text
    assert "newswatch serve stopped." in text
    port = int(re.search(r"healthy at http://127\.0\.0\.1:(\d+)/api", text).group(1))
    with socket.socket() as sock:  # the local Prefect server is gone too
        assert sock.connect_ex(("127.0.0.1", port)) != 0
