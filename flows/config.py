"""The one settings object: TOML file -> validated, frozen Settings.

Every key has a default and a line of help (``KEY_HELP``); unknown keys and
wrongly typed values raise ConfigError naming the key and the fix. Relative
paths are resolved against the directory of the config file.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from extractors.errors import ConfigError
from extractors.fetching import FetchSettings
from extractors.neardup import DedupSettings
from extractors.netguard import parse_allowlist
from warehouse.lake import LakeTarget

DEFAULT_CONFIG = Path("newswatch.toml")
_FEED_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class WarehouseSettings:
    path: str = "data/newswatch.duckdb"
    backend: str = "duckdb"
    catalog: str = ""
    data_path: str = ""


@dataclass(frozen=True)
class ScheduleSettings:
    cron: str = "*/30 * * * *"
    timezone: str = "UTC"


@dataclass(frozen=True)
class RunSettings:
    batch_size: int = 50
    feed_concurrency: int = 8
    extract_workers: int = 2
    disable_after_failures: int = 10
    shards: int = 1


@dataclass(frozen=True)
class RelevanceSettings:
    threshold: float = 0.5


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    enabled: bool = True


@dataclass(frozen=True)
class Settings:
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    run: RunSettings = field(default_factory=RunSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    relevance: RelevanceSettings = field(default_factory=RelevanceSettings)
    feeds: tuple[FeedConfig, ...] = ()
    source: str = "(defaults)"

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse.path)

    @property
    def warehouse_target(self) -> Path | LakeTarget:
        """What warehouse connections open: the DuckDB file, or the DuckLake catalog + data."""
        w = self.warehouse
        if w.backend == "ducklake":
            return LakeTarget(w.catalog, w.data_path)
        return Path(w.path)

    @property
    def local_dir(self) -> Path:
        """A local directory for run-time files (Prefect home, served site copies)."""
        w = self.warehouse
        if w.backend == "ducklake" and "://" not in w.data_path:
            return Path(w.data_path).parent
        return Path(w.path).parent

    @property
    def enabled_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(f for f in self.feeds if f.enabled)


SECTIONS: dict[str, type] = {
    "warehouse": WarehouseSettings,
    "schedule": ScheduleSettings,
    "fetch": FetchSettings,
    "run": RunSettings,
    "dedup": DedupSettings,
    "relevance": RelevanceSettings,
}

# One line of help per key; a test checks that the README documents each of them.
KEY_HELP: dict[str, str] = {
    "warehouse.path": "DuckDB file of the warehouse (relative to the config file); backend \"duckdb\".",
    "warehouse.backend": "\"duckdb\" (one file, one writer) or \"ducklake\" (PostgreSQL catalog, many writers).",
    "warehouse.catalog": "ducklake: PostgreSQL connection string of the catalog, e.g. \"dbname=lake host=db user=nw\".",
    "warehouse.data_path": "ducklake: directory (shared by all hosts) or object-store URL of the Parquet files.",
    "schedule.cron": "Cron expression of the scheduled monitor run (`newswatch serve`).",
    "schedule.timezone": "IANA time zone the cron expression is read in.",
    "fetch.user_agent": "User-Agent sent with every request; also the robots.txt agent token.",
    "fetch.timeout_s": "Total time allowed for one fetch, redirects included (seconds).",
    "fetch.connect_timeout_s": "Time allowed to open a connection (seconds).",
    "fetch.max_bytes": "Largest body accepted, compressed or decompressed (bytes).",
    "fetch.max_redirects": "Redirect hops followed before giving up.",
    "fetch.per_host_concurrency": "Requests in flight at once to one host.",
    "fetch.per_host_delay_s": "Minimum delay between request starts to one host (seconds).",
    "fetch.respect_robots_txt": "Check robots.txt (cached per host) before fetching an article page.",
    "fetch.allow_private_networks": "Allow loopback/private/link-local/reserved targets (off: refused).",
    "fetch.private_allowlist": "IPs or CIDRs allowed even when private networks are refused.",
    "run.batch_size": "Articles fetched, extracted and written per batch (one transaction each).",
    "run.feed_concurrency": "Feeds polled at once.",
    "run.extract_workers": "Processes used for extraction (spread over the cores).",
    "run.disable_after_failures": "Disable a feed after this many consecutive failed polls (0: never).",
    "run.shards": "Split a monitor pass into this many shard runs shared by a work pool's workers (1: no split).",
    "dedup.shingle_size": "Words per shingle for near-duplicate MinHash (change => reprocess --stage dedup).",
    "dedup.jaccard_threshold": "A pair at or above this Jaccard similarity is a near duplicate.",
    "dedup.containment_threshold": "A pair whose shorter text is contained at or above this share is a near duplicate.",
    "dedup.min_words": "Shingles the shorter text needs before containment alone can decide.",
    "relevance.threshold": "Articles scoring at or above this (0..1) are relevant and get classified.",
    "feeds.name": "Unique short name of a feed (lowercase letters, digits, - _ .).",
    "feeds.url": "URL of the RSS/Atom/RDF feed.",
    "feeds.enabled": "Set to false to keep a feed in the file but skip it.",
}


def _check_type(key: str, value: Any, annotation: Any) -> Any:
    """Return ``value`` converted to ``annotation`` or raise ConfigError naming ``key``."""
    origin = get_origin(annotation)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"config key {key} must be true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"config key {key} must be an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"config key {key} must be a number, got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"config key {key} must be a string, got {value!r}")
    if origin is list:
        (item,) = get_args(annotation)
        if not isinstance(value, list):
            raise ConfigError(f"config key {key} must be a list, got {value!r}")
        return [_check_type(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    raise ConfigError(f"config key {key}: unsupported type {annotation}")  # pragma: no cover


def _build(cls: type, section: str, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config section [{section}] must be a table, got {raw!r}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"unknown config key {section}.{key} (known keys: {known})")
        values[key] = _check_type(f"{section}.{key}", value, hints[key])
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"config section [{section}]: {exc}") from exc


def _validate_warehouse(w: WarehouseSettings) -> None:
    if w.backend not in ("duckdb", "ducklake"):
        raise ConfigError(f"config key warehouse.backend must be \"duckdb\" or \"ducklake\", got {w.backend!r}")
    if w.backend == "ducklake":
        for key in ("catalog", "data_path"):
            if not getattr(w, key).strip():
                raise ConfigError(
                    f"config key warehouse.{key} is required with backend = \"ducklake\" "
                    "(see README, \"Scaling out\")"
                )


def _validate(settings: Settings) -> None:
    _validate_warehouse(settings.warehouse)
    f, r = settings.fetch, settings.run
    positive = {
        "fetch.timeout_s": f.timeout_s, "fetch.connect_timeout_s": f.connect_timeout_s,
        "fetch.max_bytes": f.max_bytes, "fetch.per_host_concurrency": f.per_host_concurrency,
        "run.batch_size": r.batch_size, "run.feed_concurrency": r.feed_concurrency,
        "run.extract_workers": r.extract_workers, "run.shards": r.shards,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"config key {key} must be greater than 0, got {value}")
    d = settings.dedup
    if not 1 <= d.shingle_size <= 12:
        raise ConfigError(f"config key dedup.shingle_size must be between 1 and 12, got {d.shingle_size}")
    for key, value in {"relevance.threshold": settings.relevance.threshold,
                       "dedup.jaccard_threshold": d.jaccard_threshold,
                       "dedup.containment_threshold": d.containment_threshold}.items():
        if not 0.0 < value <= 1.0:
            raise ConfigError(f"config key {key} must be in (0, 1], got {value}")
    for key, value in {"fetch.max_redirects": f.max_redirects, "dedup.min_words": d.min_words,
                       "run.disable_after_failures": r.disable_after_failures,
                       "fetch.per_host_delay_s": f.per_host_delay_s}.items():
        if value < 0:
            raise ConfigError(f"config key {key} must be 0 or more, got {value}")
    try:
        parse_allowlist(f.private_allowlist)
    except ValueError as exc:
        raise ConfigError(
            f"config key fetch.private_allowlist: {exc} (use IPs or CIDRs like \"127.0.0.1\")"
        ) from exc
    seen: set[str] = set()
    for feed in settings.feeds:
        if not _FEED_NAME.match(feed.name):
            raise ConfigError(
                f"feed name {feed.name!r} is invalid: use lowercase letters, digits, '-', '_', '.'"
            )
        if feed.name in seen:
            raise ConfigError(f"feed name {feed.name!r} appears twice in [[feeds]]; names must be unique")
        seen.add(feed.name)
        if not feed.url.startswith(("http://", "https://")):
            raise ConfigError(f"feed {feed.name}: url must start with http:// or https://, got {feed.url!r}")


def settings_from_dict(raw: dict[str, Any], base_dir: Path | None = None,
                       source: str = "(dict)") -> Settings:
    """Build Settings from a parsed TOML document; raises ConfigError on any bad key."""
    kwargs: dict[str, Any] = {}
    for section, value in raw.items():
        if section == "feeds":
            if not isinstance(value, list):
                raise ConfigError("config key feeds must be an array of tables: use [[feeds]]")
            kwargs["feeds"] = tuple(_build(FeedConfig, "feeds", item) for item in value)
        elif section in SECTIONS:
            kwargs[section] = _build(SECTIONS[section], section, value)
        else:
            known = ", ".join(sorted([*SECTIONS, "feeds"]))
            raise ConfigError(f"unknown config section [{section}] (known sections: {known})")
    settings = Settings(**kwargs, source=source)
    w = settings.warehouse
    if base_dir is not None and not Path(w.path).is_absolute():
        w = dataclasses.replace(w, path=str((base_dir / w.path).resolve()))
    if base_dir is not None and w.data_path and "://" not in w.data_path and not Path(w.data_path).is_absolute():
        w = dataclasses.replace(w, data_path=str((base_dir / w.data_path).resolve()))
    settings = dataclasses.replace(settings, warehouse=w)
    _validate(settings)
    return settings


def load_settings(path: str | Path | None = None) -> Settings:
    """Load settings from ``path``, or ``./newswatch.toml`` if present, else defaults.

    Raises ConfigError for a missing explicit file, bad TOML, unknown keys, bad values.
    """
    if path is None:
        if not DEFAULT_CONFIG.exists():
            return settings_from_dict({}, Path.cwd(), "(defaults)")
        path = DEFAULT_CONFIG
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found (pass --config PATH to an existing TOML file)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc}") from exc
    return settings_from_dict(raw, path.resolve().parent, str(path))
