"""Secrets kept out of what the crawler prints, logs and sends. Pure.

A URL can carry credentials: userinfo (`https://user:pass@host/`) and query values such as
`?token=...` or `&api_key=...` (private feeds, webhook receivers). Wherever a URL is shown
it goes through one of three helpers here:

- `redact_url` (`check-config`, `status`, log lines, event payloads): the userinfo and every
  secret-looking query value become `***`, the rest stays as it was, so the URL is still
  recognisable. `redact_text` does the same to every URL inside a longer text (an error
  message that quotes one).
- `bare_url` (delivery endpoints in logs): scheme, host, port and path only. A receiver's
  query is often a token under any name, so none of it is shown.
- `fingerprinted_url` (endpoints an operator picks from, `crawler deliveries`): the bare URL
  and, when that dropped anything, a short fingerprint of the whole, so that two URLs that
  differ only in a token (an old and a rotated one) are told apart.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

MASK = "***"

# Query parameter names that carry a credential, whole or as the last part of a longer name
# (`private_token`, `X-Amz-Signature`, `hub.verify_token`): compared lower-cased.
_SECRET_NAMES = frozenset({
    "token", "access_token", "auth", "authorization", "key", "apikey", "api_key", "secret",
    "password", "passwd", "pass", "pwd", "sig", "signature", "session", "sessionid", "sid",
    "credential", "credentials", "client_secret", "jwt",
})
_NAME_PARTS = re.compile(r"[_\-.]")
# A URL inside text: a scheme, "://", then anything up to white space or a closing quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def secret_name(name: str) -> bool:
    """Whether a query parameter of this name carries a credential."""
    lowered = name.lower()
    if lowered in _SECRET_NAMES:
        return True
    parts = [p for p in _NAME_PARTS.split(lowered) if p]
    return bool(parts) and (parts[-1] in _SECRET_NAMES or "_".join(parts[-2:]) in _SECRET_NAMES)


def has_userinfo(url: str) -> bool:
    """The URL carries a user name or password before its host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return "@" in parts.netloc


def redact_url(url: str) -> str:
    """`url` with its userinfo and secret-looking query values replaced by `***`. A string
    that is not a URL is returned as it is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(secret_name(name) for name, _ in pairs):
            query = "&".join(
                f"{quote(name, safe='')}={MASK if secret_name(name) else quote(value, safe='')}"
                for name, value in pairs)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL in `text` redacted (`redact_url`); the rest unchanged."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group()), text)


def bare_url(url: str) -> str:
    """The URL without credentials, query or fragment: those often carry tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def fingerprinted_url(url: str) -> str:
    """`bare_url(url)`, followed by " #" and six hex digits of the whole URL's SHA-256 when
    the bare form lost something (a query, credentials); `url` itself when it lost nothing
    (an "apprise:" notify key, say)."""
    plain = bare_url(url)
    if plain == url:
        return plain
    return f"{plain} #{hashlib.sha256(url.encode()).hexdigest()[:6]}"
