"""The reference PDS the real-PDS tests talk to, accounts made on it, and a proxy that loses answers.

``.ci/run`` starts the PDS (``.ci/pds/serve.sh``) and exports ``CROSSPOST_TEST_PDS``; without
it these tests skip with the command that runs them. Everything stays on loopback.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import attrs
import pytest
from aiohttp import web

from crosspost.plugins.bluesky.session import is_loopback_host

HOW_TO_RUN = ('the real-PDS tests need the reference PDS: run `eval "$(.ci/pds/serve.sh)"` (installs Node 22 and '
              "@atproto/pds from the npm registry into ~/.cache/crosspost-pds, starts it on 127.0.0.1 and exports "
              "CROSSPOST_TEST_PDS), then run pytest again")


def pds_url() -> str:
    """The PDS URL from ``CROSSPOST_TEST_PDS`` (loopback only), or skip saying how to start one."""
    url = os.environ.get("CROSSPOST_TEST_PDS", "").rstrip("/")
    if not url:
        pytest.skip(HOW_TO_RUN)
    host = urlsplit(url).hostname or ""
    if not is_loopback_host(host):
        pytest.fail(f"CROSSPOST_TEST_PDS={url} is not on loopback; the real-PDS tests only talk to this machine")
    return url


@attrs.frozen(kw_only=True)
class PdsAccount:
    did: str
    handle: str
    app_password: str = attrs.field(repr=False)


async def xrpc(http: aiohttp.ClientSession, url: str, method: str, nsid: str, *, token: str | None = None,
               **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, f"{url}/xrpc/{nsid}", headers=headers, **kw) as response:
        body = await response.json(content_type=None)
        assert response.status == 200, f"{nsid}: {response.status} {body}"
        return body


async def new_account(http: aiohttp.ClientSession, url: str) -> PdsAccount:
    """A fresh account (invites are off) and an app password for it, as a user would make."""
    handle = f"cp{secrets.token_hex(4)}.test"
    password = secrets.token_urlsafe(12)
    created = await xrpc(http, url, "POST", "com.atproto.server.createAccount",
                         json={"handle": handle, "email": f"{handle}@example.com", "password": password})
    app = await xrpc(http, url, "POST", "com.atproto.server.createAppPassword", token=created["accessJwt"],
                     json={"name": "crosspost-tests"})
    return PdsAccount(did=created["did"], handle=created["handle"], app_password=app["password"])


async def get_record(http: aiohttp.ClientSession, url: str, uri: str) -> dict[str, Any]:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    return await xrpc(http, url, "GET", "com.atproto.repo.getRecord",  # type: ignore[no-any-return]
                      params={"repo": did, "collection": collection, "rkey": rkey})


async def list_posts(http: aiohttp.ClientSession, url: str, did: str) -> list[dict[str, Any]]:
    body = await xrpc(http, url, "GET", "com.atproto.repo.listRecords",
                      params={"repo": did, "collection": "app.bsky.feed.post", "limit": "100"})
    return list(body["records"])


@attrs.define
class LosingProxy:
    """Forwards every request to the PDS; for the next ``lose`` calls to ``nsid`` it lets the PDS
    commit, then drops the connection before the answer reaches the client."""

    target: str
    url: str = ""
    lose: dict[str, int] = attrs.field(factory=dict)
    lost: list[str] = attrs.field(factory=list)


@asynccontextmanager
async def losing_proxy(target: str) -> AsyncIterator[LosingProxy]:
    proxy = LosingProxy(target=target)
    async with aiohttp.ClientSession(auto_decompress=False) as upstream:

        async def forward(request: web.Request) -> web.StreamResponse:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            body = await request.read()
            async with upstream.request(request.method, proxy.target + request.path_qs, headers=headers,
                                        data=body or None) as answer:
                payload = await answer.read()
                kept = {k: v for k, v in answer.headers.items()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection")}
                status = answer.status
            nsid = request.path.removeprefix("/xrpc/")
            if proxy.lose.get(nsid, 0) > 0:
                proxy.lose[nsid] -= 1
                proxy.lost.append(f"{nsid} -> {status}")
                if request.transport is not None:
                    request.transport.close()
                raise web.HTTPServiceUnavailable()
            return web.Response(status=status, body=payload, headers=kept)

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            yield proxy
        finally:
            await runner.cleanup()
