"""The DuckLake backend: tables in Parquet files under ``data_path``, catalog in PostgreSQL.

Many processes on many hosts can write to one lake. DuckLake has no primary keys, so
newswatch keeps the same one-writer discipline as with a DuckDB file, with the lock in
the catalog database: every write transaction runs while its process holds a PostgreSQL
session advisory lock (``pg_advisory_lock``). The lock is released by PostgreSQL itself
if the process dies. Under the lock, "insert where absent" is atomic, so ids stay unique
and duplicate decisions see every committed article.

Extensions come from the PyPI wheels ``duckdb-extension-ducklake`` and
``duckdb-extension-postgres`` (built for the pinned duckdb); they are installed from
those files and never downloaded.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from extractors.errors import ConfigError, TransientError

ALIAS = "lake"
_NO_DOWNLOADS = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


@dataclass(frozen=True)
class LakeTarget:
    """Where a DuckLake warehouse lives."""

    catalog: str  # PostgreSQL connection string: "dbname=lake host=... user=..." or "postgresql://..."
    data_path: str  # directory (or object-store URL) holding the Parquet files

    @property
    def label(self) -> str:
        return f"ducklake catalog {redact(self.catalog)}, data {self.data_path}"

    @property
    def lock_key(self) -> int:
        """A signed 64-bit advisory-lock key, one per lake (data path)."""
        digest = hashlib.blake2b(f"newswatch-writer:{self.data_path}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)


def redact(catalog: str) -> str:
    """The catalog string without its password."""
    parts = [p for p in catalog.split() if not p.lower().startswith("password=")]
    text = " ".join(parts)
    if "://" in text and "@" in text:
        scheme, rest = text.split("://", 1)
        creds, host = rest.split("@", 1)
        text = f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return text


def _extension_file(module: str, name: str) -> str:
    try:
        package = __import__(module)
    except ImportError as exc:
        raise ConfigError(
            f"the ducklake backend needs the {module.replace('_', '-')} wheel: pip install -e . "
            "(it is a dependency of newswatch)"
        ) from exc
    files = sorted(Path(package.__file__).parent.glob(f"extensions/*/{name}.duckdb_extension"))
    if not files:
        raise ConfigError(f"no {name}.duckdb_extension inside the {module} package")
    return str(files[-1])


def _load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Install the two extensions from the wheels' files (no network) and load them."""
    con.execute(f"INSTALL '{_extension_file('duckdb_extension_postgres', 'postgres')}'")
    con.execute(f"INSTALL '{_extension_file('duckdb_extension_ducklake', 'ducklake')}'")
    con.execute("LOAD postgres_scanner")
    con.execute("LOAD ducklake")


def attach(target: LakeTarget, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with the lake attached as ``lake`` and selected."""
    con = duckdb.connect(config=_NO_DOWNLOADS)
    try:
        _load_extensions(con)
        if not read_only and "://" not in target.data_path:
            Path(target.data_path).mkdir(parents=True, exist_ok=True)
        options = "READ_ONLY" if read_only else f"DATA_PATH '{_quote(target.data_path.rstrip('/') + '/')}'"
        con.execute(f"ATTACH 'ducklake:postgres:{_quote(target.catalog)}' AS {ALIAS} ({options})")
        con.execute(f"USE {ALIAS}")
    except duckdb.Error as exc:
        con.close()
        raise TransientError(f"cannot open the DuckLake warehouse ({target.label}): {exc}") from exc
    return con


def _quote(text: str) -> str:
    return text.replace("'", "''")


class _WriterLock:
    """The cluster-wide writer lock: a PostgreSQL session advisory lock (re-entrant per process)."""

    def __init__(self, target: LakeTarget) -> None:
        self.target = target
        self._pg = None
        self._depth = 0
        self._mutex = threading.RLock()

    def _connection(self):
        import psycopg

        if self._pg is None or self._pg.closed:
            try:
                self._pg = psycopg.connect(self.target.catalog, autocommit=True, connect_timeout=10)
            except psycopg.Error as exc:
                raise TransientError(f"cannot reach the DuckLake catalog {redact(self.target.catalog)}: {exc}") from exc
        return self._pg

    @contextmanager
    def hold(self, wait_s: float) -> Iterator[None]:
        with self._mutex:
            if self._depth == 0:
                self._acquire(wait_s)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()

    def _acquire(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        delay = 0.01
        while True:
            got = self._connection().execute("SELECT pg_try_advisory_lock(%s)", [self.target.lock_key]).fetchone()[0]
            if got:
                return
            if time.monotonic() > deadline:
                raise TransientError(
                    f"another newswatch process has held the lake's writer lock for over {wait_s:.0f}s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _release(self) -> None:
        try:
            self._connection().execute("SELECT pg_advisory_unlock(%s)", [self.target.lock_key])
        except Exception:  # the session is gone, and with it the lock
            self._pg = None


_LOCKS: dict[LakeTarget, _WriterLock] = {}
_WRITERS: dict[LakeTarget, duckdb.DuckDBPyConnection] = {}
_MIGRATED: set[LakeTarget] = set()
_REGISTRY = threading.Lock()


def writer_lock(target: LakeTarget) -> _WriterLock:
    with _REGISTRY:
        return _LOCKS.setdefault(target, _WriterLock(target))


def writer_cursor(target: LakeTarget) -> duckdb.DuckDBPyConnection:
    """A cursor on this process's attached lake (attaching costs ~0.3 s, so it is kept)."""
    with _REGISTRY:
        base = _WRITERS.get(target)
        if base is None:
            base = _WRITERS[target] = attach(target)
    cursor = base.cursor()
    cursor.execute(f"USE {ALIAS}")
    return cursor


def is_migrated(target: LakeTarget) -> bool:
    """Whether this process already brought the lake's schema up to date."""
    with _REGISTRY:
        return target in _MIGRATED


def set_migrated(target: LakeTarget) -> None:
    with _REGISTRY:
        _MIGRATED.add(target)


def data_files(target: LakeTarget) -> int | None:
    """Parquet files under a local ``data_path`` (None for object stores)."""
    if "://" in target.data_path:
        return None
    return sum(1 for _ in Path(target.data_path).rglob("*.parquet"))


def compact(con: duckdb.DuckDBPyConnection, keep_days: int) -> None:
    """Merge small adjacent data files, expire snapshots older than ``keep_days`` and delete
    the files nothing refers to any more. Run it under the writer lock."""
    con.execute(f"CALL ducklake_merge_adjacent_files('{ALIAS}')")
    cutoff = f"now() - INTERVAL {int(keep_days)} DAY"
    con.execute(f"CALL ducklake_expire_snapshots('{ALIAS}', older_than => {cutoff})")
    con.execute(f"CALL ducklake_cleanup_old_files('{ALIAS}', older_than => {cutoff})")
