"""Text helpers: HTML to text, whitespace and Unicode normalisation, content hash."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import lxml.html
from lxml import etree

_WS = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"\n\s*\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_BLOCK_TAGS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
               "tr", "section", "article", "ul", "ol", "pre", "figure", "figcaption"}


def html_to_text(fragment: str) -> str:
    """Return the visible text of an HTML fragment, one paragraph per line.

    Plain text (no tags) is returned tidied. Never raises on malformed markup.
    """
    if not fragment or "<" not in fragment:
        return tidy_text(fragment or "")
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return tidy_text(re.sub(r"<[^>]+>", " ", fragment))
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            el.tail = "\n" + (el.tail or "")
    return tidy_text(root.text_content())


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_string(text: str) -> str:
    """Text safe to store: no NUL or other control characters, no lone surrogates."""
    return _CONTROL.sub("", text).encode("utf-8", "replace").decode("utf-8")


def tidy_text(text: str) -> str:
    """Collapse runs of spaces, strip each line, keep single blank-free paragraphs."""
    text = unicodedata.normalize("NFC", clean_string(text)).replace("\r\n", "\n").replace("\r", "\n")
    lines = (_WS.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANKS.sub("\n", "\n".join(line for line in lines if line)).strip()


def normalize_for_hash(text: str) -> str:
    """Return the comparison form of a text: NFKC, case-folded, words joined by spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(folded))


def content_hash(text: str) -> str:
    """Return the sha256 hex digest of the normalised text (exact-duplicate key)."""
    return hashlib.sha256(normalize_for_hash(text).encode("utf-8")).hexdigest()


def word_count(text: str) -> int:
    """Return the number of words in ``text``."""
    return len(_WORD.findall(text))
