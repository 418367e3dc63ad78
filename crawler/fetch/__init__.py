"""HTTP fetching of feeds and article pages: polite and safe. The pipeline uses exactly this API.

    async with Fetcher(settings.fetch) as fetcher:
        response = await fetcher.fetch(url, etag=stored_etag, last_modified=stored_lm)
        if response.status == 304: ...            # unchanged
        text = decode_html(response.body, response.content_type)

Every HTTP status comes back as a Response; FetchError (with a stable `kind`) means no usable
answer: refused by policy before any request (unsupported_scheme, invalid_url, blocked_address,
robots_disallowed, robots_unreachable, rate_limited) or failed in transport (timeout, too_large,
too_many_redirects, bad_redirect, bad_encoding, tls, connection, fleet_unavailable).

Module map: urlcheck (URL vetting), netguard (address policy, guarded resolver and connector),
politeness (per-host slots, Retry-After), fleet (per-host turns shared by a fleet), robots (RFC 9309
cache), body (bounded decompression), charset (decode_html), client (the Fetcher).
"""

from crawler.fetch.charset import decode_html
from crawler.fetch.client import DEFAULT_ACCEPT, Fetcher, Response
from crawler.fetch.errors import FetchError
from crawler.fetch.fleet import HostTurns
from crawler.fetch.netguard import AddressPolicy

__all__ = [
    "DEFAULT_ACCEPT", "AddressPolicy", "FetchError", "Fetcher", "HostTurns", "Response",
    "decode_html",
]
