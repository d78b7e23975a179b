"""The persistent near-duplicate (LSH) index in DuckDB.

``near_bands`` maps each of an original's band keys to its doc key, with an ART
index on ``band_key``; ``near_index`` keeps each original's signature by doc key.
A lookup touches only the rows whose keys match, so its cost does not grow with
the number of stored documents.

Why the keys are written into the SQL text: DuckDB answers ``band_key IN (1, 2, …)``
with constant values from the ART index, but plans a bound list parameter
(``IN (SELECT unnest(?))``) as a join that scans the whole table, which grows
linearly with the warehouse. The values are ints we computed ourselves and are
checked to be ints before they are written, so no text from outside reaches SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import duckdb
import pyarrow as pa

from extractors.dedup import IndexEntry
from extractors.neardup import Signature, pack, unpack

CHUNK = 4000  # keys per IN list


def _int_literals(values: Iterable[int]) -> str:
    """Render ints as a SQL list literal; refuses anything that is not an int."""
    out = []
    for value in values:
        if type(value) is not int:  # bool and numpy ints are refused too
            raise TypeError(f"index keys must be int, got {type(value).__name__}")
        out.append(str(value))
    return ",".join(out)


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


def lookup_bands(con: duckdb.DuckDBPyConnection, keys: Iterable[int]) -> dict[int, list[int]]:
    """Return band key -> doc keys of stored originals, for the given band keys."""
    unique = sorted(set(keys))
    found: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(unique):
        rows = con.execute(
            f"SELECT band_key, doc_key FROM near_bands WHERE band_key IN ({_int_literals(chunk)})"
        ).fetchall()
        for band, doc in rows:
            found[band].append(doc)
    return found


def lookup_signatures(con: duckdb.DuckDBPyConnection, doc_keys: Iterable[int]) -> dict[int, tuple[str, Signature]]:
    """Return doc key -> (article_id, signature) of stored originals."""
    unique = sorted(set(doc_keys))
    found: dict[int, tuple[str, Signature]] = {}
    for chunk in _chunks(unique):
        rows = con.execute(
            "SELECT doc_key, article_id, shingles, signature FROM near_index "
            f"WHERE doc_key IN ({_int_literals(chunk)})"
        ).fetchall()
        for doc, article_id, shingles, blob in rows:
            found[doc] = (article_id, unpack(blob, shingles))
    return found


def add_entries(con: duckdb.DuckDBPyConnection, entries: Sequence[IndexEntry]) -> None:
    """Add originals to the index in bulk; entries already indexed are skipped."""
    present = set(lookup_signatures(con, [e.doc_key for e in entries])) if entries else set()
    fresh = {e.doc_key: e for e in entries if e.doc_key not in present}
    if not fresh:
        return
    entries = list(fresh.values())
    index = pa.table({
        "doc_key": pa.array([e.doc_key for e in entries], pa.int64()),
        "article_id": [e.article_id for e in entries],
        "shingles": pa.array([e.signature.shingles for e in entries], pa.int32()),
        "signature": pa.array([pack(e.signature) for e in entries], pa.binary()),
    })
    bands = pa.table({
        "band_key": pa.array([b for e in entries for b in e.bands], pa.int64()),
        "doc_key": pa.array([e.doc_key for e in entries for _ in e.bands], pa.int64()),
    })
    con.register("incoming_index", index)
    con.register("incoming_bands", bands)
    try:
        con.execute("INSERT INTO near_index SELECT * FROM incoming_index")
        con.execute("INSERT INTO near_bands SELECT * FROM incoming_bands")
    finally:
        con.unregister("incoming_index")
        con.unregister("incoming_bands")


def remove_articles(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> None:
    """Drop the index entries of these articles (used by reprocessing)."""
    if not article_ids:
        return
    con.execute(
        "DELETE FROM near_bands WHERE doc_key IN "
        "(SELECT doc_key FROM near_index WHERE article_id IN (SELECT unnest(?::VARCHAR[])))",
        [list(article_ids)],
    )
    con.execute("DELETE FROM near_index WHERE article_id IN (SELECT unnest(?::VARCHAR[]))", [list(article_ids)])
