"""URL canonicalisation and stable ids.

Normalisation (case, default ports, percent-encoding, dot segments) is done by
``url-normalize``; on top of it we drop fragments and tracking parameters and
accept a page's ``<link rel=canonical>`` only when it stays on the same site.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from url_normalize import url_normalize

# Parameters that identify a campaign or a click, never the document.
TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mkt_tok", "oly_anon_id", "oly_enc_id", "ref_src", "cmpid", "ito", "at_medium",
        "at_campaign", "ncid", "sr_share", "rss", "taid", "spm", "__twitter_impression",
    }
)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str:
    """Return the canonical form of an absolute http(s) URL.

    Lower-cases scheme and host, drops default ports, the fragment and tracking
    parameters (``utm_*``, ``fbclid``, ``gclid`` …); keeps other parameters in order.
    Raises ValueError for a URL that is not absolute http(s).
    """
    normalized = url_normalize(url.strip())
    if not normalized:
        raise ValueError(f"not a URL: {url!r}")
    parts = urlsplit(normalized)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


def site_of(url: str) -> str:
    """Return the registrable-ish site of a URL: its host without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def choose_canonical(fetched_url: str, declared: str | None) -> str:
    """Pick the canonical URL of a page.

    ``declared`` (from ``<link rel=canonical>``) wins when it is a valid http(s)
    URL on the same site as ``fetched_url``; otherwise the fetched URL is used.
    """
    base = canonicalize_url(fetched_url)
    if not declared:
        return base
    try:
        candidate = canonicalize_url(urljoin(fetched_url, declared))
    except ValueError:
        return base
    return candidate if site_of(candidate) == site_of(base) else base


def stable_id(key: str, prefix: str = "a") -> str:
    """Return a short stable id derived from ``key`` (sha256, 16 hex digits)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"{prefix}_{digest}"
