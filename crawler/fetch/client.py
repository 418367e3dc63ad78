"""The Fetcher: one GET of a feed or page, with every safety rule applied on every hop.

Per hop (redirects are followed here, not by aiohttp, so each target is vetted like the first):
URL vetting (scheme, authority tricks, IP literals) -> robots.txt -> the host's politeness slot
-> the request, whose connection the guarded connector/resolver only opens to allowed
addresses -> the body, decompressed here in bounded steps and capped -> all within a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver
from yarl import URL

from crawler.clock import utc_now
from crawler.config import FetchSettings
from crawler.fetch.body import ACCEPT_ENCODING, CHUNK_SIZE, DecodeError, TooLarge, read_capped
from crawler.fetch.errors import FetchError, describe_transport_error
from crawler.fetch.fleet import FleetPacing, HostTurns
from crawler.fetch.netguard import AddressPolicy, GuardedConnector, GuardedResolver, find_blocked
from crawler.fetch.politeness import MAX_RETRY_AFTER, Politeness
from crawler.fetch.robots import ROBOTS_MAX_BYTES, RobotsAnswer, RobotsCache
from crawler.fetch.urlcheck import vet_url
from crawler.retry_after import parse_retry_after

log = structlog.get_logger(__name__)

DEFAULT_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ROBOTS_MAX_REDIRECTS = 5  # RFC 9309 section 2.3.1.2


@dataclass(frozen=True, slots=True)
class Response:
    """A completed HTTP exchange, whatever its status.

    `url` is as requested, `final_url` after redirects; `headers` have lower-case names (repeated
    headers joined with ", "); `body` is decompressed and at most `max_bytes` long.
    """

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass(frozen=True, slots=True)
class _Limits:
    max_bytes: int
    truncate: bool  # robots.txt: keep the first max_bytes instead of failing
    max_redirects: int
    robots: bool
    give_back_redirect: bool  # robots.txt: too many redirects is an answer, not an error


class Fetcher:
    """HTTP GET for feeds and article pages. Use as `async with Fetcher(settings) as f:`.

    `resolver` replaces DNS (tests map made-up names to local servers); whatever it answers is
    still filtered by the address policy. `clock` drives politeness and robots.txt expiry.
    `address_policy` (an addition to the documented API) overrides the policy derived from
    `settings.allow_private_addresses`, e.g. to treat a second loopback address as public in tests.
    `fleet` (a store's `HostTurns` and this process's lease owner) makes the per-host limits
    hold for every daemon sharing that store.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        resolver: AbstractResolver | None = None,
        clock: Callable[[], float] = time.monotonic,
        address_policy: AddressPolicy | None = None,
        fleet: tuple[HostTurns, str] | None = None,
    ) -> None:
        self._settings = settings
        self._fleet = fleet
        self._resolver = resolver
        self._clock = clock
        self._policy = address_policy or AddressPolicy(
            allow_private=settings.allow_private_addresses
        )
        self._page_limits = _Limits(
            max_bytes=settings.max_bytes,
            truncate=False,
            max_redirects=settings.max_redirects,
            robots=settings.respect_robots_txt,
            give_back_redirect=False,
        )
        self._session: aiohttp.ClientSession | None = None
        self._guarded_resolver: GuardedResolver | None = None
        self._politeness: Politeness | None = None
        self._robots: RobotsCache | None = None

    @property
    def deadline(self) -> float:
        """Seconds a request may last at most (`fetch.timeout`)."""
        return self._settings.timeout

    async def __aenter__(self) -> Fetcher:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Create the session; must run inside the event loop that will use the Fetcher."""
        if self._session is not None:
            return
        settings = self._settings
        inner = self._resolver if self._resolver is not None else DefaultResolver()
        self._guarded_resolver = GuardedResolver(
            inner, self._policy, owns_inner=self._resolver is None
        )
        connector = GuardedConnector(
            policy=self._policy,
            resolver=self._guarded_resolver,
            # Concurrency is enforced by the politeness slots; this is only a backstop.
            limit=settings.global_concurrency * 2,
            limit_per_host=0,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=settings.timeout),
            auto_decompress=False,  # see body.py: aiohttp would inflate chunks without a bound
            headers={"User-Agent": settings.user_agent},
            # No cookies: nothing carried from one site or fetch to the next, no unbounded jar.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # never route through a proxy picked up from the environment
        )
        self._politeness = Politeness(
            per_host_concurrency=settings.per_host_concurrency,
            per_host_delay=settings.per_host_delay,
            global_concurrency=settings.global_concurrency,
            max_backoff_wait=settings.timeout,
            clock=self._clock,
            fleet=None if self._fleet is None else FleetPacing(
                self._fleet[0], self._fleet[1], request_deadline=settings.timeout,
                max_pause_wait=settings.timeout),
        )
        self._robots = RobotsCache(self._load_robots, self._clock)

    async def close(self) -> None:
        """Close the session and its connections; safe to call twice."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        resolver, self._guarded_resolver = self._guarded_resolver, None
        if resolver is not None:
            await resolver.close()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = DEFAULT_ACCEPT,
    ) -> Response:
        """GET `url`, following redirects; any HTTP status comes back as a Response.

        `etag` / `last_modified` (from an earlier Response) make the request conditional; an
        unchanged resource then answers 304. Raises FetchError for everything that is not an
        HTTP answer: refused by policy (scheme, address, robots.txt, rate_limited) or failed
        in transport (timeout, too_large, too_many_redirects, connection, tls, bad_encoding).
        """
        headers = {"Accept": accept, "Accept-Encoding": ACCEPT_ENCODING}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._fetch(url, headers, self._page_limits)

    async def _load_robots(self, robots_url: URL) -> RobotsAnswer:
        limits = _Limits(
            max_bytes=ROBOTS_MAX_BYTES,
            truncate=True,
            max_redirects=_ROBOTS_MAX_REDIRECTS,
            robots=False,
            give_back_redirect=True,
        )
        headers = {"Accept": "text/plain,*/*;q=0.5", "Accept-Encoding": ACCEPT_ENCODING}
        response = await self._fetch(str(robots_url), headers, limits)
        return RobotsAnswer(status=response.status, body=response.body)

    async def _fetch(self, url: str, headers: dict[str, str], limits: _Limits) -> Response:
        if self._session is None or self._politeness is None or self._robots is None:
            raise RuntimeError("Fetcher used outside 'async with Fetcher(...)'")
        current = vet_url(url, self._policy)
        for hop in range(limits.max_redirects + 1):
            try:
                status, resp_headers, body = await self._hop(current, headers, limits)
            except FetchError as exc:
                if hop == 0:
                    raise
                # Name the URL the caller asked for; the hop that failed goes in the message.
                raise FetchError(exc.kind, url,
                                 f"redirect to {current}: {exc.message}") from None
            location = resp_headers.get("location")
            if status in _REDIRECTS and location:
                if hop == limits.max_redirects:
                    if limits.give_back_redirect:
                        break
                    raise FetchError(
                        "too_many_redirects", url,
                        f"more than {limits.max_redirects} redirects (last to {location})",
                    )
                current = self._redirect_target(url, current, location)
                continue
            break
        return Response(
            url=url,
            final_url=str(current),
            status=status,
            headers=MappingProxyType(resp_headers),
            body=body,
        )

    async def _hop(
        self, url: URL, headers: dict[str, str], limits: _Limits
    ) -> tuple[int, dict[str, str], bytes]:
        assert self._robots is not None
        assert self._politeness is not None
        if limits.robots:
            crawl_delay = await self._robots.check(url)
            self._politeness.set_crawl_delay(url.raw_host or "", crawl_delay)
        return await self._exchange(url, headers, limits)

    def _redirect_target(self, original: str, current: URL, location: str) -> URL:
        try:
            target = current.join(URL(location.strip()))
        except ValueError:
            raise FetchError("bad_redirect", original, f"unusable Location {location!r}") from None
        try:
            return vet_url(str(target), self._policy)
        except FetchError as exc:
            raise FetchError(exc.kind, original, f"redirect to {target}: {exc.message}") from None

    async def _exchange(
        self, url: URL, headers: dict[str, str], limits: _Limits
    ) -> tuple[int, dict[str, str], bytes]:
        """One request/response on one URL; the status, headers and (capped) body."""
        assert self._session is not None
        assert self._politeness is not None
        host = url.raw_host or ""
        text = str(url)
        async with self._politeness.turn(host, text):
            try:
                # aiohttp's total timeout plus our own: the latter also bounds our own awaits
                # (decompression steps, the slot) and fires even if aiohttp's timer misbehaves.
                async with asyncio.timeout(self._settings.timeout):
                    async with self._session.get(
                        url, headers=headers, allow_redirects=False
                    ) as resp:
                        resp_headers = _lower_headers(resp.headers.items())
                        if resp.status in (429, 503):
                            self._note_retry_after(host, resp_headers.get("retry-after"))
                        if resp.status in _REDIRECTS or resp.status == 304:
                            return resp.status, resp_headers, b""
                        body = await self._read_body(resp, resp_headers, limits, text)
                        return resp.status, resp_headers, body
            except FetchError:
                raise
            except TooLarge:
                raise FetchError(
                    "too_large", text, f"body larger than {limits.max_bytes} bytes"
                ) from None
            except DecodeError as exc:
                raise FetchError("bad_encoding", text, f"cannot decode body: {exc}") from None
            except TimeoutError:
                raise FetchError(
                    "timeout", text, f"no complete answer within {self._settings.timeout:g}s"
                ) from None
            except aiohttp.InvalidURL as exc:
                raise FetchError(
                    "invalid_url", text, f"rejected by the HTTP client: {exc}"
                ) from None
            except aiohttp.ClientSSLError as exc:
                raise FetchError("tls", text, f"TLS failure: {exc}") from None
            except (aiohttp.ClientError, OSError) as exc:
                blocked = find_blocked(exc)
                if blocked is not None:
                    log.warning("blocked_address", url=text, address=blocked.address)
                    raise FetchError(
                        "blocked_address", text, f"address {blocked.address} is private or reserved"
                    ) from None
                raise FetchError("connection", text, describe_transport_error(exc)) from None

    async def _read_body(
        self,
        resp: aiohttp.ClientResponse,
        headers: Mapping[str, str],
        limits: _Limits,
        url: str,
    ) -> bytes:
        encoding = headers.get("content-encoding")
        declared = resp.content_length
        if (
            declared is not None
            and declared > limits.max_bytes
            and not limits.truncate
            and encoding in (None, "", "identity")
        ):
            # Known to be too large before reading a byte of it.
            raise TooLarge
        return await read_capped(
            resp.content.iter_chunked(CHUNK_SIZE), encoding, limits.max_bytes,
            truncate=limits.truncate,
        )

    def _note_retry_after(self, host: str, value: str | None) -> None:
        assert self._politeness is not None
        seconds = parse_retry_after(value, utc_now(), cap=MAX_RETRY_AFTER)
        if seconds is not None and seconds > 0:
            self._politeness.note_retry_after(host, seconds)


def _lower_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out
