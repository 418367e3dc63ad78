"""Who may read the pages, the feed of changes and the API, and the headers every answer
carries.

CONTRACT.md `[http] token`: with a token, every page answers 401 without it (a Bearer
token, or the token as the basic-auth password, so a browser's login prompt and a feed
reader's "user:password" both work). Without a token the pages are served only when the
listener is on a loopback address; elsewhere they are off (the operator gets a warning).
`/healthz` and `/metrics` are never behind the token: probes and scrapers answer as before.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import ipaddress

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

# Routes that keep their own rules (none: they expose only counts and check names).
OPEN_PATHS = frozenset({"/healthz", "/metrics"})

# Nothing to run, nothing from elsewhere: the pages need their own stylesheet and nothing
# else, and nothing may frame them (clickjacking) or rebase their links.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class Access(enum.Enum):
    TOKEN = "token"  # noqa: S105 - the name of a mode, not a secret
    """Served to requests that carry the token."""
    OPEN = "open"
    """Served to anyone who can connect (a loopback listener: this machine only)."""
    OFF = "off"
    """Not served: no token and a listener others can reach."""


def is_loopback(host: str) -> bool:
    """Whether `host` (as `parse_listen` gives it) only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False   # a host name: it may resolve to anything


def access_for(host: str, token: str) -> Access:
    if token:
        return Access.TOKEN
    return Access.OPEN if is_loopback(host) else Access.OFF


def presented_token(authorization: str | None) -> str | None:
    """The token an `Authorization` header carries (Bearer, or the basic-auth password);
    None when it carries none."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, sep, password = decoded.partition(":")
        return password if sep else None
    return None


def token_matches(authorization: str | None, token: str) -> bool:
    given = presented_token(authorization)
    # Constant time: the comparison must not tell an attacker how much of a guess was right.
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def guard(token: str) -> Middleware:
    """A middleware asking for `token` on every path outside `OPEN_PATHS` ("": no check),
    and adding the security headers to every answer (errors included)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token and request.path not in OPEN_PATHS and not token_matches(
                request.headers.get("Authorization"), token):
            response: web.StreamResponse = web.Response(
                status=401, text="401: a token is needed to read these pages\n",
                headers={"WWW-Authenticate": 'Basic realm="crawler", charset="UTF-8"'})
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                exc.headers.update(SECURITY_HEADERS)
                raise
        response.headers.update(SECURITY_HEADERS)
        return response

    return middleware
