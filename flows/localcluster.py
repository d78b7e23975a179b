"""A local "distributed" Prefect deployment: private PostgreSQL, Prefect server, process workers.

Used by the integration test and the scale demo to run the real machinery on one machine:

    with postgres(work) as pg:
        pg.create_database("prefect")
        with prefect_server(work, pg.sqlalchemy_url("prefect")) as api_url:
            with workers(api_url, "newswatch", 2, work) as running:
                ...  # deploy flows to the pool; each worker runs them in child processes

Every context manager stops what it started, also when the body raises. Servers listen on
127.0.0.1 only. PostgreSQL refuses to run as root, so as root the server binaries run as the
``postgres`` user (``runuser``); as any other user they run as that user.

Each worker's environment carries ``NEWSWATCH_WORKER=<worker name>``. Prefect 3.8.8's process
worker starts a flow run with ``{**os.environ, **job_env}`` (``ProcessJobConfiguration.
prepare_for_flow_run``), so the flow-run process sees the name of the worker that started it.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from extractors.errors import PermanentError, TransientError
from flows.serving import free_port, tail, wait_healthy

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
POSTGRES_START_TIMEOUT_S = 60
SERVER_START_TIMEOUT_S = 90.0
SERVER_STOP_GRACE_S = 10.0
WORKER_REGISTER_TIMEOUT_S = 60.0
WORKER_STOP_GRACE_S = 10.0
# How often a worker asks the server for scheduled runs (Prefect's default is 10 s).
WORKER_QUERY_SECONDS = "2"
APT_INSTALL = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql"


def unavailable_reason() -> str | None:
    """Why the local cluster cannot run on this machine (None: it can)."""
    if not sys.platform.startswith("linux"):
        return "the local cluster runs Debian's PostgreSQL and reads /proc: Linux only"
    has_binaries = any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if os.geteuid() != 0 and not has_binaries:
        return "no PostgreSQL binaries under /usr/lib/postgresql and not root to apt-get install them"
    if os.geteuid() == 0 and not has_binaries and shutil.which("apt-get") is None:
        return "no PostgreSQL binaries and no apt-get to install them"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs `runuser` to start PostgreSQL as the postgres user"
    return None


def port_open(port: int, host: str = HOST) -> bool:
    """Return True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


# --- PostgreSQL ---------------------------------------------------------------------------


def _postgres_bindir() -> Path | None:
    """The bin directory of the highest installed Debian PostgreSQL version, or None."""
    found = []
    for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        version = initdb.parent.parent.name
        if re.fullmatch(r"\d+(\.\d+)?", version):
            found.append((tuple(int(part) for part in version.split(".")), initdb.parent))
    return max(found)[1] if found else None


def ensure_postgres_binaries() -> Path:
    """Return the PostgreSQL bin directory, installing Debian's package when none is present.

    Raises PermanentError naming the command when the package cannot be installed.
    """
    bindir = _postgres_bindir()
    if bindir is not None:
        return bindir
    log.info("no PostgreSQL binaries under /usr/lib/postgresql; installing Debian's package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PermanentError(f"could not install PostgreSQL: `{' '.join(command)}` failed ({exc}); "
                                 f"install it by hand with `apt-get update && {APT_INSTALL}`") from exc
        if result.returncode != 0:
            raise PermanentError(
                f"could not install PostgreSQL: `{' '.join(command)}` exited with {result.returncode}: "
                f"{(result.stderr or result.stdout).strip()[-800:]}\n"
                f"Install it by hand with `apt-get update && {APT_INSTALL}` (needs root)."
            )
    bindir = _postgres_bindir()
    if bindir is None:
        raise PermanentError(f"`{APT_INSTALL}` succeeded but no /usr/lib/postgresql/*/bin/initdb exists")
    return bindir


def _server_user() -> str | None:
    """The user the PostgreSQL server must run as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PermanentError("running as root but there is no `postgres` user to run the server as; "
                             f"install Debian's package: {APT_INSTALL}") from exc
    return "postgres"


def _as_server_user(user: str | None, command: list[str]) -> list[str]:
    return command if user is None else ["runuser", "-u", user, "--", *command]


def _hand_over(path: Path, user: str | None) -> None:
    """Give ``path`` (recursively) to the server user."""
    if user is not None:
        entry = pwd.getpwnam(user)
        for root, dirs, files in os.walk(path):
            for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
                os.chown(name, entry.pw_uid, entry.pw_gid)


def _reachable_by(path: Path, user: str | None) -> bool:
    """Can ``user`` create files in ``path``? (pytest's tmp dirs sit under a 0700 root dir.)"""
    if user is None:
        return os.access(path, os.W_OK | os.X_OK)
    return subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(path), "-a", "-x", str(path)],
                          capture_output=True).returncode == 0


@dataclass(frozen=True)
class Postgres:
    """A running private PostgreSQL server (trust authentication, superuser ``postgres``)."""

    bindir: Path
    datadir: Path
    log_path: Path
    port: int
    host: str = HOST

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run ``sql`` with psql over TCP; return its unaligned output. Raises PermanentError on failure."""
        command = [str(self.bindir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                   "-h", self.host, "-p", str(self.port), "-U", "postgres", "-d", dbname, "-c", sql]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise PermanentError(f"psql on {self.host}:{self.port}/{dbname} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        """Create database ``name`` (no error if it exists). Raises PermanentError on failure."""
        command = [str(self.bindir / "createdb"), "-h", self.host, "-p", str(self.port), "-U", "postgres", name]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise PermanentError(f"createdb {name} on {self.host}:{self.port} failed: {result.stderr.strip()}")

    def libpq_dsn(self, dbname: str) -> str:
        """A libpq connection string, e.g. for DuckDB's postgres/ducklake ATTACH."""
        return f"dbname={dbname} host={self.host} port={self.port} user=postgres"

    def sqlalchemy_url(self, dbname: str) -> str:
        """An async SQLAlchemy URL, the form PREFECT_API_DATABASE_CONNECTION_URL takes."""
        return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/{dbname}"


@contextmanager
def postgres(workdir: Path) -> Iterator[Postgres]:
    """Start a private PostgreSQL on a free loopback port; yield it; stop it and delete its data.

    The data directory is ``workdir/postgres/data`` when the server user can reach ``workdir``
    (otherwise a fresh directory under the system temp dir); the server log is kept at
    ``workdir/postgres.log``. Raises PermanentError when the binaries are missing and cannot be
    installed, TransientError with the log's tail when the server does not start.
    """
    started = time.monotonic()
    bindir = ensure_postgres_binaries()
    user = _server_user()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    base = workdir / "postgres"
    base.mkdir(exist_ok=True)
    _hand_over(base, user)
    if not _reachable_by(base, user):
        base.rmdir()
        base = Path(tempfile.mkdtemp(prefix="newswatch-pg-"))
        os.chmod(base, 0o700)
        _hand_over(base, user)
    datadir, log_path = base / "data", base / "postgres.log"
    # A short path of its own: a Unix socket path may not exceed 107 bytes.
    sockdir = Path(tempfile.mkdtemp(prefix="nw-pgsock-"))
    _hand_over(sockdir, user)
    port = free_port()
    server = Postgres(bindir=bindir, datadir=datadir, log_path=log_path, port=port)
    pg_ctl = str(bindir / "pg_ctl")
    running = False
    try:
        init = subprocess.run(
            _as_server_user(user, [str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres",
                                   "-E", "UTF8", "--no-sync"]),
            capture_output=True, text=True, timeout=120,
        )
        if init.returncode != 0:
            raise TransientError(f"initdb -D {datadir} failed ({init.returncode}): {init.stderr.strip()[-800:]}")
        options = f"-k {sockdir} -p {port} -c listen_addresses={HOST}"
        start = subprocess.run(
            _as_server_user(user, [pg_ctl, "-D", str(datadir), "-l", str(log_path), "-w",
                                   "-t", str(POSTGRES_START_TIMEOUT_S), "-o", options, "start"]),
            capture_output=True, text=True, timeout=POSTGRES_START_TIMEOUT_S + 30,
        )
        running = start.returncode == 0
        if not running:
            raise TransientError(f"PostgreSQL did not start on {HOST}:{port} ({start.stderr.strip()}); "
                                 f"server log {log_path}:\n{tail(log_path)}")
        log.info("PostgreSQL %s on %s:%d ready in %.1fs", bindir.parent.name, HOST, port, time.monotonic() - started)
        yield server
    finally:
        if running or (datadir / "postmaster.pid").exists():
            subprocess.run(_as_server_user(user, [pg_ctl, "-D", str(datadir), "-m", "fast", "-w", "stop"]),
                           capture_output=True, timeout=90)
        if log_path.exists():
            shutil.copyfile(log_path, workdir / "postgres.log")
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(sockdir, ignore_errors=True)


# --- Processes ----------------------------------------------------------------------------


def _prefect_command() -> list[str]:
    """The Prefect CLI of the running interpreter's environment."""
    script = Path(sys.executable).parent / "prefect"
    return [str(script)] if script.exists() else [sys.executable, "-m", "prefect"]


def _base_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1"}
    for inherited in ("PREFECT_API_URL", "PREFECT_PROFILE"):
        env.pop(inherited, None)
    return env


def _descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` (Linux /proc), children first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop_all(processes: list[subprocess.Popen], grace_s: float) -> None:
    """SIGTERM the process groups of ``processes`` and what they spawned; SIGKILL after ``grace_s``.

    Flow runs started by a worker live in process groups of their own, so the descendants
    are collected before the groups are signalled and killed one by one if they outlive them.
    """
    alive = [process for process in processes if process.poll() is None]
    stragglers = [pid for process in alive for pid in _descendants(process.pid)]
    for process in alive:
        _signal_group(process.pid, signal.SIGTERM)
    _signal_each(stragglers, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in alive:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    _signal_each(stragglers, signal.SIGKILL)


def _signal_each(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


# --- Prefect server -----------------------------------------------------------------------


@contextmanager
def prefect_server(workdir: Path, database_url: str | None) -> Iterator[str]:
    """Start ``prefect server start`` on a free loopback port; yield its API URL; stop it.

    ``database_url`` (e.g. ``Postgres.sqlalchemy_url("prefect")``) becomes
    PREFECT_API_DATABASE_CONNECTION_URL; None keeps Prefect's SQLite under
    ``workdir/prefect-home``. The log is ``workdir/prefect-server.log``. Raises TransientError
    with the log's tail when the server exits or is not healthy within 90 s.
    """
    started = time.monotonic()
    workdir = Path(workdir).resolve()
    home = workdir / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "prefect-server.log"
    port = free_port()
    env = _base_env(home)
    env["PREFECT_SERVER_UI_ENABLED"] = "false"
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen([*_prefect_command(), "server", "start", "--host", HOST, "--port", str(port)],
                                   env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    api_url = f"http://{HOST}:{port}/api"
    try:
        wait_healthy(api_url, SERVER_START_TIMEOUT_S, process, log_path)
        log.info("Prefect server at %s healthy in %.1fs", api_url, time.monotonic() - started)
        yield api_url
    finally:
        _stop_all([process], SERVER_STOP_GRACE_S)


# --- Work pool and workers ----------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    """A running ``prefect worker start`` process."""

    name: str
    pid: int
    log_path: Path


def create_process_pool(api_url: str, pool: str) -> None:
    """Create process work pool ``pool`` on the server (an existing pool is fine).

    Raises PermanentError when the server refuses it.
    """
    from prefect.workers.process import ProcessWorker

    body = {"name": pool, "type": "process", "base_job_template": ProcessWorker.get_default_base_job_template()}
    response = httpx.post(f"{api_url}/work_pools/", json=body, timeout=30.0)
    if response.status_code not in (201, 409):
        raise PermanentError(f"creating work pool {pool!r} at {api_url} failed: "
                             f"{response.status_code} {response.text[:300]}")


def registered_workers(api_url: str, pool: str) -> dict[str, str]:
    """Return worker name -> status (e.g. ``ONLINE``) for the workers the server knows in ``pool``."""
    response = httpx.post(f"{api_url}/work_pools/{pool}/workers/filter", json={"limit": 200, "offset": 0},
                          timeout=10.0)
    response.raise_for_status()
    return {worker["name"]: worker["status"] for worker in response.json()}


@contextmanager
def workers(api_url: str, pool: str, count: int, workdir: Path,
            env: dict[str, str] | None = None, limit: int | None = None) -> Iterator[list[Worker]]:
    """Start ``count`` process workers on ``pool``; yield them once the server lists them all.

    Worker ``i`` is named ``newswatch-worker-i``, logs to ``workdir/workers/<name>.log`` and has
    ``NEWSWATCH_WORKER=<name>`` in its environment (inherited by the flow runs it starts), plus
    ``env``. ``limit`` caps the flow runs each worker runs at once (``--limit``). On exit the
    workers and their flow-run processes are stopped. Raises TransientError with a log's tail
    when a worker exits early or does not register within 60 s.
    """
    started = time.monotonic()
    root = Path(workdir).resolve() / "workers"
    root.mkdir(parents=True, exist_ok=True)
    create_process_pool(api_url, pool)
    processes: list[tuple[Worker, subprocess.Popen]] = []
    try:
        for i in range(1, count + 1):
            name = f"newswatch-worker-{i}"
            worker_env = {**_base_env(root / f"{name}-home"), "PREFECT_API_URL": api_url,
                          "PREFECT_WORKER_QUERY_SECONDS": WORKER_QUERY_SECONDS, "NEWSWATCH_WORKER": name,
                          **(env or {})}
            log_path = root / f"{name}.log"
            with open(log_path, "ab") as log_file:
                process = subprocess.Popen(
                    [*_prefect_command(), "worker", "start", "--pool", pool, "--name", name, "--type", "process",
                     *(["--limit", str(limit)] if limit else [])],
                    env=worker_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                )
            processes.append((Worker(name=name, pid=process.pid, log_path=log_path), process))
        _wait_registered(api_url, pool, processes)
        log.info("%d workers registered on pool %r in %.1fs", count, pool, time.monotonic() - started)
        yield [worker for worker, _ in processes]
    finally:
        _stop_all([process for _, process in processes], WORKER_STOP_GRACE_S)


def _wait_registered(api_url: str, pool: str, processes: list[tuple[Worker, subprocess.Popen]]) -> None:
    wanted = {worker.name for worker, _ in processes}
    deadline = time.monotonic() + WORKER_REGISTER_TIMEOUT_S
    seen: set[str] = set()
    while time.monotonic() < deadline:
        for worker, process in processes:
            if process.poll() is not None:
                raise TransientError(f"worker {worker.name} exited with code {process.returncode} before "
                                     f"registering; log {worker.log_path}:\n{tail(worker.log_path)}")
        try:
            seen = set(registered_workers(api_url, pool))
        except httpx.HTTPError:
            pass
        if wanted <= seen:
            return
        time.sleep(0.5)
    missing = sorted(wanted - seen)
    first = next(worker for worker, _ in processes if worker.name == missing[0])
    raise TransientError(f"workers {missing} did not register on pool {pool!r} at {api_url} within "
                         f"{WORKER_REGISTER_TIMEOUT_S:.0f}s; log {first.log_path}:\n{tail(first.log_path)}")
