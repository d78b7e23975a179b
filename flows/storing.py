"""Storing a batch: duplicate decisions and writes in ONE transaction.

Lookups come from ``warehouse``, decisions from ``extractors.dedup`` (pure); doing
both under the writer lock keeps decisions consistent when runs overlap.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from extractors.dedup import resolve_duplicates
from extractors.neardup import DedupSettings, Signature, band_keys, signature
from extractors.records import Article, FeedPoll, FeedState
from warehouse import nearindex, store


def compute_signatures(articles: Sequence[Article], settings: DedupSettings) -> dict[str, Signature]:
    """MinHash signatures of the articles' texts (CPU; call outside the write lock)."""
    return {a.article_id: signature(a.text, settings) for a in articles if a.text}


def store_batch(
    con: duckdb.DuckDBPyConnection,
    articles: Sequence[Article],
    signatures: dict[str, Signature],
    settings: DedupSettings,
    feed_states: Sequence[FeedState] = (),
    polls: Sequence[FeedPoll] = (),
) -> list[Article]:
    """Decide duplicates against everything stored, insert the batch, index its
    originals, and record feed state and polls, all in one transaction.

    Returns the inserted articles with their decisions; a rerun inserts nothing.
    """
    with store.transaction(con):
        fresh = store.unstored(con, articles)
        marked: list[Article] = []
        if fresh:
            keys = [k for a in fresh if (s := signatures.get(a.article_id)) for k in band_keys(s)]
            bands = nearindex.lookup_bands(con, keys)
            stored = nearindex.lookup_signatures(con, [d for docs in bands.values() for d in docs])
            marked, entries = resolve_duplicates(
                fresh,
                signatures,
                originals_by_url=store.originals_by_url(con, [a.canonical_url for a in fresh]),
                originals_by_hash=store.originals_by_hash(con, [a.content_hash for a in fresh]),
                stored_bands=bands,
                stored_signatures=stored,
                settings=settings,
            )
            store.insert_article_rows(con, marked)
            nearindex.add_entries(con, entries)
        for state in feed_states:
            store.upsert_feed_state(con, state)
        store.insert_polls(con, polls)
    return marked
