"""The seed corpus: the verbatim seed files plus their manifest, as Article records."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from extractors.bodytext import derive_body
from extractors.errors import ConfigError
from extractors.records import Article
from extractors.textnorm import content_hash, word_count
from extractors.urls import canonicalize_url

DEFAULT_SEED_DIR = Path(__file__).resolve().parent.parent / "seeds"


@dataclass(frozen=True)
class SeedInfo:
    file: str
    title: str
    outlet: str
    url: str
    published: date
    date_source: str


def read_manifest(seed_dir: Path = DEFAULT_SEED_DIR) -> list[SeedInfo]:
    """Return the manifest entries; raises ConfigError if it or a listed file is missing."""
    manifest = seed_dir / "manifest.toml"
    if not manifest.is_file():
        raise ConfigError(f"seed manifest {manifest} not found (restore seeds/ from git)")
    raw = tomllib.loads(manifest.read_text(encoding="utf-8"))
    seeds = []
    for item in raw.get("seeds", []):
        info = SeedInfo(**item)
        if not (seed_dir / info.file).is_file():
            raise ConfigError(f"seed file {seed_dir / info.file} listed in the manifest is missing")
        seeds.append(info)
    return seeds


def seed_article_id(file_name: str) -> str:
    """Stable id of a seed: ``seed_`` + the file stem."""
    return "seed_" + Path(file_name).stem


def load_seed_articles(seed_dir: Path = DEFAULT_SEED_DIR) -> list[Article]:
    """Return the seeds as ``origin='seed'`` articles: ``raw_text`` is the file verbatim,
    ``text`` its body (captions, comments, share lines and the like removed)."""
    articles = []
    for info in read_manifest(seed_dir):
        raw = (seed_dir / info.file).read_text(encoding="utf-8")
        text = derive_body(raw, info.title).body
        url = canonicalize_url(info.url) if info.url else f"seed://{info.file}"
        published = datetime(info.published.year, info.published.month, info.published.day, tzinfo=UTC)
        articles.append(
            Article(
                article_id=seed_article_id(info.file),
                origin="seed",
                feed_name=None,
                url=url,
                canonical_url=url,
                guid=None,
                title=info.title,
                author=None,
                published_at=published,
                fetched_at=None,
                language="en",
                text=text,
                raw_text=raw,
                word_count=word_count(text),
                content_hash=content_hash(text),
                extraction="seed",
                extraction_note=f"seed file {info.file}; date from {info.date_source}",
                site_name=info.outlet,
            )
        )
    return articles
