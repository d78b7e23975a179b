"""When did it happen? Resolve date expressions of a sentence against the publication date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_MONTH = r"(?P<month>January|February|March|April|May|June|July|August|September|October|November|December|" \
         r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_DAY_MONTH = re.compile(rf"\b(?P<day>\d{{1,2}})(st|nd|rd|th)? {_MONTH}(,? (?P<year>(19|20)\d\d))?\b", re.I)
_MONTH_DAY = re.compile(rf"\b{_MONTH} (?P<day>\d{{1,2}})(st|nd|rd|th)?(,? (?P<year>(19|20)\d\d))?\b", re.I)
_MONTH_YEAR = re.compile(rf"\b(in|since|from|until|by|during|of|late|early|mid-?) {_MONTH},? (?P<year>(19|20)\d\d)\b",
                         re.I)
_IN_MONTH = re.compile(rf"\b(in|since|during|late|early|mid-?|last) {_MONTH}(?! \d)\b", re.I)
_WEEKDAY = re.compile(r"\b(?P<mod>(on|late|early|last|this|since|by|until|overnight|from) )?(?P<wd>Monday|Tuesday|"
                      r"Wednesday|Thursday|Friday|Saturday|Sunday)\b", re.I)
_YEAR = re.compile(r"\b(in|since|during) (?P<year>(19|20)\d\d)\b", re.I)
_RELATIVE = {
    "yesterday": (-1, "day"), "today": (0, "day"), "tonight": (0, "day"), "overnight": (0, "day"),
    "this morning": (0, "day"), "earlier today": (0, "day"), "last night": (-1, "day"),
    "the day before": (-1, "day"), "this week": (0, "day"), "last week": (-7, "month"),
    "last month": ("month", "month"), "earlier this month": (0, "month"), "this month": (0, "month"),
    "last year": ("year", "year"), "earlier this year": (0, "year"), "this year": (0, "year"),
}
_RELATIVE_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(_RELATIVE, key=len, reverse=True)) + r")\b",
                          re.I)


# Every expression above contains one of these; a sentence without any has no date.
_HINT = re.compile(r"\d|day\b|month|year|week|night|today|overnight|morning|before|"
                   r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", re.I)


@dataclass(frozen=True)
class ResolvedDate:
    value: date
    precision: str  # 'day' | 'month' | 'year'
    start: int      # where the expression starts in the sentence


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _past_year(month: int, day: int, published: date) -> int:
    """The year that puts month/day on or before the publication date."""
    candidate = _safe_date(published.year, month, min(day, 28))
    return published.year if candidate and candidate <= published + timedelta(days=1) else published.year - 1


def find_dates(sentence: str, published: date) -> list[ResolvedDate]:
    """Every date expression in ``sentence``, resolved (most specific forms first)."""
    found: list[ResolvedDate] = []
    if not _HINT.search(sentence):
        return found
    taken: list[tuple[int, int]] = []

    def add(value: date | None, precision: str, m: re.Match[str]) -> None:
        if value is None or any(s < m.end() and m.start() < e for s, e in taken):
            return
        taken.append((m.start(), m.end()))
        found.append(ResolvedDate(value, precision, m.start()))

    for regex in (_DAY_MONTH, _MONTH_DAY):
        for m in regex.finditer(sentence):
            month, day = MONTHS[m.group("month").lower().rstrip(".")], int(m.group("day"))
            year = int(m.group("year")) if m.group("year") else _past_year(month, day, published)
            add(_safe_date(year, month, day), "day", m)
    for m in _MONTH_YEAR.finditer(sentence):
        add(_safe_date(int(m.group("year")), MONTHS[m.group("month").lower().rstrip(".")], 1), "month", m)
    for m in _IN_MONTH.finditer(sentence):
        month = MONTHS[m.group("month").lower().rstrip(".")]
        year = published.year if month <= published.month else published.year - 1
        if m.group(1).lower() == "last" and month == published.month:
            year -= 1
        add(_safe_date(year, month, 1), "month", m)
    for m in _WEEKDAY.finditer(sentence):
        target = WEEKDAYS.index(m.group("wd").lower())
        back = (published.weekday() - target) % 7
        if (m.group("mod") or "").strip().lower() == "last" and back == 0:
            back = 7
        add(published - timedelta(days=back), "day", m)
    for m in _RELATIVE_RE.finditer(sentence):
        offset, precision = _RELATIVE[m.group(1).lower()]
        if offset == "month":
            first = published.replace(day=1) - timedelta(days=1)
            add(first.replace(day=1), "month", m)
        elif offset == "year":
            add(date(published.year - 1, 1, 1), "year", m)
        elif precision == "month":
            add((published + timedelta(days=offset)).replace(day=1) if offset else published.replace(day=1),
                "month", m)
        elif precision == "year":
            add(date(published.year, 1, 1), "year", m)
        else:
            add(published + timedelta(days=offset), "day", m)
    for m in _YEAR.finditer(sentence):
        add(date(int(m.group("year")), 1, 1), "year", m)
    return sorted(found, key=lambda d: d.start)


def resolve_event_date(sentence: str, published: date) -> ResolvedDate:
    """The date of the event a sentence reports: its first date expression, else the
    publication date (news reports the latest events) at day precision."""
    dates = find_dates(sentence, published)
    return dates[0] if dates else ResolvedDate(published, "day", -1)
