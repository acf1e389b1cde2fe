"""SSRF-safe downloads of remote media: a URL from a stranger must not reach our own network.

What a caller may rely on when :func:`fetch_media` / :meth:`SafeFetcher.fetch` returns:

- Every address connected to was checked *after* DNS resolution, in a custom aiohttp resolver,
  so the connection uses exactly the checked address (no DNS-rebinding window). Literal IPs,
  which aiohttp never resolves (``[::1]``, ``[::ffff:127.0.0.1]``, ``2130706433``, ``127.1``,
  ``0x7f.1``), are checked before the request. Loopback, private, link-local (cloud metadata at
  169.254.169.254), CGNAT, multicast, reserved, unspecified and site-local addresses are refused,
  including IPv4 addresses embedded in IPv6 (mapped, 6to4, NAT64, Teredo).
- Redirects are followed by hand (at most ``max_redirects``), each hop checked the same way.
- Proxies from the environment (``HTTP_PROXY``) are ignored: a proxy would do the resolving.
- The body is streamed to disk under a size cap and a total time limit, and refused unless its
  first bytes are a video or an image (a Google Drive / Dropbox share page is HTML).
- Errors name the URL's host (never its path or query, which may carry tokens) and the reason.

``CROSSPOST_ALLOW_HOSTS`` (comma list of ``host``, ``host:port``, IP or CIDR) permits local
addresses for tests and self-hosted setups; an entry with a port permits that port only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import aiohttp
import attrs
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from crosspost.core.errors import PermanentError, Problem, TransientError
from crosspost.core.models import Post
from crosspost.core.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_HOSTS_ENV = "CROSSPOST_ALLOW_HOSTS"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SNIFF_BYTES = 4096
_CHUNK = 256 * 1024
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


class UnsafeURL(PermanentError):
    """The URL points at an address crosspost refuses to fetch from (or is not http/https)."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(
            f"refused to fetch media from {host}: {reason}.",
            code="unsafe_url",
            hint=f"Use a public URL, or add the host to {ALLOW_HOSTS_ENV} if it is yours.",
        )


class MediaFetchError(PermanentError):
    """The server answered, but not with media crosspost can use (4xx, too big, HTML, loops)."""

    def __init__(self, host: str, reason: str, *, hint: str = "") -> None:
        self.host = host
        super().__init__(f"could not fetch media from {host}: {reason}.", code="media_fetch_failed", hint=hint)


class MediaFetchUnavailable(TransientError):
    """Fetching failed in a way a later try can fix (timeout, connection refused, 5xx, 429)."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        super().__init__(f"could not fetch media from {host}: {reason}.", code="media_fetch_unavailable")


@attrs.frozen(kw_only=True)
class FetchedMedia:
    """A downloaded file: where it is, how many bytes, and the server's Content-Type."""

    path: Path
    size: int
    content_type: str | None


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched from, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return f"{reason} (IPv4 {embedded} inside IPv6)" if reason else None
        if address in _SITE_LOCAL:
            return "a site-local address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (e.g. cloud metadata)"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a carrier-grade NAT address"),
        (address.is_private, "a private-network address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_ip(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one in any notation a resolver would accept.

    Besides canonical forms this catches the legacy IPv4 spellings ``inet_aton`` accepts
    (``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``), which would otherwise reach the
    system resolver as "names".
    """
    host = host.strip("[]").rstrip(".")
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host.split("%", 1)[0])
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host) and re.search(r"\d", host):
        with contextlib.suppress(OSError):
            return ipaddress.IPv4Address(socket.inet_aton(host))
    return None


@attrs.frozen
class AllowList:
    """Hosts and networks permitted even though they are local (``CROSSPOST_ALLOW_HOSTS``)."""

    hosts: frozenset[tuple[str, int | None]] = frozenset()
    networks: tuple[tuple[IPNetwork, int | None], ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """From ``host``, ``host:port``, ``[v6]:port``, an IP or a CIDR (any port unless given)."""
        hosts: set[tuple[str, int | None]] = set()
        networks: list[tuple[IPNetwork, int | None]] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            name, port = _split_port(entry)
            try:
                networks.append((ipaddress.ip_network(name.strip("[]"), strict=False), port))
            except ValueError:
                hosts.add((name.lower().rstrip("."), port))
        return cls(frozenset(hosts), tuple(networks))

    @classmethod
    def from_settings(cls, settings: Settings) -> AllowList:
        return cls.parse(settings.env.get(ALLOW_HOSTS_ENV, "").split(","))

    def permits_host(self, host: str, port: int) -> bool:
        name = host.lower().rstrip(".")
        return (name, port) in self.hosts or (name, None) in self.hosts

    def permits_address(self, address: IPAddress, port: int) -> bool:
        return any(address in net and p in (None, port) for net, p in self.networks)


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port)
    return entry, None


class _AddressRefused(OSError):
    """Raised inside the resolver; aiohttp wraps OSErrors, and we unwrap this one."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class GuardedResolver(AbstractResolver):
    """Wraps a real resolver and refuses names that resolve to any forbidden address."""

    def __init__(self, allow: AllowList, inner: AbstractResolver | None = None) -> None:
        self._allow = allow
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow.permits_host(host, port):
            return results
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            reason = forbidden_reason(address)
            if reason and not self._allow.permits_address(address, port):
                raise _AddressRefused(host, f"it resolves to {address}, {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_url(url: URL, allow: AllowList) -> None:
    """Refuse a URL before any connection: wrong scheme, no host, or a forbidden literal IP."""
    host = url.raw_host or ""
    shown = _shown(url)
    if url.scheme not in ("http", "https"):
        raise UnsafeURL(shown, f"only http and https URLs are fetched, not {url.scheme or 'a relative URL'!r}")
    if not host:
        raise UnsafeURL(shown, "the URL has no host")
    port = url.port or 0
    if allow.permits_host(host, port):
        return
    address = literal_ip(host)
    if address is None:
        return
    reason = forbidden_reason(address)
    if reason and not allow.permits_address(address, port):
        raise UnsafeURL(shown, reason)
    if str(address) != host.strip("[]").split("%", 1)[0]:
        # Legacy numeric spellings are refused even when public: they exist to dodge filters.
        raise UnsafeURL(shown, f"the host is an unusual spelling of {address}; write the address plainly")


def media_url_problems(post: Post, allow: AllowList) -> list[Problem]:
    """Every media URL of ``post`` that :func:`check_url` (plus the ``localhost`` names) refuses,
    as problems at their JSON paths, for validation: refused before the post is stored or any
    byte is sent, not at upload time. A name that only *resolves* to a private address is caught
    when fetched (the resolver checks every answer); validation does no DNS."""
    problems: list[Problem] = []
    for index, item in enumerate(post.media):
        if item.url is None:
            continue
        field = f"media[{index}].url"
        try:
            url = URL(item.url)
            check_url(url, allow)
            _check_local_name(url, allow)
        except UnsafeURL as exc:
            problems.append(Problem(field=field, message=(
                f"{exc.reason}; for a file on this machine give 'path' instead, or, if the host is yours, "
                f"list it in {ALLOW_HOSTS_ENV} (e.g. {ALLOW_HOSTS_ENV}=127.0.0.1:8080)")))
        except ValueError as exc:
            problems.append(Problem(field=field, message=f"not a valid URL ({exc})"))
    return problems


def _check_local_name(url: URL, allow: AllowList) -> None:
    host = (url.raw_host or "").lower().rstrip(".")
    if (host == "localhost" or host.endswith(".localhost")) and not allow.permits_host(host, url.port or 0):
        raise UnsafeURL(_shown(url), "localhost is this machine (a loopback address)")


def _shown(url: URL) -> str:
    """The part of a URL that may appear in messages: host and explicit port, never path/query."""
    host = url.raw_host or "?"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{url.explicit_port}" if url.explicit_port else host


class SafeFetcher:
    """A reusable guarded HTTP client for media downloads. Use ``async with`` or ``close()``."""

    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float,
        allow_hosts: Iterable[str] | AllowList = (),
        max_redirects: int = 5,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.allow = allow_hosts if isinstance(allow_hosts, AllowList) else AllowList.parse(allow_hosts)
        self._resolver = GuardedResolver(self.allow, resolver)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, max_bytes: int, timeout: float, **kw: Any) -> SafeFetcher:
        """A fetcher whose allow-list is ``CROSSPOST_ALLOW_HOSTS``."""
        return cls(max_bytes=max_bytes, timeout=timeout, allow_hosts=AllowList.from_settings(settings), **kw)

    async def __aenter__(self) -> SafeFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=self._resolver, use_dns_cache=False)
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def fetch(self, url: str | URL, dest_path: str | os.PathLike[str]) -> FetchedMedia:
        """Download ``url`` to ``dest_path`` (replaced atomically; nothing is left on failure)."""
        current = URL(url) if isinstance(url, str) else url
        dest = Path(dest_path)
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(current, dest)
        except TimeoutError:
            raise MediaFetchUnavailable(_shown(current), f"no complete answer within {self.timeout:g} s") from None

    async def _follow(self, url: URL, dest: Path) -> FetchedMedia:
        for _hop in range(self.max_redirects + 1):
            check_url(url, self.allow)
            try:
                async with self._http().get(
                    url,
                    allow_redirects=False,
                    headers={"Accept": "video/*, image/*", "Accept-Encoding": "identity"},
                ) as resp:
                    if resp.status in REDIRECTS and "Location" in resp.headers:
                        url = url.join(URL(resp.headers["Location"]))
                        continue
                    _check_status(resp, url)
                    return await self._save(resp, url, dest)
            except _AddressRefused as exc:  # pragma: no cover - aiohttp normally wraps it
                raise UnsafeURL(_shown(url), exc.reason) from None
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, _AddressRefused):
                    raise UnsafeURL(_shown(url), exc.os_error.reason) from None
                raise MediaFetchUnavailable(
                    _shown(url), f"cannot connect ({exc.os_error.strerror or 'refused'})"
                ) from None
            except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                raise MediaFetchUnavailable(_shown(url), "the connection broke during the download") from None
            except aiohttp.InvalidURL:
                raise UnsafeURL(_shown(url), "the URL is not valid") from None
        raise MediaFetchError(_shown(url), f"more than {self.max_redirects} redirects")

    async def _save(self, resp: aiohttp.ClientResponse, url: URL, dest: Path) -> FetchedMedia:
        shown = _shown(url)
        if resp.content_length is not None and resp.content_length > self.max_bytes:
            raise MediaFetchError(
                shown, f"the file is {resp.content_length} bytes, over the {self.max_bytes}-byte limit"
            )
        part = dest.with_name(dest.name + ".part")
        size = 0
        head = b""
        handle: IO[bytes] = await asyncio.to_thread(part.open, "wb")
        try:
            async for chunk in resp.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise MediaFetchError(shown, f"the file is larger than the {self.max_bytes}-byte limit")
                if len(head) < _SNIFF_BYTES:
                    head += chunk[: _SNIFF_BYTES - len(head)]
                    if len(head) >= _SNIFF_BYTES:
                        _check_media(head, shown, resp.content_type)
                await asyncio.to_thread(handle.write, chunk)
            if len(head) < _SNIFF_BYTES:
                _check_media(head, shown, resp.content_type)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, part, dest)
        except BaseException:
            handle.close()
            part.unlink(missing_ok=True)
            raise
        return FetchedMedia(path=dest, size=size, content_type=resp.headers.get("Content-Type"))


def _check_status(resp: aiohttp.ClientResponse, url: URL) -> None:
    if resp.status == 200:
        return
    if resp.status == 429 or resp.status >= 500:
        raise MediaFetchUnavailable(_shown(url), f"the server answered HTTP {resp.status}")
    hint = "Check that the link is public and points at the file itself." if resp.status in (401, 403, 404) else ""
    raise MediaFetchError(_shown(url), f"the server answered HTTP {resp.status}", hint=hint)


def _check_media(head: bytes, shown: str, content_type: str) -> None:
    """Refuse bytes that are not a video or an image (an HTML share page, a text error)."""
    from crosspost.core.media.sniff import MediaFormat, sniff

    fmt = sniff(head)
    if fmt.kind is not None:
        return
    what = "an HTML page" if fmt is MediaFormat.HTML else f"not a video or image ({content_type or 'unknown type'})"
    raise MediaFetchError(
        shown,
        f"the URL returned {what}",
        hint="Share links (Google Drive, Dropbox) point at a web page; use the direct download link.",
    )


async def fetch_media(
    url: str | URL,
    dest_path: str | os.PathLike[str],
    *,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109 - one deadline over every redirect hop, applied inside
    allow_hosts: Iterable[str] | AllowList = (),
    resolver: AbstractResolver | None = None,
) -> FetchedMedia:
    """One guarded download (see :class:`SafeFetcher` to reuse connections across many)."""
    async with SafeFetcher(max_bytes=max_bytes, timeout=timeout, allow_hosts=allow_hosts, resolver=resolver) as f:
        return await f.fetch(url, dest_path)
