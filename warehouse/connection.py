"""Opening the warehouse: one writer at a time (file lock + short transactions),
and read-only readers that retry while a writer holds DuckDB's file lock.

A warehouse target is a DuckDB file path (backend "duckdb") or a ``LakeTarget``
(backend "ducklake", see ``warehouse.lake``); both give the same tables and SQL.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from extractors.errors import NewswatchError, TransientError
from warehouse import lake
from warehouse.lake import LakeTarget
from warehouse.migrations import MIGRATIONS, migrate

Target = Path | LakeTarget

LOCK_WAIT_S = 600.0
READ_WAIT_S = 10.0


class WarehouseMissingError(NewswatchError):
    """The warehouse file does not exist yet."""


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used" in text


@contextmanager
def _file_lock(path: Path, wait_s: float) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<db>.lock`` (the one-writer discipline)."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TransientError(
                        f"another newswatch process has held the write lock on {path} "
                        f"for over {wait_s:.0f}s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _connect_retrying(path: Path, read_only: bool, wait_s: float,
                      config: dict | None = None) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc) or time.monotonic() > deadline:
                if _is_lock_conflict(exc):
                    raise TransientError(
                        f"the warehouse {path} stayed locked by another process for "
                        f"{wait_s:.0f}s; try again when the running job has finished"
                    ) from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def as_target(target: str | Path | LakeTarget) -> Target:
    return target if isinstance(target, LakeTarget) else Path(target)


def target_label(target: str | Path | LakeTarget) -> str:
    return target.label if isinstance(target, LakeTarget) else str(target)


@contextmanager
def _lake_write(target: LakeTarget, wait_s: float) -> Iterator[duckdb.DuckDBPyConnection]:
    with lake.writer_lock(target).hold(wait_s):
        con = lake.writer_cursor(target)
        try:
            if not lake.is_migrated(target):
                migrate(con, backend="ducklake")
                lake.set_migrated(target)
            yield con
        finally:
            con.close()


@contextmanager
def write_connection(path: str | Path | LakeTarget,
                     wait_s: float = LOCK_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-write connection with migrations applied, holding the writer lock.

    Keep the block short: readers in other processes wait while it is open.
    """
    if isinstance(path, LakeTarget):
        with _lake_write(path, wait_s) as con:
            yield con
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(path, wait_s):
        con = _connect_retrying(path, read_only=False, wait_s=wait_s)
        try:
            migrate(con)
            yield con
        finally:
            con.close()


def _migrate_if_behind(path: Path, wait_s: float) -> None:
    """A warehouse written by an older newswatch gets its pending migrations first, so
    readers see the current schema (a short write, under the writer lock)."""
    latest = max(m.version for m in MIGRATIONS)
    con = _connect_retrying(path, read_only=True, wait_s=wait_s)
    try:
        applied = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0
    except duckdb.CatalogException:
        applied = 0
    finally:
        con.close()
    if applied < latest:
        with write_connection(path, wait_s=max(wait_s, 30.0)):
            pass


def _lake_version(con: duckdb.DuckDBPyConnection) -> int:
    try:
        return con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0
    except duckdb.CatalogException:
        return 0


@contextmanager
def _lake_read(target: LakeTarget, sandboxed: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    con = lake.attach(target, read_only=True)
    version = _lake_version(con)
    if version == 0:
        con.close()
        raise WarehouseMissingError(
            f"the DuckLake warehouse ({target.label}) has no tables yet: run `newswatch run` first"
        )
    if version < max(m.version for m in MIGRATIONS):  # written by an older newswatch: migrate, reopen
        con.close()
        with write_connection(target, wait_s=60.0):
            pass
        con = lake.attach(target, read_only=True)
    try:
        if sandboxed:  # the lake's own data files stay readable, nothing else
            data_dir = target.data_path.rstrip("/") + "/"
            quoted = data_dir.replace("'", "''")
            con.execute(f"SET allowed_directories = ['{quoted}']")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


@contextmanager
def read_connection(path: str | Path | LakeTarget, wait_s: float = READ_WAIT_S,
                    sandboxed: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-only connection, retrying up to ``wait_s`` while a writer holds the file.

    ``sandboxed`` disables external access (files, network, extensions) and locks
    the configuration so a query cannot turn it back on. Raises WarehouseMissingError
    when the file does not exist.
    """
    if isinstance(path, LakeTarget):
        with _lake_read(path, sandboxed) as con:
            yield con
        return
    path = Path(path)
    if not path.exists():
        raise WarehouseMissingError(
            f"no warehouse at {path}: run `newswatch run` (or `newswatch demo`) first"
        )
    _migrate_if_behind(path, wait_s)
    config = {"enable_external_access": False} if sandboxed else {}
    con = _connect_retrying(path, read_only=True, wait_s=wait_s, config=config)
    try:
        if sandboxed:
            con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()
