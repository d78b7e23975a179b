"""Sentence splitting for news English (abbreviations, initials, quotes, datelines)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "maj", "capt", "sgt", "rep", "sen", "gov", "pres",
    "st", "jr", "sr", "no", "vs", "etc", "approx", "dept", "est", "inc", "ltd", "co", "corp",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "u.s", "u.n", "u.k", "e.u", "d.c",
}
_BOUNDARY = re.compile(r"""([.!?…]+)(["”’')\]]*)\s+(?=["“‘'(\[]?[A-Z0-9])""")


@dataclass(frozen=True)
class Sentence:
    text: str
    index: int       # position in the article (0 = first)
    paragraph: int   # paragraph number (0 = first)


def _ends_with_abbreviation(chunk: str) -> bool:
    last = chunk.rstrip(".").rsplit(None, 1)[-1] if chunk.strip() else ""
    word = last.lower().lstrip("(\"“'")
    if word in _ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha()  # an initial: "John F. Kennedy"


def split_paragraph(paragraph: str) -> list[str]:
    """Split one paragraph into sentences."""
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        end = match.end(2)
        candidate = paragraph[start:end]
        if match.group(1) == "." and _ends_with_abbreviation(paragraph[start:match.start(1) + 1]):
            continue
        if candidate.strip():
            out.append(candidate.strip())
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        out.append(rest)
    return out


def split_sentences(text: str) -> list[Sentence]:
    """Split an article body (one paragraph per line) into numbered sentences."""
    sentences: list[Sentence] = []
    for p_index, paragraph in enumerate(p for p in text.split("\n") if p.strip()):
        for chunk in split_paragraph(paragraph.strip()):
            sentences.append(Sentence(chunk, len(sentences), p_index))
    return sentences
