"""Loading and validating the domain data files: taxonomy, actors, gazetteer.

The files live in ``extractors/data`` and carry their own version; a domain
expert extends them without touching code. Loading compiles every pattern and
raises ConfigError naming the file and entry on a bad one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from extractors.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent / "data"
EVENT_TYPES = (
    "talks", "appeal", "agreement", "ceasefire", "armed_clash", "accusation", "rejection", "threat",
    "protest", "military_posture", "prisoner_release", "humanitarian",
)
ACTOR_CODES = ("ARM", "AZE", "NKR", "RUS", "TUR", "IRN", "USA", "FRA", "EU", "OSCE", "UN", "CSTO")


def combine(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str]:
    """One alternation of several patterns (one regex scan instead of many)."""
    if not patterns:
        return re.compile(r"(?!x)x")
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class EventType:
    slug: str
    plover: str
    cameo: str
    triggers: tuple[re.Pattern[str], ...]
    combined: re.Pattern[str]  # all triggers in one regex


@dataclass(frozen=True)
class Cues:
    negation: tuple[re.Pattern[str], ...]
    hypothetical: tuple[re.Pattern[str], ...]
    background: tuple[re.Pattern[str], ...]
    habitual: tuple[re.Pattern[str], ...]
    speech_acts: frozenset[str]
    any_negation: re.Pattern[str]       # the lists above, each in one regex
    any_hypothetical: re.Pattern[str]
    any_background: re.Pattern[str]     # background and habitual


@dataclass(frozen=True)
class Actor:
    code: str
    pattern: re.Pattern[str]
    literal: str  # lower-case text every match contains: a cheap test before the regex


def required_literal(pattern: str) -> str:
    """The longest plain-text run a match of ``pattern`` must contain ("" if unsure)."""
    if "|" in pattern:
        return ""
    body = re.sub(r"\\b|\(\?[<=!]+[^)]*\)", "", pattern)
    runs = re.findall(r"(?:[A-Za-z0-9 ,-]|\\[.'-])+", body)
    best = ""
    for run in runs:
        # Stop at characters made optional or repeated by the next token.
        text = re.sub(r"\\(.)", r"\1", run)
        if len(text) > len(best):
            best = text
    return best.strip().lower() if "?" not in pattern and "*" not in pattern else ""


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    lat: float
    lon: float
    kind: str


@dataclass(frozen=True)
class Rules:
    """Everything the classifier reads, with the combined version string."""

    version: str
    types: tuple[EventType, ...]
    cues: Cues
    actors: tuple[Actor, ...]
    places: dict[str, Place]           # canonical name -> place
    place_pattern: re.Pattern[str]     # any alias or name; group 'name' maps via place_alias
    place_alias: dict[str, str]        # lower-cased alias -> canonical name


    def type(self, slug: str) -> EventType:
        return next(t for t in self.types if t.slug == slug)


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"data file {path} is missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"data file {path} is not valid TOML: {exc}") from exc


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{where}: bad pattern {pattern!r}: {exc}") from exc


def _version(raw: dict, path: Path) -> str:
    version = raw.get("version")
    if not isinstance(version, str) or not version:
        raise ConfigError(f"data file {path} needs a top-level version = \"...\"")
    return version


def load_taxonomy(path: Path) -> tuple[str, tuple[EventType, ...], Cues]:
    raw = _read(path)
    version = _version(raw, path)
    types = []
    for item in raw.get("types", []):
        slug = item.get("slug")
        if slug not in EVENT_TYPES:
            raise ConfigError(f"{path}: unknown event type {slug!r} (allowed: {', '.join(EVENT_TYPES)})")
        triggers = tuple(_compile(p, f"{path} [{slug}]") for p in item.get("triggers", []))
        if not triggers:
            raise ConfigError(f"{path}: event type {slug} has no triggers")
        types.append(EventType(slug, item["plover"], str(item["cameo"]), triggers, combine(triggers)))
    missing = set(EVENT_TYPES) - {t.slug for t in types}
    if missing:
        raise ConfigError(f"{path}: event types missing: {', '.join(sorted(missing))}")
    cues_raw = raw.get("cues", {})
    lists = {
        name: tuple(_compile(p, f"{path} cues.{name}") for p in cues_raw.get(name, []))
        for name in ("negation", "hypothetical", "background", "habitual")
    }
    cues = Cues(
        **lists,
        speech_acts=frozenset(cues_raw.get("speech_acts", [])),
        any_negation=combine(lists["negation"]),
        any_hypothetical=combine(lists["hypothetical"]),
        any_background=combine(lists["background"] + lists["habitual"]),
    )
    return version, tuple(types), cues


def load_actors(path: Path) -> tuple[str, tuple[Actor, ...]]:
    raw = _read(path)
    version = _version(raw, path)
    actors: list[Actor] = []
    for item in raw.get("actors", []):
        code = item.get("code")
        if not code or not re.fullmatch(r"[A-Z]{2,5}", code):
            raise ConfigError(f"{path}: actor code {code!r} must be 2-5 capital letters")
        for pattern in item.get("patterns", []):
            actors.append(Actor(code, _compile(pattern, f"{path} [{code}]"), required_literal(pattern)))
    return version, tuple(actors)


def load_gazetteer(path: Path) -> tuple[str, dict[str, Place], re.Pattern[str], dict[str, str]]:
    raw = _read(path)
    version = _version(raw, path)
    places: dict[str, Place] = {}
    alias: dict[str, str] = {}
    for item in raw.get("places", []):
        try:
            place = Place(item["name"], item["country"], float(item["lat"]), float(item["lon"]), item["kind"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: place {item.get('name')!r} is incomplete: {exc}") from exc
        if not (-90 <= place.lat <= 90 and -180 <= place.lon <= 180):
            raise ConfigError(f"{path}: place {place.name} has coordinates out of range")
        if not re.fullmatch(r"[A-Z]{3}", place.country):
            raise ConfigError(f"{path}: place {place.name} country must be ISO 3166 alpha-3")
        places[place.name] = place
        for name in (place.name, *item.get("aliases", [])):
            key = name.lower()
            if key in alias and alias[key] != place.name:
                raise ConfigError(f"{path}: alias {name!r} names both {alias[key]} and {place.name}")
            alias[key] = place.name
    names = sorted(alias, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)
    return version, places, pattern, alias


@lru_cache(maxsize=4)
def load_rules(data_dir: Path = DATA_DIR) -> Rules:
    """Load and validate the three data files (cached per folder)."""
    t_version, types, cues = load_taxonomy(data_dir / "taxonomy.toml")
    a_version, actors = load_actors(data_dir / "actors.toml")
    g_version, places, pattern, alias = load_gazetteer(data_dir / "gazetteer.toml")
    return Rules(
        version=f"{t_version}+{a_version}+{g_version}",
        types=types, cues=cues, actors=actors, places=places, place_pattern=pattern, place_alias=alias,
    )
