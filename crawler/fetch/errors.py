"""The one exception the fetcher raises."""

from __future__ import annotations


class FetchError(Exception):
    """A URL was not fetched, for a policy or transport reason.

    `kind` is a short stable snake_case reason callers may branch on:
    "unsupported_scheme", "invalid_url", "blocked_address", "robots_disallowed",
    "robots_unreachable", "rate_limited", "too_large", "timeout", "too_many_redirects",
    "bad_redirect", "bad_encoding", "tls", "connection", "fleet_unavailable" (the store that paces a
    fleet's requests to a host could not be asked). "rate_limited": the host asked for a pause
    longer than the fetcher is willing to sleep inside one call (the message says how long is
    left).
    """

    def __init__(self, kind: str, url: str, message: str) -> None:
        super().__init__(f"{kind}: {url}: {message}")
        self.kind = kind
        self.url = url
        self.message = message
