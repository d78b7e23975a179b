"""Duplicate decisions for a batch: exact (URL, text hash) then near (MinHash).

Pure: the stored side comes in as plain mappings prepared by the caller inside its
write transaction, so decisions are consistent with what is stored.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence

from extractors.exact_dedup import mark_exact_duplicates
from extractors.neardup import (
    DedupSettings,
    Signature,
    band_keys,
    doc_key,
    is_near_duplicate,
    similarity,
)
from extractors.records import Article


@dataclasses.dataclass(frozen=True)
class IndexEntry:
    """An original to add to the near-duplicate index."""

    article_id: str
    doc_key: int
    signature: Signature
    bands: tuple[int, ...]


def resolve_duplicates(
    articles: Sequence[Article],
    signatures: Mapping[str, Signature],
    *,
    originals_by_url: Mapping[str, str],
    originals_by_hash: Mapping[str, str],
    stored_bands: Mapping[int, Sequence[int]],
    stored_signatures: Mapping[int, tuple[str, Signature]],
    settings: DedupSettings,
) -> tuple[list[Article], list[IndexEntry]]:
    """Mark each article as an original or a copy of an original.

    Exact copies first (same canonical URL or text hash), then near copies: the
    best-scoring stored or earlier-in-batch original whose Jaccard or containment
    passes the thresholds. ``stored_bands`` maps a band key to the doc keys of
    stored originals; ``stored_signatures`` maps those doc keys to (article_id,
    signature). Returns the marked articles and the index entries of the new
    originals (so a later article, in this batch or later, can match them).
    """
    marked = mark_exact_duplicates(articles, originals_by_url, originals_by_hash)
    local_bands: dict[int, list[int]] = defaultdict(list)
    local_sigs: dict[int, tuple[str, Signature]] = {}
    result: list[Article] = []
    entries: list[IndexEntry] = []
    for article in marked:
        sig = signatures.get(article.article_id)
        if sig is None or sig.shingles == 0:
            result.append(article)
            continue
        keys = band_keys(sig)
        if article.duplicate_of is None:
            best: tuple[float, str] | None = None
            seen: set[int] = set()
            for key in keys:
                for candidate in (*stored_bands.get(key, ()), *local_bands.get(key, ())):
                    if candidate in seen:
                        continue
                    seen.add(candidate)
                    found = stored_signatures.get(candidate) or local_sigs.get(candidate)
                    if found is None or found[0] == article.article_id:
                        continue
                    sim = similarity(sig, found[1])
                    if is_near_duplicate(sim, sig, found[1], settings) and (best is None or sim.score > best[0]):
                        best = (sim.score, found[0])
            if best is not None:
                article = dataclasses.replace(
                    article, duplicate_of=best[1], duplicate_kind="near", similarity=round(best[0], 4)
                )
        if article.duplicate_of is None:
            key = doc_key(article.article_id)
            local_sigs[key] = (article.article_id, sig)
            for band in keys:
                local_bands[band].append(key)
            entries.append(IndexEntry(article.article_id, key, sig, tuple(keys)))
        result.append(article)
    return result, entries
