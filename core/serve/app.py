"""The aiohttp application: every dialect's routes, wrapped with auth, limits, JSON and idempotency.

Order of work for one request: authenticate (401 in the dialect's shape), read the body within
``max_body`` (413), parse JSON (400 ``MALFORMED_JSON`` naming ``body``), take the idempotency key
(replay / 422 / 409 + ``Retry-After``), run the handler, render errors in the dialect's shape. A
refused request stores nothing: its idempotency claim is dropped again, and handlers validate
before they write.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from aiohttp import web

from crosspost.core.errors import Problem
from crosspost.core.serve import keys, media
from crosspost.core.serve.api import Api, Ctx, Dialect, Reply, Route
from crosspost.core.serve.errors import ApiError, from_exception, invalid, not_found
from crosspost.core.serve.openapi import document
from crosspost.storage.serve_tables import ApiKeyRow

log = logging.getLogger("crosspost.serve")
UI_PATH = "/ui"
"""Where a dashboard sub-application is mounted, behind the same API keys (see :func:`make_app`)."""
API_KEY = web.AppKey("crosspost_serve_api", Api)
DIALECTS: web.AppKey[Mapping[str, Dialect]] = web.AppKey("crosspost_serve_dialects")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def respond(reply: Reply) -> web.StreamResponse:
    if reply.body is None:
        return web.Response(status=reply.status, headers=dict(reply.headers))
    return web.json_response(reply.body, status=reply.status, headers=dict(reply.headers), dumps=_dumps)


def error_response(dialect: Dialect, error: ApiError) -> web.StreamResponse:
    return respond(Reply(status=error.status, body=dialect.error_body(error), headers=error.headers))


async def authenticate(api: Api, dialect: Dialect, request: web.Request) -> ApiKeyRow:
    """The API key the request carries (``Authorization: Bearer``; PostPost's ``x-api-key`` too)."""
    relay = dialect.name in ("native", "relay")
    token = ""
    for header in dialect.key_headers:
        value = request.headers.get(header, "").strip()
        if value:
            token = value[7:].strip() if header == "authorization" and value.lower().startswith("bearer ") else value
            break
    wanted = " or ".join("x-api-key: <key>" if h == "x-api-key" else "Authorization: Bearer <key>"
                         for h in dialect.key_headers)
    if not token:
        raise ApiError(status=401, code="UNAUTHORIZED" if relay else "AUTH_MISSING_KEY",
                       message=f"missing API key: send {wanted} (`crosspost api-keys create NAME` makes one)")
    row = await api.store.find_api_key(keys.digest(token))
    if row is None:
        raise ApiError(status=401, code="UNAUTHORIZED" if relay else "AUTH_INVALID_KEY",
                       message="invalid or revoked API key")
    return row


async def _body(request: web.Request) -> tuple[bytes, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(status=413, code="PAYLOAD_TOO_LARGE",
                       message=f"the body is above the {request.app[API_KEY].config.max_body}-byte limit") from None
    if not raw.strip():
        return raw, None
    try:
        return raw, json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(status=400, code="MALFORMED_JSON", message=f"the body is not valid JSON: {exc}",
                       problems=(Problem(field="body", message="expected a JSON object"),)) from None


def _idempotency_key(request: web.Request, dialect: Dialect, route: Route) -> tuple[str | None, str]:
    key = request.headers.get("Idempotency-Key")
    if key:
        return key, "idempotency-key"
    if route.creates and dialect.name in ("zernio", "late"):
        return request.headers.get("x-request-id") or None, "x-request-id"
    return None, ""


def handler_for(api: Api, dialect: Dialect, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        api.posts.own_hosts.add(request.host)
        try:
            key = None if route.public else await authenticate(api, dialect, request)
            raw, body = (b"", None) if route.raw_body else await _body(request)
            ctx = Ctx(request=request, api=api, dialect=dialect, key=key, body=body)
            if route.mutating and key is not None:
                return await _idempotent(ctx, route, raw)
            return respond(await route.handler(ctx))
        except Exception as exc:
            error = from_exception(exc)
            if error.status >= 500:
                log.exception("%s %s failed", request.method, request.path)
            return error_response(dialect, error)

    return handle


async def _idempotent(ctx: Ctx, route: Route, raw: bytes) -> web.StreamResponse:
    key, source = _idempotency_key(ctx.request, ctx.dialect, route)
    if key is None:
        return respond(await route.handler(ctx))
    if len(key) > 255:
        raise invalid([Problem(field="Idempotency-Key", message="at most 255 characters")])
    assert ctx.key is not None
    store = ctx.api.store
    scope = f"{ctx.key.id}:{ctx.dialect.name}:{ctx.request.method}:{ctx.request.path}"
    fingerprint = hashlib.sha256(raw).hexdigest()
    now = ctx.now
    state, row = await store.claim_idempotency(scope, key, fingerprint, now=now,
                                               until=now + timedelta(seconds=ctx.api.config.idempotency_hold))
    ctx.idempotency_key = key
    if state == "replay" and row is not None:
        if source == "x-request-id" and hasattr(ctx.dialect, "replayed"):
            return respond(await ctx.dialect.replayed(ctx, ctx.new_post_id()))
        headers = {**row.headers, "Idempotent-Replayed": "true"}
        return web.Response(status=row.status or 200, text=row.body or "", content_type="application/json",
                            headers=headers)
    if state == "mismatch":
        raise ApiError(status=422, code="IDEMPOTENCY_KEY_REUSED",
                       message=f"this {source} was used with another request body; use a new key for a new request",
                       problems=(Problem(field=source, message="already used with another body"),))
    if state == "running":
        raise ApiError(status=409, code="IDEMPOTENCY_IN_PROGRESS",
                       message=f"a request with this {source} is still running; retry after a second",
                       headers={"Retry-After": "1"})
    try:
        reply = await route.handler(ctx)
    except BaseException:
        await store.forget_idempotency(scope, key)
        raise
    if 200 <= reply.status < 300:
        await store.complete_idempotency(scope, key, status=reply.status,
                                         body="" if reply.body is None else _dumps(reply.body),
                                         headers={k: v for k, v in reply.headers.items() if k.lower() != "location"})
    else:
        await store.forget_idempotency(scope, key)
    return respond(reply)


def _dialect_for(path: str, dialects: Mapping[str, Dialect]) -> Dialect:
    best = dialects["native"]
    for dialect in dialects.values():
        if path.startswith(dialect.base.rsplit("/v1", 1)[0] + "/") and len(dialect.base) > len(best.base):
            best = dialect
    return best


@web.middleware
async def dialect_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
    """404/405 for unknown paths, in the shape of the dialect the path is under."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status not in (404, 405):
            raise
        dialect = _dialect_for(request.path, request.app[DIALECTS])
        code = "NOT_FOUND" if exc.status == 404 else "METHOD_NOT_ALLOWED"
        return error_response(dialect, ApiError(status=exc.status, code=code,
                                                message=f"no route {request.method} {request.path}"))


def make_app(api: Api, dialects: Mapping[str, Dialect], *, ui: web.Application | None = None) -> web.Application:
    """Every dialect under its base path, media, health and OpenAPI documents.

    ``ui``: the dashboard sub-application, mounted at :data:`UI_PATH`. It checks the same API keys
    itself (``Authorization: Bearer`` or its login form's session cookie), see :func:`dashboard`."""
    app = web.Application(client_max_size=api.config.max_body, middlewares=[dialect_errors])
    app[API_KEY] = api
    app[DIALECTS] = dict(dialects)
    for dialect in dialects.values():
        for route in dialect.routes():
            app.router.add_route(route.method, dialect.base + route.path, handler_for(api, dialect, route),
                                 name=f"{dialect.name}.{route.operation_id}")
        doc_path = "/openapi.json" if dialect.name == "native" else f"/{dialect.name}/openapi.json"
        app.router.add_get(doc_path, _openapi(dialect), name=f"{dialect.name}.openapi")
    native = dialects["native"]
    app.router.add_route("PUT", "/media/upload/{media_id}", handler_for(api, native, Route(
        method="PUT", path="/media/upload/{media_id}", handler=_put_media, operation_id="putMedia",
        summary="The presigned upload", raw_body=True, public=True)), name="media.put")
    app.router.add_get("/media/files/{media_id}/{filename}", _file_handler(api, native), name="media.file")
    app.router.add_get("/healthz", _healthz, name="healthz")
    app.router.add_get("/readyz", _readyz, name="readyz")
    if ui is not None:
        app.add_subapp(UI_PATH, ui)
    return app


async def _put_media(ctx: Ctx) -> Reply:
    stored = await media.receive_put(ctx)
    return Reply(status=200, body={"id": stored.id, "url": stored.url, "size": stored.size})


def _file_handler(api: Api, dialect: Dialect) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve_file(request: web.Request) -> web.StreamResponse:
        ctx = Ctx(request=request, api=api, dialect=dialect, key=None)
        try:
            return web.FileResponse(media.stored_file(ctx))
        except ApiError as exc:
            return error_response(dialect, exc)

    return serve_file


def _openapi(dialect: Dialect) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve_doc(request: web.Request) -> web.StreamResponse:
        return web.json_response(document(dialect))

    return serve_doc


async def _healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.StreamResponse:
    """Ready when the database answers and its schema is current."""
    api = request.app[API_KEY]
    try:
        pending = await api.hub.storage.pending_migrations()
    except Exception as exc:
        return web.json_response({"status": "unavailable", "reason": type(exc).__name__}, status=503)
    if pending:
        return web.json_response({"status": "unavailable", "reason": "schema out of date; run `crosspost migrate`",
                                  "pending": pending}, status=503)
    return web.json_response({"status": "ready", "storage": api.hub.storage.backend})


def dashboard(api: Api) -> web.Application:
    """The dashboard (``crosspost.core.dashboard``) signing in with this server's API keys."""
    from crosspost.core.dashboard.app import make_dashboard_app

    async def check_key(key: str) -> bool:
        return await api.store.find_api_key(keys.digest(key)) is not None

    return make_dashboard_app(api.hub, check_key=check_key)


__all__ = ["UI_PATH", "dashboard", "make_app", "not_found"]
