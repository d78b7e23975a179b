"""`newswatch sql` is read-only, sandboxed, and waits for a writer in another process."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from extractors.errors import PermanentError
from warehouse.connection import WarehouseMissingError, write_connection
from warehouse.readonly import ReadOnlyViolation, run_query


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    with write_connection(path):
        pass
    return path


def test_select_works(db):
    columns, rows = run_query(db, "SELECT count(*) AS n FROM articles")
    assert columns == ["n"] and rows == [(0,)]


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM articles",
        "CREATE TABLE x (a INT)",
        "ATTACH '/tmp/other.duckdb'",
        "COPY articles TO '/tmp/out.csv'",
        "INSTALL fts",
        "LOAD fts",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "SELECT 1; DROP TABLE articles",
    ],
)
def test_writes_and_file_access_are_refused(db, query):
    with pytest.raises(ReadOnlyViolation, match="refused"):
        run_query(db, query)


def test_sql_errors_are_permanent_with_message(db):
    with pytest.raises(PermanentError, match="SQL error"):
        run_query(db, "SELECT nope FROM articles")


def test_missing_warehouse(tmp_path):
    with pytest.raises(WarehouseMissingError, match="newswatch run"):
        run_query(tmp_path / "none.duckdb", "SELECT 1")


def test_reader_waits_for_writer_in_other_process(db):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('held', flush=True);"
         " time.sleep(1.5); c.close(); time.sleep(5)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        _, rows = run_query(db, "SELECT count(*) FROM runs", wait_s=10)
        waited = time.monotonic() - started
    finally:
        holder.kill()
    assert rows == [(0,)]
    assert 0.5 < waited < 8
