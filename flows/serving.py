"""`newswatch serve`: run the monitor on its schedule as a Prefect deployment.

Without ``PREFECT_API_URL`` a local Prefect server is started on 127.0.0.1 (its
``PREFECT_HOME`` under the data directory), because Prefect's ephemeral mode has no
scheduler. The monitor, backfill and reprocess flows are served from this process;
Ctrl-C or SIGTERM stops the serving loop and the server cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from extractors.errors import TransientError

SERVER_START_TIMEOUT_S = 120.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, n: int = 40) -> str:
    """Return the last ``n`` lines of a text file, or a note when it cannot be read."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(no log at {path}: {exc.strerror})"
    return "\n".join(lines[-n:])


def wait_healthy(api_url: str, timeout_s: float, process: subprocess.Popen | None = None,
                 log_path: Path | None = None) -> None:
    """Poll ``<api>/health`` until it answers 200; raises TransientError on timeout or exit
    (quoting the end of ``log_path`` when given)."""

    def log() -> str:
        return f"; log {log_path}:\n{tail(log_path)}" if log_path is not None else ""

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise TransientError(f"the Prefect server exited with code {process.returncode} before it was "
                                 f"healthy{log()}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TransientError(f"the Prefect server at {api_url} was not healthy after {timeout_s:.0f}s{log()}")


@contextmanager
def local_server(home: Path, log_path: Path) -> Iterator[str]:
    """Start ``prefect server start`` on a free loopback port; yield its API URL; stop it."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_UI_ENABLED": os.environ.get("PREFECT_UI_ENABLED", "true")}
    env.pop("PREFECT_API_URL", None)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        wait_healthy(api_url, SERVER_START_TIMEOUT_S, process)
        yield api_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def serve_flows(cron: str, timezone: str, config_path: str | None) -> None:
    """Register the deployments on the current Prefect API and serve them until stopped."""
    import warnings

    from prefect import serve
    from prefect.deployments.runner import EntrypointType

    # Prefect's runner leaves one shutdown coroutine un-awaited on Ctrl-C; harmless noise.
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited")
    from prefect.schedules import Cron

    from flows.backfill import backfill
    from flows.monitor import monitor
    from flows.reprocess import reprocess

    common = {"entrypoint_type": EntrypointType.MODULE_PATH}
    deployments = [
        monitor.to_deployment(
            name="newswatch-monitor", schedules=[Cron(cron, timezone=timezone)],
            parameters={"config_path": config_path, "trigger": "scheduled"}, **common,
        ),
        backfill.to_deployment(name="newswatch-backfill", parameters={"config_path": config_path}, **common),
        reprocess.to_deployment(name="newswatch-reprocess", parameters={"config_path": config_path}, **common),
    ]
    serve(*deployments, print_starting_message=True)


def run_serve(settings, config_path: str | None) -> int:
    """Entry point of `newswatch serve`; returns the exit code."""
    data_dir = settings.local_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    config = str(Path(config_path).resolve()) if config_path else None

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        if os.environ.get("PREFECT_API_URL"):
            print(f"Serving on the Prefect server at {os.environ['PREFECT_API_URL']}", flush=True)
            serve_flows(settings.schedule.cron, settings.schedule.timezone, config)
            return 0
        home = Path(os.environ.get("PREFECT_HOME") or data_dir / ".prefect")
        print(f"Starting a local Prefect server (PREFECT_HOME={home}) ...", flush=True)
        with local_server(home, data_dir / "prefect-server.log") as api_url:
            os.environ["PREFECT_API_URL"] = api_url
            print(f"Prefect server healthy at {api_url}; UI at {api_url.removesuffix('/api')}", flush=True)
            print(f"Monitor scheduled: cron '{settings.schedule.cron}' ({settings.schedule.timezone})", flush=True)
            serve_flows(settings.schedule.cron, settings.schedule.timezone, config)
    except KeyboardInterrupt:
        pass
    finally:
        print("newswatch serve stopped.", flush=True)
    return 0
