"""`newswatch eval`: score the pipeline's decisions on the labelled sets in evalsets/."""

from __future__ import annotations

import tomllib
from pathlib import Path

from extractors.bodytext import derive_body
from extractors.dedup_eval import DedupScore, LabelledPair, score_pairs
from extractors.errors import ConfigError
from extractors.neardup import DedupSettings
from extractors.seeds import DEFAULT_SEED_DIR, read_manifest

DEFAULT_LABELS = Path(__file__).resolve().parent.parent / "evalsets"


def _load_text(ref: str, texts_dir: Path, seed_titles: dict[str, str]) -> str:
    if ref.startswith("seed:"):
        stem = ref.removeprefix("seed:")
        path = DEFAULT_SEED_DIR / f"{stem}.txt"
        if not path.is_file():
            raise ConfigError(f"labelled pair refers to missing seed {ref!r}")
        return derive_body(path.read_text(encoding="utf-8"), seed_titles.get(path.name)).body
    path = texts_dir / f"{ref}.txt"
    if not path.is_file():
        raise ConfigError(f"labelled pair refers to missing text {path}")
    return path.read_text(encoding="utf-8")


def load_dedup_pairs(pairs_file: Path) -> list[LabelledPair]:
    """Read a pairs.toml (and the texts next to it); raises ConfigError on a bad file."""
    if not pairs_file.is_file():
        raise ConfigError(f"labels file {pairs_file} not found")
    try:
        raw = tomllib.loads(pairs_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"labels file {pairs_file} is not valid TOML: {exc}") from exc
    titles = {s.file: s.title for s in read_manifest()}
    texts = pairs_file.parent / "texts"
    pairs = []
    for i, item in enumerate(raw.get("pairs", [])):
        try:
            a, b, dup = item["a"], item["b"], bool(item["duplicate"])
        except KeyError as exc:
            raise ConfigError(f"{pairs_file}: pair {i + 1} lacks key {exc}") from exc
        pairs.append(LabelledPair(a, b, _load_text(a, texts, titles), _load_text(b, texts, titles),
                                  dup, item.get("kind", "")))
    if not pairs:
        raise ConfigError(f"{pairs_file} holds no [[pairs]]")
    return pairs


def evaluate_dedup(labels: Path, settings: DedupSettings) -> DedupScore:
    """Score near-duplicate decisions on ``labels`` (a pairs.toml or a folder holding dedup/pairs.toml)."""
    pairs_file = labels / "dedup" / "pairs.toml" if labels.is_dir() else labels
    return score_pairs(load_dedup_pairs(pairs_file), settings)


def format_dedup(score: DedupScore) -> str:
    """Render a dedup score for the terminal."""
    lines = [
        f"Near-duplicate detection on {len(score.results)} labelled pairs",
        f"  precision {score.precision:.3f}   recall {score.recall:.3f}   F1 {score.f1:.3f}",
        "  by kind (correct/total):",
    ]
    lines += [f"    {kind:<20} {ok}/{total}" for kind, (ok, total) in score.by_kind().items()]
    for r in score.errors:
        label = "duplicate" if r.pair.duplicate else "distinct"
        lines.append(f"  MISS {r.pair.a_name} ~ {r.pair.b_name}: labelled {label}, "
                     f"jaccard {r.jaccard:.2f}, containment {r.containment:.2f}")
    return "\n".join(lines)
