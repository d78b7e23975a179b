"""Error hierarchy: every error says whether retrying can help and what to do.

Errors are classified at the edge (HTTP status, socket errors, parse failures)
so that Prefect task retries can retry only :class:`TransientError`.
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Base class of every error newswatch raises on purpose.

    ``status`` carries the HTTP status when the error came from a response.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(NewswatchError):
    """A failure that may go away on retry: timeouts, 5xx, 429, connection resets."""


class PermanentError(NewswatchError):
    """A failure that retrying will not fix: 4xx, parse errors, refused addresses."""


class ConfigError(NewswatchError):
    """A bad configuration value or file; the message names the key and the fix."""


class RefusedAddressError(PermanentError):
    """The target resolves to a loopback/private/link-local/reserved address."""


class TooLargeError(PermanentError):
    """The body (or its decompressed form) is larger than the configured cap."""


class RobotsDisallowedError(PermanentError):
    """robots.txt of the host disallows the URL for our User-Agent."""


def is_transient(exc: BaseException) -> bool:
    """Return True when ``exc`` is worth retrying (used by task retry conditions)."""
    return isinstance(exc, TransientError)
