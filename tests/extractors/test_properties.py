"""Property-based tests (hypothesis): no exception escapes, and the invariants hold."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.dates import resolve_event_date
from extractors.errors import PermanentError
from extractors.fatalities import parse_fatalities, parse_number
from extractors.feeds import parse_feed
from extractors.textnorm import clean_string, content_hash, tidy_text
from extractors.urls import canonicalize_url

HOSTS = st.from_regex(r"[a-z]{1,10}(\.[a-z]{2,6}){1,2}", fullmatch=True)
PATHS = st.lists(st.from_regex(r"[A-Za-z0-9_~.%-]{0,12}", fullmatch=True), max_size=4).map("/".join)
PARAMS = st.lists(st.tuples(st.sampled_from(["id", "utm_source", "fbclid", "page", "q", "gclid", "ref"]),
                            st.from_regex(r"[a-z0-9]{0,6}", fullmatch=True)), max_size=4)


@given(st.sampled_from(["http", "https", "HTTP"]), HOSTS, st.one_of(st.none(), st.integers(1, 65535)), PATHS,
       PARAMS, st.text(max_size=5))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_canonicalisation_is_idempotent_and_drops_tracking(scheme, host, port, path, params, fragment):
    query = "&".join(f"{k}={v}" for k, v in params)
    url = f"{scheme}://{host.upper()}{f':{port}' if port else ''}/{path}{'?' + query if query else ''}#{fragment}"
    canonical = canonicalize_url(url)
    assert canonicalize_url(canonical) == canonical
    assert "#" not in canonical and "utm_" not in canonical and "fbclid" not in canonical
    assert canonical.startswith(("http://", "https://")) and host in canonical


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_fatalities_and_numbers_never_raise_and_are_stable(text):
    first = parse_fatalities(text)
    assert first == parse_fatalities(text)
    if first is not None and first.count is not None:
        assert first.count >= 0
    assert parse_number(text) == parse_number(text)


@given(st.integers(0, 10_000_000))
def test_numbers_round_trip(n):
    assert parse_number(f"{n:,}") == n


@given(st.text(max_size=300), st.dates(min_value=date(1990, 1, 1), max_value=date(2035, 12, 31)))
@settings(max_examples=300)
def test_event_dates_never_raise(text, published):
    resolved = resolve_event_date(text, published)
    assert resolved.precision in {"day", "month", "year"}
    assert resolved == resolve_event_date(text, published)


@given(st.binary(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_feed_parsing_of_arbitrary_bytes(data):
    try:
        feed = parse_feed(data, "http://example.org/feed", "fuzz")
    except PermanentError:
        return
    for entry in feed.entries:
        assert isinstance(entry.title, str) and entry.guid


@given(st.text(max_size=500))
def test_text_cleaning_removes_control_characters(text):
    cleaned = tidy_text(text)
    assert "\x00" not in cleaned and cleaned == tidy_text(cleaned)
    assert isinstance(clean_string(text).encode("utf-8"), bytes)  # always encodable, no lone surrogates
    assert content_hash(text) == content_hash(text)
