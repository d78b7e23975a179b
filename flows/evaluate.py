"""`newswatch eval`: score the pipeline's decisions on the labelled sets in evalsets/."""

from __future__ import annotations

import tomllib
from pathlib import Path

from extractors.bodytext import derive_body
from extractors.classify_eval import (
    ClassifyScore,
    LabelledArticle,
    LabelledSentence,
    score_articles,
    score_sentences,
)
from extractors.dedup_eval import DedupScore, LabelledPair, score_pairs
from extractors.errors import ConfigError
from extractors.neardup import DedupSettings
from extractors.rules import EVENT_TYPES, Rules
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
    if labels.is_file():
        pairs_file = labels
    elif (labels / "pairs.toml").is_file():
        pairs_file = labels / "pairs.toml"
    else:
        pairs_file = labels / "dedup" / "pairs.toml"
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


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"labels file {path} not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"labels file {path} is not valid TOML: {exc}") from exc


def _article(item: dict, title: str, text: str, where: str) -> LabelledArticle:
    try:
        root_type = item["root_type"]
        types = frozenset(item["types"])
        bad = (types | {root_type}) - set(EVENT_TYPES)
        if bad:
            raise ConfigError(f"{where}: unknown event types {sorted(bad)}")
        return LabelledArticle(
            id=item["id"], title=title, text=text, published=item["published"], root_type=root_type,
            types=types, root_date=item.get("root_date"), root_location=item.get("root_location") or None,
            root_fatalities=item.get("root_fatalities"),
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: article {item.get('id')!r} lacks key {exc}") from exc


def load_classify_articles(folder: Path) -> list[LabelledArticle]:
    """Labelled articles (articles.toml + articles/*.txt) and labelled seeds (seeds.toml)."""
    items = []
    for item in _read_toml(folder / "articles.toml").get("articles", []):
        path = folder / "articles" / f"{item.get('id')}.txt"
        if not path.is_file():
            raise ConfigError(f"labelled article {path} not found")
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        items.append(_article(item, title.strip(), body.strip(), str(folder / "articles.toml")))
    titles = {s.file: s.title for s in read_manifest()}
    seeds_file = folder / "seeds.toml"
    if seeds_file.is_file():
        raw = _read_toml(seeds_file)
        for item in raw.get("articles") or raw.get("seeds") or []:
            path = DEFAULT_SEED_DIR / f"{item['id']}.txt"
            body = derive_body(path.read_text(encoding="utf-8"), titles.get(path.name)).body
            items.append(_article(item, titles.get(path.name, ""), body, str(seeds_file)))
    return items


def load_classify_sentences(folder: Path) -> list[LabelledSentence]:
    path = folder / "sentences.toml"
    if not path.is_file():
        return []
    return [
        LabelledSentence(s["text"], s["published"], frozenset(s.get("types", [])), s.get("fatalities"),
                         s.get("location") or None, s.get("note", ""))
        for s in _read_toml(path).get("sentences", [])
    ]


def evaluate_classify(labels: Path, rules: Rules) -> ClassifyScore:
    """Score classification on ``labels`` (a folder holding classify/ or the classify folder)."""
    folder = labels / "classify" if (labels / "classify").is_dir() else labels
    score = ClassifyScore()
    score_articles(load_classify_articles(folder), rules, score)
    score_sentences(load_classify_sentences(folder), rules, score)
    return score


def format_classify(score: ClassifyScore, verbose: bool = False) -> str:
    """Render a classification score for the terminal."""
    lines = [
        f"Event classification on {score.articles} labelled articles (seeds included)",
        f"  root-type accuracy        {score.rate(score.root_correct):.3f}",
        f"  article types micro-F1    {score.micro.f1:.3f}  "
        f"(P {score.micro.precision:.3f}, R {score.micro.recall:.3f})",
        f"  event-date accuracy       {score.rate(score.date_correct):.3f}",
        f"  fatalities exact match    {score.rate(score.fatalities_correct):.3f}",
        f"  place accuracy            {score.rate(score.place_correct):.3f}",
        "  per type:                 precision  recall  F1",
    ]
    for slug, prf in score.per_type.items():
        lines.append(f"    {slug:<22} {prf.precision:9.3f} {prf.recall:7.3f} {prf.f1:6.3f}")
    if score.sentences:
        lines += [
            f"On {score.sentences} labelled sentences: types micro-F1 {score.sentence_micro.f1:.3f} "
            f"(P {score.sentence_micro.precision:.3f}, R {score.sentence_micro.recall:.3f}), "
            f"fatalities {score.rate(score.sentence_fatalities_correct, score.sentences):.3f}, "
            f"place {score.rate(score.sentence_place_correct, score.sentences):.3f}",
        ]
    if verbose:
        lines += ["  " + m for m in score.misses]
    return "\n".join(lines)
