"""``make_app``: TikTok's open API paths on one aiohttp application, plus the admin routes.

One middleware wraps every TikTok route. It applies scripted faults (before the handler, or
after it for ``drop_after``), turns :class:`ApiError` / :class:`OAuthError` into TikTok's
bodies, and appends a :class:`RequestRecord` (path without query, token fingerprint, status)
to ``state.requests``. Admin routes (``/_emulator/``) bypass all of it.

On startup the app opens one ``aiohttp.ClientSession`` for PULL_FROM_URL downloads and webhook
deliveries (``trust_env=False``: never through a proxy) and installs its webhook sender as
``state.event_sink``; on cleanup it cancels background work and closes the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from . import analytics, oauth, posting, upload
from .access import SESSION, STATE, bearer
from .admin import add_admin_routes
from .envelope import ApiError, OAuthError, api_error_response, oauth_error_response
from .faults import FaultRule
from .identifiers import token_fingerprint
from .media_host import add_media_routes
from .records import RequestRecord
from .state import EmulatorState
from .webhooks import WebhookSender

_log = logging.getLogger(__name__)
_OAUTH_ROUTES = frozenset({"token", "revoke", "authorize"})
_PULL_TIMEOUT = aiohttp.ClientTimeout(total=3600, sock_connect=30)
"""TikTok gives a PULL_FROM_URL download one hour."""


def make_app(state: EmulatorState) -> web.Application:
    """The emulator as an aiohttp application serving ``state`` (run it with :class:`EmulatorServer`)."""
    app = web.Application(middlewares=[_tiktok_middleware])
    app[STATE] = state
    router = app.router
    router.add_post("/v2/post/publish/creator_info/query/", posting.creator_info, name="creator_info")
    router.add_post("/v2/post/publish/video/init/", posting.video_init, name="video_init")
    router.add_post("/v2/post/publish/inbox/video/init/", posting.inbox_init, name="inbox_init")
    router.add_post("/v2/post/publish/content/init/", posting.content_init, name="content_init")
    router.add_post("/v2/post/publish/status/fetch/", posting.status_fetch, name="status")
    router.add_post("/v2/post/publish/cancel/", posting.cancel, name="cancel")
    router.add_put("/upload/", upload.upload_put, name="upload_put")
    router.add_put("/upload", upload.upload_put, name="upload_put_noslash")
    router.add_get("/v2/auth/authorize/", oauth.authorize_page, name="authorize")
    router.add_post("/v2/oauth/token/", oauth.token, name="token")
    router.add_post("/v2/oauth/revoke/", oauth.revoke, name="revoke")
    router.add_get("/v2/user/info/", oauth.user_info, name="user_info")
    analytics.add_routes(router)
    add_admin_routes(app)
    add_media_routes(app)
    app.cleanup_ctx.append(_outbound_session)
    return app


async def _outbound_session(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    async with aiohttp.ClientSession(trust_env=False, timeout=_PULL_TIMEOUT) as session:
        app[SESSION] = session
        state.event_sink = WebhookSender(state, session).submit
        yield
        state.event_sink = None
        state.cancel_background()
        await state.drain()


def _route_name(request: web.Request) -> str:
    name = request.match_info.route.name or "unknown"
    return "upload_put" if name == "upload_put_noslash" else name


@web.middleware
async def _tiktok_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = _route_name(request)
    if route.startswith("admin:"):
        return await handler(request)
    state: EmulatorState = request.app[STATE]
    started = state.now()
    fault = state.faults.match(route) if route != "unknown" else None
    handled = False
    response: web.StreamResponse | None = None
    try:
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.kind == "status":
            if route == "upload_put":
                await upload.discard_body(request)
            response = _fault_response(state, route, fault)
        elif fault is None or fault.kind != "drop":
            response = await _handle(request, handler, state)
            handled = True
    except web.HTTPException as error:
        await _record(request, route, started, error.status, fault, handled)
        raise
    if response is None or (fault is not None and fault.kind == "drop_after"):
        await _record(request, route, started, None, fault, handled)
        return _drop(request)
    await _record(request, route, started, response.status, fault, handled)
    return response


async def _record(request: web.Request, route: str, started: float, status: int | None, fault: FaultRule | None,
                  handled: bool) -> None:
    fingerprint = await _token_used(request, route, handled)
    request.app[STATE].requests.append(RequestRecord(
        method=request.method, path=request.path, route=route, token_fingerprint=fingerprint,
        time=started, status=status, fault=fault.kind if fault is not None else None))


async def _token_used(request: web.Request, route: str, handled: bool) -> str | None:
    """Fingerprint of the bearer token, or of the refresh/revoked token in an OAuth form."""
    token = bearer(request)
    form_type = request.content_type == "application/x-www-form-urlencoded"
    if token is None and handled and form_type and route in ("token", "revoke"):
        form = await request.post()  # already read (and cached) by the handler
        value = form.get("refresh_token" if route == "token" else "token")
        token = value if isinstance(value, str) else None
    return token_fingerprint(token) if token else None


async def _handle(request: web.Request, handler: Handler, state: EmulatorState) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return api_error_response(state.log_id(), error)
    except OAuthError as error:
        return oauth_error_response(state.log_id(), error)
    except web.HTTPException:
        raise
    except Exception:
        # An emulator bug must still look like TikTok's 5xx to the client under test.
        _log.exception("emulator handler failed on %s %s", request.method, request.path)
        return api_error_response(state.log_id(), ApiError(500, "internal_error"))


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection so the client gets no response at all; aiohttp discards ours."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=499)


def _fault_response(state: EmulatorState, route: str, fault: FaultRule) -> web.Response:
    if route == "upload_put":
        return web.Response(status=fault.status)
    if route in _OAUTH_ROUTES:
        error = fault.code or ("temporarily_unavailable" if fault.status >= 500 else "invalid_request")
        return oauth_error_response(state.log_id(), OAuthError(error, "Injected fault.", status=fault.status))
    code = fault.code or ("rate_limit_exceeded" if fault.status == 429 else "internal_error")
    return api_error_response(state.log_id(), ApiError(fault.status, code))
