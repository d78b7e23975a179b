"""The local cluster: private PostgreSQL, a Prefect server on it, two process workers, a real flow run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from flows.localcluster import (
    free_port,
    port_open,
    postgres,
    prefect_server,
    registered_workers,
    tail,
    unavailable_reason,
    workers,
)

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

HELLO_FLOW = '''
import os
from pathlib import Path

from prefect import flow


@flow
def hello(out: str) -> str:
    name = os.environ.get("NEWSWATCH_WORKER", "")
    Path(out).write_text(name)
    return name
'''

# Runs in its own process so that PREFECT_API_URL points at the cluster only there.
DEPLOY_AND_RUN = '''
import json, sys
from prefect import flow
from prefect.deployments import run_deployment

source, pool, out = sys.argv[1:]
flow.from_source(source=source, entrypoint="hello_flow.py:hello").deploy(
    name="hello", work_pool_name=pool, print_next_steps=False)
run = run_deployment("hello/hello", parameters={"out": out}, timeout=120)
print(json.dumps({"state": run.state.type.value, "start": run.start_time.isoformat() if run.start_time else None,
                  "expected": run.expected_start_time.isoformat() if run.expected_start_time else None}))
'''


def test_free_port_is_bindable_and_closed() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    assert not port_open(port)


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(log, 3) == "line 97\nline 98\nline 99"
    assert "no log" in tail(tmp_path / "missing.log")


@pytest.mark.timeout(240)
def test_cluster_runs_a_flow_on_a_worker(tmp_path: Path) -> None:
    timings: dict[str, float] = {}
    started = time.monotonic()
    with postgres(tmp_path / "cluster") as pg:
        timings["postgres"] = time.monotonic() - started
        assert port_open(pg.port)
        assert pg.psql("SELECT 1") == "1"
        pg.create_database("prefect")
        pg.create_database("prefect")  # idempotent
        assert pg.psql("SELECT current_database()", dbname="prefect") == "prefect"
        assert pg.libpq_dsn("prefect") == f"dbname=prefect host=127.0.0.1 port={pg.port} user=postgres"

        mark = time.monotonic()
        with prefect_server(tmp_path / "cluster", pg.sqlalchemy_url("prefect")) as api_url:
            timings["server"] = time.monotonic() - mark
            server_port = urlparse(api_url).port
            # Prefect's tables are in our PostgreSQL, not in a SQLite file.
            assert int(pg.psql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'flow_run'",
                               dbname="prefect")) == 1

            mark = time.monotonic()
            with workers(api_url, "test-pool", 2, tmp_path / "cluster") as running:
                timings["workers"] = time.monotonic() - mark
                names = {worker.name for worker in running}
                assert names == {"newswatch-worker-1", "newswatch-worker-2"}
                assert set(registered_workers(api_url, "test-pool")) >= names
                assert all(worker.log_path.exists() and worker.pid > 0 for worker in running)

                source = tmp_path / "source"
                source.mkdir()
                (source / "hello_flow.py").write_text(HELLO_FLOW)
                out = tmp_path / "seen-worker.txt"
                env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(tmp_path / "client-home")}
                mark = time.monotonic()
                result = subprocess.run([sys.executable, "-c", DEPLOY_AND_RUN, str(source), "test-pool", str(out)],
                                        env=env, capture_output=True, text=True, timeout=180)
                timings["flow run"] = time.monotonic() - mark
                assert result.returncode == 0, result.stderr[-3000:]
                run = json.loads(result.stdout.strip().splitlines()[-1])
                logs = "\n".join(tail(worker.log_path) for worker in running)
                assert run["state"] == "COMPLETED", logs
                assert out.read_text() in names, logs
            worker_pids = [worker.pid for worker in running]
        print(f"cluster timings (s): {', '.join(f'{k} {v:.1f}' for k, v in timings.items())}; "
              f"run {run['expected']} -> started {run['start']}")
        assert not port_open(server_port)
        assert all(not Path(f"/proc/{pid}").exists() for pid in worker_pids)
    assert not port_open(pg.port)
    assert not pg.datadir.exists() and not (tmp_path / "cluster" / "postgres").exists()
    assert "database system is shut down" in (tmp_path / "cluster" / "postgres.log").read_text()
