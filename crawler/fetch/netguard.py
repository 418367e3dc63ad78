"""Which network addresses the crawler may connect to, enforced where the connection is made.

A feed is untrusted input: a link in it (or a redirect, or a DNS answer) can point the crawler at
the machine it runs on, the LAN, or a cloud metadata service. Checking the URL's host text is not
enough (aiohttp never resolves IP literals, DNS answers change between a check and the connect),
so the policy is applied at two places that see real addresses:

* `GuardedResolver` drops forbidden addresses from every DNS answer, so no connection is even
  attempted to them (a name that resolves only to forbidden addresses fails to resolve);
* `GuardedConnector` checks the peer address of every connection it hands out (new or pooled)
  before a single request byte is written, which also covers IP literals and anything a custom
  resolver let through.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

if TYPE_CHECKING:
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IANA special-purpose ranges, spelled out rather than left to `ipaddress.is_private`, whose
# answers differ between Python versions (e.g. 192.0.0.0/24 changed in 3.12.4 / 3.11.10).
_SPECIAL_V4 = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
))
_SPECIAL_V6 = tuple(ipaddress.IPv6Network(n) for n in (
    "::/96", "::ffff:0:0/96", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20",
    "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 8215 local-use NAT64: the embedded IPv4 address is at an operator-chosen offset, so it
# cannot be unwrapped reliably; it is a site-local translation prefix and is refused outright.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# Metadata endpoints that are not already caught by the link-local / unique-local rules.
_EXTRA_FORBIDDEN: frozenset[IPAddress] = frozenset({
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack (link-local anyway)
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6 (unique-local anyway)
    ipaddress.ip_address("168.63.129.16"),  # Azure WireServer: a public address, still internal
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud (CGNAT anyway)
})


class BlockedAddressError(OSError):
    """A connection to a forbidden address was refused.

    An OSError so that aiohttp treats a refusal inside the resolver like a failed lookup (it wraps
    it and keeps it as the cause); `find_blocked` digs it out again.
    """

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a private or reserved address")
        self.host = host
        self.address = address


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, compatible), or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    # Deprecated IPv4-compatible form ::a.b.c.d (but not :: and ::1, which are IPv6's own).
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip))
    return None


def is_forbidden(ip: IPAddress) -> bool:
    """True for any address that is not plainly a public unicast Internet host."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return True
        if ip in _NAT64_LOCAL:
            return True
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_forbidden(inner)
    if ip in _EXTRA_FORBIDDEN:
        return True
    special = _SPECIAL_V4 if isinstance(ip, ipaddress.IPv4Address) else _SPECIAL_V6
    if any(ip in net for net in special):
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses may be connected to.

    `treat_as_public` exists for tests (and allow-lists): addresses in it are allowed even when
    private ones are not, e.g. 127.0.0.2 playing a public web server while 127.0.0.1 plays the
    internal service it must not reach.
    """

    allow_private: bool = False
    treat_as_public: frozenset[IPAddress] = frozenset()

    def allows(self, ip: IPAddress) -> bool:
        if self.allow_private or ip in self.treat_as_public:
            return True
        return not is_forbidden(ip)

    def allows_text(self, address: str) -> bool:
        """`allows` for an address as text; anything that is not an address is refused."""
        return _allows_text(self, address)


# Every request asks it of its connection's peer, pooled or not (`GuardedConnector`): the same
# few addresses, each answer a pure function of the policy and the text (the `is_*` tests of
# `is_forbidden` walk lists of networks).
@functools.lru_cache(maxsize=4096)
def _allows_text(policy: AddressPolicy, address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return policy.allows(ip)


class GuardedResolver(AbstractResolver):
    """Wraps another resolver and drops the addresses the policy forbids.

    `owns_inner`: close the wrapped resolver on close (False for one the caller passed in).
    """

    def __init__(
        self, inner: AbstractResolver, policy: AddressPolicy, *, owns_inner: bool = True
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._owns_inner = owns_inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        allowed = [a for a in answers if self._policy.allows_text(a["host"])]
        if not allowed and answers:
            raise BlockedAddressError(host, answers[0]["host"])
        return allowed

    async def close(self) -> None:
        if self._owns_inner:
            await self._inner.close()


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that refuses any connection whose peer the policy forbids."""

    def __init__(self, *, policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._policy = policy

    async def connect(
        self,
        req: ClientRequest,
        traces: list[Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's signature
    ) -> Connection:
        conn = await super().connect(req, traces, timeout)
        transport = conn.transport
        peer: Any = transport.get_extra_info("peername") if transport is not None else None
        address = peer[0] if isinstance(peer, tuple) and peer else None
        if not isinstance(address, str) or not self._policy.allows_text(address):
            # Closing (not releasing) so the connection never goes back to the pool.
            conn.close()
            raise BlockedAddressError(req.url.host or "?", str(address))
        return conn


def find_blocked(exc: BaseException) -> BlockedAddressError | None:
    """The BlockedAddressError behind an exception aiohttp may have wrapped, if any."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, BlockedAddressError):
            return cur
        todo.extend(_causes(cur))
    return None


def _causes(exc: BaseException) -> Iterable[BaseException | None]:
    yield exc.__cause__
    yield exc.__context__
    inner = getattr(exc, "os_error", None)
    if isinstance(inner, BaseException):
        yield inner


__all__ = [
    "AddressPolicy",
    "BlockedAddressError",
    "GuardedConnector",
    "GuardedResolver",
    "embedded_ipv4",
    "find_blocked",
    "is_forbidden",
]
