"""Address policy and URL vetting (RELIABILITY 21, 22, 23): private targets are never reached."""

from __future__ import annotations

import ipaddress

import aiohttp
import pytest

from crawler.fetch import AddressPolicy, Fetcher, FetchError
from crawler.fetch.netguard import (
    BlockedAddressError,
    GuardedConnector,
    GuardedResolver,
    embedded_ipv4,
    find_blocked,
    is_forbidden,
)
from crawler.fetch.urlcheck import vet_url, whatwg_ipv4
from tests.hostile_server import (
    PUBLIC_LOOPBACK,
    TEST_POLICY,
    StaticResolver,
    fetch_settings,
    recording_app,
    redirect,
    serve,
    text,
)

REFUSE = AddressPolicy(allow_private=False)


# --- pure: which addresses are forbidden -------------------------------------------------

@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "192.168.1.1",
    "169.254.169.254", "169.254.1.1", "100.64.0.1", "100.127.255.255", "100.100.100.200",
    "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.0.192",
    "198.18.0.1", "192.0.2.1", "168.63.129.16",
    "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1",
    "2002:7f00:1::", "2002:a9fe:a9fe::1", "::127.0.0.1", "2001:db8::1",
])
def test_private_reserved_and_metadata_addresses_are_forbidden(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert is_forbidden(ip)
    assert not REFUSE.allows(ip)
    assert AddressPolicy(allow_private=True).allows(ip)


@pytest.mark.parametrize("address", [
    "93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
    "64:ff9b::808:808", "2002:808:808::1",
])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden(ipaddress.ip_address(address))


def test_embedded_ipv4_forms_are_unwrapped() -> None:
    loop = ipaddress.IPv4Address("127.0.0.1")
    for form in ("::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::5", "::127.0.0.1"):
        assert embedded_ipv4(ipaddress.IPv6Address(form)) == loop, form
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1")) is None


# --- pure: URL vetting ---------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.org/x", "gopher://example.org:70/_x",
    "javascript:alert(1)", "data:text/html,<b>x</b>", "FILE:///etc/passwd", "mailto:a@b.c",
])
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(FetchError) as err:
        vet_url(url, REFUSE)
    assert err.value.kind == "unsupported_scheme"
    assert url in str(err.value)


@pytest.mark.parametrize("url", [
    "http://127.1/", "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/",
    "http://0177.0.0.1/", "http://017700000001/", "http://127.0.0.1./", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::7f00:1]/", "http://169.254.169.254/latest/",
    "http://[fd00:ec2::254]/", "http://[fe80::1%25eth0]/", "http://0/", "http://100.64.1.1/",
])
def test_numeric_hosts_in_any_spelling_are_refused(url: str) -> None:
    with pytest.raises(FetchError) as err:
        vet_url(url, REFUSE)
    assert err.value.kind in ("blocked_address", "invalid_url")


def test_legacy_ipv4_forms_parse_like_browsers() -> None:
    expected = ipaddress.IPv4Address("127.0.0.1")
    for host in ("127.1", "2130706433", "0x7f.1", "0177.0.0.1", "0x7f.0.0.1", "127.0.1"):
        assert whatwg_ipv4(host) == expected, host
    assert whatwg_ipv4("example.com") is None
    assert whatwg_ipv4("1.example") is None


@pytest.mark.parametrize("url", [
    "http://a:1\\@127.0.0.1/", "http://example.org\\@127.0.0.1/", "http:\\\\127.0.0.1\\",
    "http://user:pass@example.org/", "http://example.org@127.0.0.1/", "http:/example.org/",
    "http://exa mple.org/", "http://example.org\x00.evil/", "http://", "//example.org/x",
    "http://256.256.256.256/", "http://1.2.3.4.5/",
])
def test_ambiguous_authorities_are_refused(url: str) -> None:
    with pytest.raises(FetchError) as err:
        vet_url(url, REFUSE)
    assert err.value.kind in ("invalid_url", "blocked_address")


def test_public_urls_pass_vetting_and_legacy_public_forms_are_canonicalized() -> None:
    assert str(vet_url("https://example.org/a?b=1", REFUSE)) == "https://example.org/a?b=1"
    assert vet_url("http://8.8.2056/", REFUSE).host == "8.8.8.8"


# --- live: nothing private is ever connected to -------------------------------------------

async def test_loopback_literal_is_refused_without_a_connection() -> None:
    app, hits = recording_app({"/": text("secret")})
    async with serve(app) as server, Fetcher(fetch_settings(allow_private_addresses=False)) as f:
        for url in (
            f"http://127.0.0.1:{server.port}/",
            f"http://127.1:{server.port}/",
            f"http://2130706433:{server.port}/",
            f"http://[::ffff:127.0.0.1]:{server.port}/",
        ):
            with pytest.raises(FetchError) as err:
                await f.fetch(url)
            assert err.value.kind == "blocked_address", url
    assert hits.count() == 0


async def test_schemes_are_refused_before_any_connection() -> None:
    async with Fetcher(fetch_settings()) as f:
        for url in ("file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:70/_x"):
            with pytest.raises(FetchError) as err:
                await f.fetch(url)
            assert err.value.kind == "unsupported_scheme"


async def test_hostname_resolving_to_loopback_is_refused() -> None:
    app, hits = recording_app({"/": text("secret")})
    resolver = StaticResolver({"intranet.example": ["127.0.0.1"]})
    settings = fetch_settings(allow_private_addresses=False)
    async with serve(app) as server, Fetcher(settings, resolver=resolver) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(f"http://intranet.example:{server.port}/")
    assert err.value.kind == "blocked_address"
    assert "intranet.example" in str(err.value)
    assert hits.count() == 0


async def test_localhost_through_the_system_resolver_is_refused() -> None:
    app, hits = recording_app({"/": text("secret")})
    async with serve(app) as server, Fetcher(fetch_settings(allow_private_addresses=False)) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(f"http://localhost:{server.port}/")
    assert err.value.kind == "blocked_address"
    assert hits.count() == 0


async def test_public_url_redirecting_to_private_is_refused_on_the_hop() -> None:
    private_app, private_hits = recording_app({"/admin": text("secret")})
    async with serve(private_app) as private:
        targets = {
            "/to-literal": redirect(f"http://127.0.0.1:{private.port}/admin"),
            "/to-name": redirect(f"http://intranet.example:{private.port}/admin"),
            "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
            "/to-file": redirect("file:///etc/passwd"),
        }
        public_app, public_hits = recording_app(targets)
        resolver = StaticResolver({
            "news.example": [PUBLIC_LOOPBACK], "intranet.example": ["127.0.0.1"],
        })
        settings = fetch_settings(allow_private_addresses=False)
        async with serve(public_app, host=PUBLIC_LOOPBACK) as public, Fetcher(
            settings, resolver=resolver, address_policy=TEST_POLICY
        ) as f:
            base = f"http://news.example:{public.port}"
            kinds = {}
            for path in targets:
                with pytest.raises(FetchError) as err:
                    await f.fetch(base + path)
                kinds[path] = err.value.kind
                assert base + path in str(err.value)
    assert kinds == {
        "/to-literal": "blocked_address", "/to-name": "blocked_address",
        "/to-metadata": "blocked_address", "/to-file": "unsupported_scheme",
    }
    assert public_hits.count() == 4  # the public site was reached ...
    assert private_hits.count() == 0  # ... the private one never


async def test_dns_answer_mixing_public_and_private_connects_only_to_public() -> None:
    public_app, public_hits = recording_app({"/": text("public")})
    private_app, private_hits = recording_app({"/": text("private")})
    async with serve(public_app, host=PUBLIC_LOOPBACK) as public, serve(
        private_app, port=public.port or 0
    ):
        # Same port on both addresses, private one first in the answer: unfiltered, the
        # connection would go to 127.0.0.1.
        resolver = StaticResolver({"mixed.example": ["127.0.0.1", PUBLIC_LOOPBACK]})
        settings = fetch_settings(allow_private_addresses=False)
        async with Fetcher(settings, resolver=resolver, address_policy=TEST_POLICY) as f:
            response = await f.fetch(f"http://mixed.example:{public.port}/")
    assert response.body == b"public"
    assert public_hits.count() == 1
    assert private_hits.count() == 0


async def test_dns_rebinding_to_private_on_a_later_lookup_is_refused() -> None:
    app, hits = recording_app({"/": text("ok")})
    async with serve(app, host=PUBLIC_LOOPBACK) as server:
        # First lookup public, every later one private: each connection uses a fresh lookup.
        resolver = StaticResolver({"rebind.example": [[PUBLIC_LOOPBACK], ["127.0.0.1"]]})
        settings = fetch_settings(allow_private_addresses=False)
        fetcher = Fetcher(settings, resolver=resolver, address_policy=TEST_POLICY)
        async with fetcher as f:
            first = await f.fetch(f"http://rebind.example:{server.port}/")
        async with Fetcher(settings, resolver=resolver, address_policy=TEST_POLICY) as f:
            with pytest.raises(FetchError) as err:
                await f.fetch(f"http://rebind.example:{server.port}/")
    assert first.status == 200
    assert err.value.kind == "blocked_address"
    assert hits.count() == 1


async def test_peer_check_refuses_what_an_unfiltered_resolver_let_through() -> None:
    """The connector's own check, without the resolver filter in front of it."""
    app, hits = recording_app({"/": text("secret")})
    async with serve(app) as server:
        connector = GuardedConnector(
            policy=REFUSE, resolver=StaticResolver({"sneaky.example": ["127.0.0.1"]})
        )
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(aiohttp.ClientError) as err:
                await session.get(f"http://sneaky.example:{server.port}/")
            blocked = find_blocked(err.value)
            with pytest.raises(aiohttp.ClientError) as err2:
                await session.get(f"http://127.0.0.1:{server.port}/")
    assert blocked is not None
    assert blocked.address == "127.0.0.1"
    assert find_blocked(err2.value) is not None
    assert hits.count() == 0


async def test_private_addresses_are_fetched_when_allowed() -> None:
    app, hits = recording_app({"/": text("local")})
    async with serve(app) as server, Fetcher(fetch_settings(allow_private_addresses=True)) as f:
        response = await f.fetch(f"http://127.0.0.1:{server.port}/")
    assert response.body == b"local"
    assert hits.count() == 1


async def test_resolver_filter_unwraps_mapped_and_nat64_answers() -> None:
    inner = StaticResolver({
        "mapped.example": ["::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe"],
        "mixed.example": ["::ffff:10.0.0.1", "93.184.215.14"],
    })
    resolver = GuardedResolver(inner, REFUSE, owns_inner=False)
    with pytest.raises(BlockedAddressError):
        await resolver.resolve("mapped.example", 80)
    answers = await resolver.resolve("mixed.example", 80)
    assert [a["host"] for a in answers] == ["93.184.215.14"]
