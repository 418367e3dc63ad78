"""HTTP fetching of feeds and article pages: polite (robots.txt, per-host slots) and safe
(no private addresses, bounded size and time). The pipeline uses exactly this API."""

from crawler.fetch.charset import decode_html
from crawler.fetch.client import DEFAULT_ACCEPT, Fetcher, Response
from crawler.fetch.errors import FetchError
from crawler.fetch.netguard import AddressPolicy

__all__ = ["DEFAULT_ACCEPT", "AddressPolicy", "FetchError", "Fetcher", "Response", "decode_html"]
