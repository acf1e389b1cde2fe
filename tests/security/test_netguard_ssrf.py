"""SSRF: remote media fetches refuse local addresses (literal, resolved, or reached by redirect).

Every test runs with a guard on the event loop's socket connect: a connection to anything but
loopback is recorded and blocked, and the tests assert none was even attempted, so refusals are
shown to happen before connecting.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from crosspost.core.errors import PermanentError
from crosspost.core.netguard import (
    AllowList,
    GuardedResolver,
    MediaFetchError,
    MediaFetchUnavailable,
    UnsafeURL,
    fetch_media,
    forbidden_reason,
    literal_ip,
)
from crosspost.core.settings import Settings

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 5000


class FakeResolver(AbstractResolver):
    """Answers from a table instead of DNS (so no test depends on, or reaches, real DNS)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            {
                "hostname": host,
                "host": ip,
                "port": port,
                "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in self.table[host]
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Addresses the loop was asked to connect to; non-loopback ones are blocked, not dialled."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    real_sock_connect = loop.sock_connect
    real_create_connection = loop.create_connection

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        seen.append(address[0])
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise OSError("test guard: refused a non-loopback connection")
        await real_sock_connect(sock, address)

    async def create_connection(*args: Any, **kwargs: Any) -> Any:
        host = kwargs.get("host") or (args[1] if len(args) > 1 else None)
        if host is not None:
            seen.append(str(host))
            if not ipaddress.ip_address(socket.gethostbyname(str(host))).is_loopback:
                raise OSError("test guard: refused a non-loopback connection")
        return await real_create_connection(*args, **kwargs)

    monkeypatch.setattr(loop, "sock_connect", sock_connect)
    monkeypatch.setattr(loop, "create_connection", create_connection)
    return seen


def _non_loopback(seen: list[str]) -> list[str]:
    return [a for a in seen if not ipaddress.ip_address(a).is_loopback]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[TestServer]]]:
    servers: list[TestServer] = []

    async def start(handler: Handler) -> TestServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _allow(server: TestServer) -> list[str]:
    return [f"127.0.0.1:{server.port}"]


async def _fetch(url: str, tmp_path: Path, **kw: Any) -> Path:
    dest = tmp_path / "media.bin"
    kw.setdefault("max_bytes", 1_000_000)
    kw.setdefault("timeout", 30)
    await fetch_media(url, dest, **kw)
    return dest


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/v.mp4", "loopback"),
        ("http://10.0.0.1/v.mp4", "private"),
        ("http://192.168.1.10/v.mp4", "private"),
        ("http://172.16.0.1/v.mp4", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://100.64.0.1/v.mp4", "carrier-grade NAT"),
        ("http://224.0.0.1/v.mp4", "multicast"),
        ("http://0.0.0.0/v.mp4", "unspecified"),
        ("http://[::1]/v.mp4", "loopback"),
        ("http://[fe80::1]/v.mp4", "link-local"),
        ("http://[fc00::1]/v.mp4", "private"),
        ("http://[::ffff:127.0.0.1]/v.mp4", "loopback"),
        ("http://[::ffff:169.254.169.254]/v.mp4", "link-local"),
        ("http://2130706433/v.mp4", "loopback"),
        ("http://127.1/v.mp4", "loopback"),
        ("http://0x7f.0.0.1/v.mp4", "loopback"),
        ("http://0177.0.0.1:8080/v.mp4", "loopback"),
    ],
)
async def test_literal_local_addresses_are_refused_before_connecting(
    url: str, reason: str, tmp_path: Path, connects: list[str]
) -> None:
    with pytest.raises(UnsafeURL, match=reason) as info:
        await _fetch(url, tmp_path)
    assert "refused to fetch media from" in str(info.value)
    assert connects == []
    assert not (tmp_path / "media.bin").exists()


async def test_error_names_the_host_but_never_the_query_string(tmp_path: Path, connects: list[str]) -> None:
    with pytest.raises(UnsafeURL) as info:
        await _fetch("http://10.0.0.1:8080/v.mp4?upload_token=SECRET-123", tmp_path)
    assert "10.0.0.1:8080" in str(info.value)
    assert "SECRET-123" not in str(info.value)
    assert "v.mp4" not in str(info.value)
    assert isinstance(info.value, PermanentError)
    assert not info.value.retryable


async def test_hostname_resolving_to_a_private_address_is_refused(tmp_path: Path, connects: list[str]) -> None:
    resolver = FakeResolver({"media.example.com": ["10.0.0.5"]})
    with pytest.raises(UnsafeURL, match=r"media\.example\.com: it resolves to 10\.0\.0\.5, a private"):
        await _fetch("https://media.example.com/v.mp4", tmp_path, resolver=resolver)
    assert resolver.asked == ["media.example.com"]
    assert connects == []


async def test_hostname_with_one_private_address_among_public_ones_is_refused(
    tmp_path: Path, connects: list[str]
) -> None:
    resolver = FakeResolver({"cdn.example.com": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(UnsafeURL, match=r"169\.254\.169\.254"):
        await _fetch("http://cdn.example.com/v.mp4", tmp_path, resolver=resolver)
    assert connects == []


async def test_localhost_through_the_real_resolver_is_refused(tmp_path: Path, connects: list[str]) -> None:
    with pytest.raises(UnsafeURL, match=r"localhost:9: it resolves to \S+, a loopback address"):
        await _fetch("http://localhost:9/v.mp4", tmp_path)
    assert connects == []


@pytest.mark.parametrize(
    "target",
    ["http://10.0.0.5/v.mp4", "http://169.254.169.254/latest/", "http://[::1]:1/x", "http://metadata.internal/x"],
)
async def test_redirect_from_an_allowed_host_to_a_forbidden_one_is_refused(
    target: str,
    tmp_path: Path,
    connects: list[str],
    serve: Callable[[Handler], Awaitable[TestServer]],
) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)

    server = await serve(redirect)
    resolver = FakeResolver({"metadata.internal": ["169.254.169.254"]})
    with pytest.raises(UnsafeURL, match="refused to fetch media from"):
        await _fetch(f"http://127.0.0.1:{server.port}/v.mp4", tmp_path, allow_hosts=_allow(server), resolver=resolver)
    assert connects
    assert _non_loopback(connects) == []


async def test_redirect_to_another_port_of_an_allowed_host_is_refused(
    tmp_path: Path, connects: list[str], serve: Callable[[Handler], Awaitable[TestServer]]
) -> None:
    async def payload(request: web.Request) -> web.StreamResponse:
        return web.Response(body=MP4_HEAD)

    other = await serve(payload)

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{other.port}/v.mp4")

    first = await serve(redirect)
    with pytest.raises(UnsafeURL, match=f"127.0.0.1:{other.port}: a loopback address"):
        await _fetch(f"http://127.0.0.1:{first.port}/v.mp4", tmp_path, allow_hosts=_allow(first))


async def test_allowed_host_is_fetched_to_disk_with_size_and_type(
    tmp_path: Path, connects: list[str], serve: Callable[[Handler], Awaitable[TestServer]]
) -> None:
    async def payload(request: web.Request) -> web.StreamResponse:
        return web.Response(body=MP4_HEAD, content_type="video/mp4")

    server = await serve(payload)
    media = await fetch_media(
        f"http://127.0.0.1:{server.port}/v.mp4",
        tmp_path / "v.mp4",
        max_bytes=10_000,
        timeout=30,
        allow_hosts=_allow(server),
    )
    assert media.path.read_bytes() == MP4_HEAD
    assert media.size == len(MP4_HEAD)
    assert media.content_type == "video/mp4"
    assert _files(tmp_path) == ["v.mp4"]


async def test_allowed_redirects_are_followed_within_the_limit(
    tmp_path: Path, connects: list[str], serve: Callable[[Handler], Awaitable[TestServer]]
) -> None:
    async def hop(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["tail"] or 0)
        if n < 5:
            raise web.HTTPMovedPermanently(f"/{n + 1}")
        return web.Response(body=MP4_HEAD)

    server = await serve(hop)
    dest = await _fetch(f"http://127.0.0.1:{server.port}/0", tmp_path, allow_hosts=_allow(server))
    assert dest.read_bytes() == MP4_HEAD


async def test_redirect_loop_stops_after_five_hops(
    tmp_path: Path, connects: list[str], serve: Callable[[Handler], Awaitable[TestServer]]
) -> None:
    hits: list[str] = []

    async def loop(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        raise web.HTTPFound("/again")

    server = await serve(loop)
    with pytest.raises(MediaFetchError, match="more than 5 redirects"):
        await _fetch(f"http://127.0.0.1:{server.port}/v.mp4", tmp_path, allow_hosts=_allow(server))
    assert len(hits) == 6


@pytest.mark.parametrize("chunked", [False, True])
async def test_size_cap_stops_the_download_and_leaves_no_file(
    chunked: bool, tmp_path: Path, connects: list[str], serve: Callable[[Handler], Awaitable[TestServer]]
) -> None:
    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        if chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(MP4_HEAD) * 10
        await response.prepare(request)
        for _ in range(10):
            await response.write(MP4_HEAD)
        return response

    server = await serve(big)
    with pytest.raises(MediaFetchError, match="10000-byte limit"):
        await _fetch(f"http://127.0.0.1:{server.port}/v.mp4", tmp_path, allow_hosts=_allow(server), max_bytes=10_000)
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Google Drive</title></head><body>Download</body></html>",
        b"\n  <html lang=en><body>Dropbox</body></html>",
    ],
)
async def test_html_share_page_is_refused_with_a_hint(
    body: bytes, tmp_path: Path, connects: list[str], serve: Callable[[Handler], Awaitable[TestServer]]
) -> None:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="text/html")

    server = await serve(page)
    with pytest.raises(MediaFetchError, match=r"an HTML page.*direct download link"):
        await _fetch(f"http://127.0.0.1:{server.port}/v.mp4", tmp_path, allow_hosts=_allow(server))
    assert _files(tmp_path) == []


async def test_plain_text_is_refused_as_not_media(
    tmp_path: Path, connects: list[str], serve: Callable[[Handler], Awaitable[TestServer]]
) -> None:
    async def text(request: web.Request) -> web.StreamResponse:
        return web.Response(text="Access denied")

    server = await serve(text)
    with pytest.raises(MediaFetchError, match=r"not a video or image \(text/plain\)"):
        await _fetch(f"http://127.0.0.1:{server.port}/v.mp4", tmp_path, allow_hosts=_allow(server))


@pytest.mark.parametrize(
    ("status", "error"), [(404, MediaFetchError), (403, MediaFetchError), (503, MediaFetchUnavailable)]
)
async def test_http_errors_are_typed_by_whether_a_retry_can_help(
    status: int,
    error: type[Exception],
    tmp_path: Path,
    connects: list[str],
    serve: Callable[[Handler], Awaitable[TestServer]],
) -> None:
    async def fail(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status)

    server = await serve(fail)
    with pytest.raises(error, match=f"HTTP {status}"):
        await _fetch(f"http://127.0.0.1:{server.port}/v.mp4", tmp_path, allow_hosts=_allow(server))


async def test_proxy_environment_is_ignored(
    tmp_path: Path,
    connects: list[str],
    serve: Callable[[Handler], Awaitable[TestServer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://10.9.9.9:3128")

    async def payload(request: web.Request) -> web.StreamResponse:
        return web.Response(body=MP4_HEAD)

    server = await serve(payload)
    dest = await _fetch(f"http://127.0.0.1:{server.port}/v.mp4", tmp_path, allow_hosts=_allow(server))
    assert dest.read_bytes() == MP4_HEAD
    assert _non_loopback(connects) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/v.mp4", "/relative/v.mp4"])
async def test_non_http_urls_are_refused(url: str, tmp_path: Path, connects: list[str]) -> None:
    with pytest.raises(UnsafeURL):
        await _fetch(url, tmp_path)
    assert connects == []


async def test_connection_refused_is_transient(tmp_path: Path, connects: list[str]) -> None:
    with pytest.raises(MediaFetchUnavailable, match="cannot connect"):
        await _fetch("http://127.0.0.1:1/v.mp4", tmp_path, allow_hosts=["127.0.0.1:1"])


async def test_guarded_resolver_passes_public_answers_through() -> None:
    resolver = GuardedResolver(AllowList(), FakeResolver({"cdn.example.com": ["93.184.216.34"]}))
    answers = await resolver.resolve("cdn.example.com", 443)
    assert [a["host"] for a in answers] == ["93.184.216.34"]


async def test_allow_list_cidr_permits_a_resolved_private_address() -> None:
    inner = FakeResolver({"nas.lan": ["192.168.1.20"]})
    assert await GuardedResolver(AllowList.parse(["192.168.1.0/24"]), inner).resolve("nas.lan", 80)
    assert await GuardedResolver(AllowList.parse(["nas.lan"]), inner).resolve("nas.lan", 80)
    assert await GuardedResolver(AllowList.parse(["nas.lan:80"]), inner).resolve("nas.lan", 80)
    with pytest.raises(OSError, match="private"):
        await GuardedResolver(AllowList.parse(["nas.lan:8080"]), inner).resolve("nas.lan", 80)


def test_allow_list_reads_the_setting() -> None:
    settings = Settings.from_env({"CROSSPOST_ALLOW_HOSTS": "127.0.0.1:8080, media.lan,10.0.0.0/8,[::1]:9000"})
    allow = AllowList.from_settings(settings)
    assert allow.permits_address(ipaddress.ip_address("127.0.0.1"), 8080)
    assert not allow.permits_address(ipaddress.ip_address("127.0.0.1"), 8081)
    assert allow.permits_address(ipaddress.ip_address("10.1.2.3"), 1)
    assert allow.permits_address(ipaddress.ip_address("::1"), 9000)
    assert allow.permits_host("MEDIA.lan.", 443)


@pytest.mark.parametrize(
    "address",
    ["2002:a00:1::", "64:ff9b::a9fe:a9fe", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "fec0::1", "240.0.0.1"],
)
def test_addresses_embedding_or_reserving_local_space_are_forbidden(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [("2130706433", "127.0.0.1"), ("127.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("[::1]", "::1"), ("cafe.be", None)],
)
def test_literal_ip_reads_legacy_spellings(host: str, expected: str | None) -> None:
    found = literal_ip(host)
    assert (str(found) if found else None) == expected
