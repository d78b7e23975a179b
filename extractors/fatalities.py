"""How many were killed? Figures with their hedges ("some 400", "at least 49", "dozens")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a hundred": 100, "hundred": 100,
    "a dozen": 12, "dozen": 12,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_HEDGES = {
    "some": "about", "about": "about", "around": "about", "roughly": "about", "approximately": "about",
    "an estimated": "about", "estimated": "about", "nearly": "nearly", "almost": "nearly", "close to": "nearly",
    "more than": "more than", "over": "more than", "at least": "at least", "up to": "up to", "as many as": "up to",
    "fewer than": "fewer than", "less than": "fewer than",
}
_NUMBER = (r"(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?(?: (?:thousand|million))?|"
           r"(?:" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")"
           r"(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?(?: (?:hundred|thousand))?)")
_HEDGE = r"(?:(?P<hedge>" + "|".join(sorted(map(re.escape, _HEDGES), key=len, reverse=True)) + r") )?"
_VAGUE = re.compile(r"\b(dozens|scores|hundreds|thousands|many|several|a number) (of )?"
                    r"(\w+ ){0,3}(people|civilians|soldiers|servicemen|troops|lives)?\b.{0,40}?"
                    r"\b(killed|dead|died|deaths|lives)\b", re.I)
# "<n> (words) killed|dead|died|lives|deaths|bodies" within a short span.
_KILLED_AFTER = re.compile(
    rf"\b{_HEDGE}{_NUMBER}\b(?P<gap>(?: (?!and\b|but\b|while\b)[\w’'-]+){{0,6}}?) "
    r"(?P<verb>(?:were|was|had been|have been|has been|are|been) (?:killed|dead)|killed|dead|died|deaths|lives|"
    r"fatalities|military deaths|soldiers? killed|lost their lives|lost (?:his|her|their) lives)\b", re.I)
# "killed <n> ..." / "killing <n> ..." / "death toll (rose) to <n>" / "claimed <n> lives"
_KILLED_BEFORE = re.compile(
    rf"\b(?:killed|killing|left|leaving|claimed|claiming|death toll (?:\w+ ){{0,3}}?(?:to|of|at|stood at|reached)|"
    rf"toll (?:\w+ ){{0,2}}?(?:to|of|at)) {_HEDGE}{_NUMBER}\b", re.I)
_NON_PERSON = re.compile(r"^\s*(percent|%|km|kilomet|miles?|years?|days?|hours?|tanks?|drones?|villages?)", re.I)


@dataclass(frozen=True)
class Fatalities:
    count: int | None       # None: a vague figure such as "dozens"
    qualifier: str | None   # 'about' | 'at least' | 'more than' | 'nearly' | 'up to' | 'fewer than' | None
    text: str               # the words it was read from


def parse_number(text: str) -> int | None:
    """'6,500' -> 6500, 'four' -> 4, 'forty-nine' -> 49, '2 thousand' -> 2000; None if not a number."""
    words = text.lower().replace("-", " ").strip()
    digits = words.replace(",", "")
    parts = digits.split()
    if parts and re.fullmatch(r"\d+(\.\d+)?", parts[0]):
        value = float(parts[0])
        for scale in parts[1:]:
            value *= _SCALES.get(scale, 1)
        return int(value)
    total = current = 0
    i = 0
    tokens = words.split()
    while i < len(tokens):
        pair = " ".join(tokens[i:i + 2])
        if pair in _UNITS:
            current += _UNITS[pair]
            i += 2
            continue
        token = tokens[i]
        if token in _SCALES:
            current = max(current, 1) * _SCALES[token]
            if _SCALES[token] >= 1000:
                total, current = total + current, 0
        elif token in _UNITS:
            current += _UNITS[token]
        else:
            return None
        i += 1
    return total + current or None


def parse_fatalities(sentence: str) -> Fatalities | None:
    """The death figure a sentence reports, with its hedge; None when it reports none."""
    for regex in (_KILLED_AFTER, _KILLED_BEFORE):
        m = regex.search(sentence)
        if m is None:
            continue
        tail = sentence[m.end("num"):]
        if _NON_PERSON.match(tail):
            continue
        gap = m.groupdict().get("gap") or ""
        if re.search(r"\b(wounded|injured|displaced|fled|homes|missing)\b", gap, re.I):
            continue
        count = parse_number(m.group("num"))
        if count is None:
            continue
        hedge = m.group("hedge")
        return Fatalities(count, _HEDGES[hedge.lower()] if hedge else None, m.group(0))
    vague = _VAGUE.search(sentence)
    if vague:
        return Fatalities(None, vague.group(1).lower(), vague.group(0))
    return None
