"""Derive the body text of a plain-text article: drop captions, bylines, share and
embed lines, related-article lists, "Original url" lines and reader comments.

Used for the seed files (which are copies of whole pages as text); the raw text is
kept elsewhere and the body is what dedup and classification read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.textnorm import normalize_for_hash, tidy_text

_URL_LINE = re.compile(r"^<?https?://\S+(\s\S+)?>?$")
_COMMENTS_START = re.compile(
    r"^(discussion policy|\d+\s+comments?|comments?|leave a (comment|reply)|reader comments)\s*:?$", re.I
)
_COMMENTER = re.compile(r"^(\d+\.|[•·*-])?\s*[\w .'’-]{1,40} said:$")
_RELATED = re.compile(r"^[#*\s]*related (articles?|stories|news)\s*:?[*\s]*(:\s*.*)?$", re.I)
_RELATED_INLINE = re.compile(r"^related (article|story)\s*:", re.I)
_LIST_LINK = re.compile(r"^[-*•]\s*\[[^\]]+\]\([^)]*\)\s*$")
_BYLINE = re.compile(r"^by\s+(\[[^\]]+\]\([^)]*\)|[A-Z][\w.'’ -]{1,60})$", re.I)
_DATE_LINE = re.compile(
    r"^(January|February|March|April|May|June|July|August|September|October|November|December)"
    r"\s+\d{1,2},\s+\d{4}$"
)
_SOURCE = re.compile(r"^[•·*\s]*source\s*:\s*.{1,60}$", re.I)
_EMBED = re.compile(r"^embed\s*:?$", re.I)
_TWEET = re.compile(r"(pic\.twitter\.com/|https?://t\.co/|^—\s.*\(@\w+\)\s)", re.I)
_PHOTO = re.compile(
    r"(\((AFP|Reuters|AP|EPA)?\s*photo( by [^)]*)?\)$|\(photo by [^)]*\)\s*$|\*\*[^*]+/[^*]+\*\*\s*$)", re.I
)
_SITE_PROMO = re.compile(r"(website can also be accessed|follow us on|subscribe to our|share this|^share$|"
                         r"^news\s*/\s*more$|^\*\*[^*]{1,40}\*\*$)", re.I)
_SENTENCE_END = re.compile(r"[.!?…\"”’)\]]$")


@dataclass(frozen=True)
class BodyText:
    body: str
    removed: tuple[tuple[str, str], ...]  # (reason, line)


def _is_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line)) and len(line.split()) >= 5


def _join_broken_lines(lines: list[str]) -> list[str]:
    """Re-join a paragraph split mid-sentence (next part starts lower-case)."""
    joined: list[str] = []
    for line in lines:
        if joined and line[:1].islower() and not _SENTENCE_END.search(joined[-1]):
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    return joined


def derive_body(raw: str, title: str | None = None) -> BodyText:
    """Return the body text of ``raw`` and every line removed, with the reason."""
    lines = [ln.strip() for ln in raw.replace("\r\n", "\n").split("\n")]
    lines = [ln for ln in lines if ln]
    removed: list[tuple[str, str]] = []
    kept: list[str] = []
    title_norm = normalize_for_hash(title or "")
    in_embed = in_related = False
    for i, line in enumerate(lines):
        plain = line.strip("#* ").strip()
        if _COMMENTS_START.match(plain) or _COMMENTER.match(plain):
            removed += [("comments", ln) for ln in lines[i:]]
            break
        if plain.lower().startswith("original url") or _URL_LINE.match(plain):
            removed.append(("original_url", line))
            in_related = in_embed = False
            continue
        if in_related and (_LIST_LINK.match(line) or not _is_sentence(plain)):
            removed.append(("related", line))
            continue
        in_related = False
        if _RELATED.match(plain) or _RELATED_INLINE.match(plain):
            removed.append(("related", line))
            in_related = _RELATED.match(plain) is not None
            continue
        if _EMBED.match(plain):
            removed.append(("embed", line))
            in_embed = True
            continue
        if in_embed and (_TWEET.search(line) or not _is_sentence(plain)):
            removed.append(("embed", line))
            continue
        in_embed = False
        if _TWEET.search(line):
            removed.append(("embed", line))
        elif _PHOTO.search(line) or line.lower().startswith("photo:"):
            removed.append(("caption", line))
        elif _BYLINE.match(plain) or _DATE_LINE.match(plain) or _SOURCE.match(line):
            removed.append(("byline", line))
        elif _SITE_PROMO.search(plain):
            removed.append(("share", line))
        elif title_norm and normalize_for_hash(plain) == title_norm:
            removed.append(("title", line))
        else:
            kept.append(line)
    kept = _join_broken_lines(kept)
    body: list[str] = []
    for j, line in enumerate(kept):
        norm = normalize_for_hash(line)
        # A standfirst repeated inside the next paragraph, or a short non-sentence
        # line (caption, section heading), is not body text.
        if j + 1 < len(kept) and norm and norm in normalize_for_hash(kept[j + 1]):
            removed.append(("standfirst", line))
        elif not _is_sentence(line) and len(line.split()) < 12:
            removed.append(("heading_or_caption", line))
        else:
            body.append(line)
    return BodyText(tidy_text("\n".join(body)), tuple(removed))
