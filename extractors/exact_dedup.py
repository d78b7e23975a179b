"""Exact duplicates: same canonical URL or same normalised-text hash as an original."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from extractors.records import Article


def mark_exact_duplicates(
    articles: Iterable[Article],
    originals_by_url: Mapping[str, str],
    originals_by_hash: Mapping[str, str],
) -> list[Article]:
    """Return ``articles`` with ``duplicate_of``/``duplicate_kind`` set for exact copies.

    ``originals_by_url`` / ``originals_by_hash`` map a stored canonical URL / content
    hash to the id of its *original* (never of a copy). Within the batch the first
    article with a URL or hash is the original and later ones point at it.
    A URL match wins over a text match. Articles already marked are left alone.
    """
    by_url = dict(originals_by_url)
    by_hash = dict(originals_by_hash)
    marked: list[Article] = []
    for article in articles:
        if article.duplicate_of is None:
            original = by_url.get(article.canonical_url)
            kind = "url"
            if original is None or original == article.article_id:
                original = by_hash.get(article.content_hash) if article.text else None
                kind = "text"
            if original is not None and original != article.article_id:
                article = dataclasses.replace(
                    article, duplicate_of=original, duplicate_kind=kind, similarity=1.0
                )
        if article.duplicate_of is None:
            by_url.setdefault(article.canonical_url, article.article_id)
            if article.text:
                by_hash.setdefault(article.content_hash, article.article_id)
        marked.append(article)
    return marked
