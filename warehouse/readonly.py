"""Read-only SQL for users: one statement kinds allow-list, a sandboxed connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from extractors.errors import PermanentError
from warehouse.connection import read_connection
from warehouse.lake import LakeTarget

ALLOWED = {"SELECT", "EXPLAIN", "PRAGMA", "SHOW", "DESCRIBE", "SUMMARIZE"}


class ReadOnlyViolation(PermanentError):
    """The query tried to write, attach, load or read outside the warehouse."""


def _statement_kinds(query: str) -> list[str]:
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise PermanentError(f"SQL error: {exc}") from exc
    if not statements:
        raise PermanentError("empty query: pass one SQL statement, e.g. 'SELECT count(*) FROM articles'")
    return [str(s.type).rsplit(".", 1)[-1].upper() for s in statements]


def run_query(path: str | Path | LakeTarget, query: str,
              wait_s: float = 10.0) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a read-only query; return (column names, rows).

    Raises ReadOnlyViolation for statements that write/attach/copy/install/load or
    read files, PermanentError for SQL errors, TransientError when a writer holds
    the file for longer than ``wait_s``.
    """
    for kind in _statement_kinds(query):
        if kind not in ALLOWED:
            raise ReadOnlyViolation(
                f"refused: {kind} statements are not allowed; `newswatch sql` is read-only "
                "(SELECT, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE)"
            )
    with read_connection(path, wait_s=wait_s) as con:
        try:
            cursor = con.execute(query)
        except duckdb.PermissionException as exc:
            raise ReadOnlyViolation(f"refused: {exc} (`newswatch sql` cannot touch files or extensions)") from exc
        except duckdb.Error as exc:
            raise PermanentError(f"SQL error: {exc}") from exc
        if cursor.description is None:
            return [], []
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()
