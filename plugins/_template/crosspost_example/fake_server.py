"""A small, faithful fake of the Example API on loopback, for tests and for trying the plugin.

``FakeExampleAPI`` holds the server's state (media, posts, idempotency keys, a request log) and
a :class:`~crosspost.testing.faults.FaultPlan` for scripted failures; ``ExampleFakeServer`` serves
it on a free port. The fake enforces what the real API would (bearer token, Content-Length on
uploads, size limit, idempotency keys), so the plugin's tests exercise the real rules.

Try the plugin by hand::

    python -m crosspost_example.fake_server --port 8765 --token T
    CROSSPOST_EXAMPLE_URL=http://127.0.0.1:8765 crosspost post request.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web
from crosspost.testing.faults import FaultPlan

from crosspost_example import sansio


@attrs.define(kw_only=True)
class StoredMedia:
    id: str
    kind: str
    size: int
    sha256: str


@attrs.define(kw_only=True)
class StoredPost:
    id: str
    text: str
    media: list[str]
    visibility: str
    tags: list[str]
    state: str = "processing"
    polls: int = 0
    error: dict[str, str] | None = None


def _error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


class FakeExampleAPI:
    """The Example API's state and routes. Every argument is also an attribute tests may change."""

    def __init__(self, *, tokens: Iterable[str] | None = None, polls_until_done: int = 1,
                 max_upload_bytes: int = sansio.DEFAULT_MAX_UPLOAD_BYTES) -> None:
        self.tokens = set(tokens) if tokens is not None else None
        """Accepted bearer tokens; None accepts any non-empty token."""
        self.polls_until_done = polls_until_done
        """Status checks a post answers ``processing`` to before it is final."""
        self.max_upload_bytes = max_upload_bytes
        self.fail_processing: tuple[str, str] | None = None
        """(code, message): posts created from now on end ``failed`` with this error."""
        self.media: dict[str, StoredMedia] = {}
        self.posts: dict[str, StoredPost] = {}
        self.idempotency: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every request that reached a handler."""
        self.upload_headers: list[dict[str, str]] = []
        """Headers of every upload, minus Authorization."""
        self.faults = FaultPlan()
        self._ids = itertools.count(1)

    def posts_created(self) -> int:
        """Posts that exist in any state; two for one job would be a double post."""
        return len(self.posts)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.faults.middleware(), self._authenticate],
                              client_max_size=self.max_upload_bytes + 1)
        app.add_routes([web.post("/v1/media", self._upload), web.post("/v1/posts", self._create),
                        web.get("/v1/posts/{id}", self._status), web.delete("/v1/posts/{id}", self._delete),
                        web.get("/v1/me", self._me)])
        return app

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token or (self.tokens is not None and token not in self.tokens):
            return _error(401, "invalid_token", "the access token is missing, invalid or expired")
        response: web.StreamResponse = await handler(request)
        return response

    async def _upload(self, request: web.Request) -> web.Response:
        kind = request.query.get("kind")
        if kind not in ("video", "image"):
            return _error(400, "bad_kind", "kind must be video or image", "kind")
        self.upload_headers.append({k: v for k, v in request.headers.items() if k != "Authorization"})
        if request.content_length is None or "chunked" in request.headers.get("Transfer-Encoding", ""):
            return _error(411, "length_required", "send Content-Length; chunked uploads are refused")
        if request.content_length > self.max_upload_bytes:
            return _error(413, "too_large", f"at most {self.max_upload_bytes} bytes")
        digest, size = hashlib.sha256(), 0
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            size += len(chunk)
        media = StoredMedia(id=f"med_{next(self._ids)}", kind=kind, size=size, sha256=digest.hexdigest())
        self.media[media.id] = media
        return web.json_response({"id": media.id, "size": size}, status=201)

    async def _create(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotency:
            post = self.posts[self.idempotency[key]]
            return web.json_response({"id": post.id, "state": post.state}, status=200)
        body = await request.json()
        problem = self._create_problem(body)
        if problem is not None:
            return problem
        post = StoredPost(id=f"pst_{next(self._ids)}", text=body.get("text", ""), media=list(body.get("media", [])),
                          visibility=body.get("visibility", "public"), tags=list(body.get("tags", [])))
        if self.fail_processing is not None:
            post.error = {"code": self.fail_processing[0], "message": self.fail_processing[1]}
        self.posts[post.id] = post
        if key:
            self.idempotency[key] = post.id
        return web.json_response({"id": post.id, "state": post.state}, status=202)

    def _create_problem(self, body: Any) -> web.Response | None:
        if not isinstance(body, dict):
            return _error(400, "bad_body", "expected a JSON object")
        if len(body.get("text", "")) > 500:
            return _error(422, "text_too_long", "text is longer than 500 characters", "text")
        for i, media_id in enumerate(body.get("media", [])):
            if media_id not in self.media:
                return _error(422, "unknown_media", f"no media {media_id!r}", f"media[{i}]")
        if body.get("visibility", "public") not in sansio.VISIBILITIES:
            return _error(422, "bad_visibility", "unknown visibility", "visibility")
        return None

    async def _me(self, request: web.Request) -> web.Response:
        """The token's account: a stable id derived from the token, and a username."""
        token = request.headers["Authorization"].partition(" ")[2]
        return web.json_response({"id": "acct-" + hashlib.sha256(token.encode()).hexdigest()[:12],
                                  "username": "example.user"})

    async def _status(self, request: web.Request) -> web.Response:
        post = self.posts.get(request.match_info["id"])
        if post is None:
            return _error(404, "not_found", "no such post")
        if post.state == "processing":
            post.polls += 1
            if post.polls > self.polls_until_done:
                post.state = "failed" if post.error else "published"
        body: dict[str, Any] = {"id": post.id, "state": post.state}
        if post.state == "published":
            body["url"] = f"{request.url.origin()}/p/{post.id}"
        if post.state == "failed" and post.error:
            body["error"] = post.error
        return web.json_response(body)

    async def _delete(self, request: web.Request) -> web.Response:
        post = self.posts.get(request.match_info["id"])
        if post is None:
            return _error(404, "not_found", "no such post")
        if post.state != "processing":
            return _error(409, "not_processing", f"the post is {post.state}")
        post.state = "cancelled"
        return web.Response(status=204)


class ExampleFakeServer:
    """Serves a :class:`FakeExampleAPI` on 127.0.0.1 (a free port unless one is given)."""

    def __init__(self, api: FakeExampleAPI | None = None, *, port: int = 0) -> None:
        self.api = api or FakeExampleAPI()
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def faults(self) -> FaultPlan:
        return self.api.faults

    def posts_created(self) -> int:
        return self.api.posts_created()

    async def __aenter__(self) -> ExampleFakeServer:
        self._runner = web.AppRunner(self.api.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def _serve(port: int, tokens: list[str] | None) -> None:
    async with ExampleFakeServer(FakeExampleAPI(tokens=tokens), port=port) as server:
        print(f"Fake Example API at {server.base_url} (Ctrl-C stops it)", flush=True)
        await asyncio.Event().wait()


def wait_for(port: int, *, seconds: float = 30.0) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` within ``seconds`` (so a
    script can start the server in the background and go on once it is up)."""
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        time.sleep(0.1)
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Example API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", action="append", help="accepted bearer token (default: any)")
    parser.add_argument("--wait-for", type=int, metavar="PORT",
                        help="do not serve: return once a server answers on PORT (exit 1 after 30 s)")
    args = parser.parse_args(argv)
    if args.wait_for is not None:
        raise SystemExit(0 if wait_for(args.wait_for) else 1)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
