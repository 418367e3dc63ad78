"""The one exception the fetcher raises, and transport failures said as an operator reads them.

aiohttp says "Cannot connect to host www.rfi.fr:443 ssl:default [Name or service not known]"
under the class name `ClientConnectorDNSError`; an operator whose network is down needs "DNS:
cannot resolve www.rfi.fr (Name or service not known)".
"""

from __future__ import annotations

import errno

import aiohttp


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


# OS errors whose meaning is clearer in words than in their strerror.
_CONNECT_ERRNO = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


def describe_transport_error(exc: BaseException) -> str:
    """One line naming what failed and why. Falls back to the class name and message for
    anything not recognised, so no failure is ever reported without its reason."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS: cannot resolve {exc.host} ({_reason(exc.os_error)})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        known = _CONNECT_ERRNO.get(exc.os_error.errno or 0)
        return (f"cannot connect to {exc.host}:{exc.port} "
                f"({known or _reason(exc.os_error)})")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection before answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"the answer was cut off: {exc}"
    if isinstance(exc, OSError) and exc.errno in _CONNECT_ERRNO:
        return _CONNECT_ERRNO[exc.errno]
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__
