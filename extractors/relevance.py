"""Topic relevance: how much a text is about the Armenia–Azerbaijan conflict (0..1)."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from extractors.errors import ConfigError
from extractors.rules import DATA_DIR


@dataclass(frozen=True)
class Group:
    name: str
    weight: float
    cap: int
    requires: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    combined: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    version: str
    offset: float
    title_weight: float
    groups: tuple[Group, ...]


@lru_cache(maxsize=4)
def load_lexicon(path: Path = DATA_DIR / "relevance.toml") -> Lexicon:
    """Load and validate the relevance lexicon; raises ConfigError on a bad file.

    Every pattern must start at a word boundary ("Goris" does not match "categories");
    it may end inside a word ("Armenia" matches "Armenian")."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        groups = tuple(
            Group(g["name"], float(g["weight"]), int(g["cap"]), tuple(g.get("requires", [])),
                  tuple(re.compile(r"(?<!\w)(?:" + p + ")", re.IGNORECASE) for p in g["patterns"]),
                  re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in g["patterns"]) + ")", re.IGNORECASE))
            for g in raw["groups"]
        )
        for i, group in enumerate(groups):
            earlier = {g.name for g in groups[:i]}
            if missing := [r for r in group.requires if r not in earlier]:
                raise ValueError(f"group {group.name!r} requires {missing}, which must be groups listed before it")
        return Lexicon(raw["version"], float(raw["offset"]), float(raw.get("title_weight", 1.0)), groups)
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, re.error) as exc:
        raise ConfigError(f"relevance lexicon {path} is invalid: {exc}") from exc


def _hits(group: Group, text: str) -> int:
    return sum(1 for _ in group.combined.finditer(text))


def relevance(title: str, text: str, lexicon: Lexicon) -> float:
    """Return a 0..1 topic score; title hits count ``title_weight`` times."""
    counts: dict[str, float] = {}
    total = 0.0
    for group in lexicon.groups:  # a group's requirements come before it in the file
        if group.requires and not any(counts.get(r, 0) for r in group.requires):
            counts[group.name] = 0  # it would not count: skip scanning the text for it
            continue
        counts[group.name] = min(group.cap, _hits(group, text) + lexicon.title_weight * _hits(group, title or ""))
        total += group.weight * counts[group.name]
    return round(1.0 / (1.0 + math.exp(-(total - lexicon.offset))), 4)
