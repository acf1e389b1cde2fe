"""``/_emulator/`` admin routes: drive an emulator running in another process over HTTP.

A user who runs ``crosspost emulator --port N`` and points their own test suite at it has no
Python handle on :class:`EmulatorState`; these routes expose the same controls. They answer
plain JSON (not TikTok's envelope), are never rate-limited, never faulted and never recorded
in ``state.requests``. Their responses include tokens on purpose (a test needs them to call the
API), so never expose an emulator beyond loopback.

- ``POST /_emulator/creators``: body = :meth:`EmulatorState.add_creator` keywords; returns the
  creator with its tokens and privacy options. ``GET`` lists creators.
- ``GET /_emulator/published``, ``/_emulator/requests``, ``/_emulator/events``,
  ``/_emulator/webhook_deliveries``: the records.
- ``POST /_emulator/faults``: body = :meth:`Faults.add` keywords; ``DELETE`` clears them.
- ``POST /_emulator/reset``; ``POST /_emulator/clock`` ``{"advance": seconds}``;
  ``POST /_emulator/settle`` ``{"publish_id"?}``; ``POST /_emulator/inbox/complete``
  ``{"publish_id", "public"?}``; ``POST /_emulator/fail_next`` ``{"reason"}``;
  ``POST /_emulator/authorization/remove`` ``{"open_id", "reason"?}``.
- ``POST /_emulator/config``: set simple knobs (see :data:`SETTABLE`).
- ``PUT``/``GET /_emulator/media/{name}``: the emulator's media host (:mod:`.media_host`).
- ``GET /_emulator/``: this list, as JSON (every admin route with its method).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .access import state_of
from .records import Creator, as_json

SETTABLE = frozenset({
    "rate_limits", "audited", "processing_polls", "access_token_ttl", "refresh_token_ttl",
    "rotate_refresh_tokens", "invalid_param_code", "require_https_pull", "daily_post_cap",
    "pending_share_cap", "unaudited_user_cap", "post_id_format", "upload_url_ttl", "max_video_bytes",
    "webhook_url", "webhook_attempts", "webhook_retry_delay_s", "rate_limit_retry_after", "sniff_media",
    "login_open_id", "verified_url_prefixes", "verified_domains", "redirect_uris", "completed_put_status",
})

Handler = Callable[[web.Request], Awaitable[web.Response]]


class AdminError(Exception):
    pass


def creator_json(creator: Creator) -> dict[str, Any]:
    return {**as_json(creator), "privacy_level_options": list(creator.privacy_level_options)}


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise AdminError("body must be JSON") from None
    if not isinstance(body, dict):
        raise AdminError("body must be a JSON object")
    return body


def _guard(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except (AdminError, TypeError, ValueError, KeyError) as error:
            return web.json_response({"error": str(error)}, status=400)
    return guarded


async def add_creator(request: web.Request) -> web.Response:
    return web.json_response(creator_json(state_of(request).add_creator(**await _body(request))))


async def list_creators(request: web.Request) -> web.Response:
    return web.json_response([creator_json(c) for c in state_of(request).creators.values()])


async def published(request: web.Request) -> web.Response:
    return web.json_response([as_json(p) for p in state_of(request).published])


async def requests(request: web.Request) -> web.Response:
    return web.json_response([as_json(r) for r in state_of(request).requests])


async def events(request: web.Request) -> web.Response:
    return web.json_response(state_of(request).events)


async def webhook_deliveries(request: web.Request) -> web.Response:
    return web.json_response([as_json(d) for d in state_of(request).webhook_deliveries])


async def add_fault(request: web.Request) -> web.Response:
    rule = state_of(request).faults.add(**await _body(request))
    return web.json_response(as_json(rule))


async def clear_faults(request: web.Request) -> web.Response:
    state_of(request).faults.clear()
    return web.json_response({})


async def reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return web.json_response({})


async def clock(request: web.Request) -> web.Response:
    state = state_of(request)
    state.advance_clock(float((await _body(request))["advance"]))
    return web.json_response({"now": state.now()})


async def settle(request: web.Request) -> web.Response:
    state_of(request).settle((await _body(request)).get("publish_id"))
    return web.json_response({})


async def complete_inbox(request: web.Request) -> web.Response:
    body = await _body(request)
    state_of(request).complete_inbox(body["publish_id"], public=bool(body.get("public", True)))
    return web.json_response({})


async def fail_next(request: web.Request) -> web.Response:
    state_of(request).fail_next_publish(str((await _body(request))["reason"]))
    return web.json_response({})


async def remove_authorization(request: web.Request) -> web.Response:
    body = await _body(request)
    state_of(request).remove_authorization(str(body["open_id"]), reason=int(body.get("reason", 1)))
    return web.json_response({})


async def config(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await _body(request)
    unknown = set(body) - SETTABLE
    if unknown:
        raise AdminError(f"not settable: {sorted(unknown)}")
    for name, value in body.items():
        setattr(state, name, tuple(value) if isinstance(value, list) else value)
    return web.json_response({})


async def index(request: web.Request) -> web.Response:
    """Every admin route, so the address the ``crosspost emulator`` banner prints answers."""
    routes = sorted({(info.method, info.get_info().get("path") or info.get_info().get("formatter", ""))
                     for info in request.app.router.routes()
                     if (info.name or "").startswith("admin:") and info.method != "HEAD"},
                    key=lambda route: (route[1], route[0]))
    return web.json_response({"docs": "docs/tiktok.md#the-emulators-admin-api",
                              "routes": [{"method": method, "path": path} for method, path in routes]})


def add_admin_routes(app: web.Application) -> None:
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/_emulator/", index),
        ("POST", "/_emulator/creators", add_creator),
        ("GET", "/_emulator/creators", list_creators),
        ("GET", "/_emulator/published", published),
        ("GET", "/_emulator/requests", requests),
        ("GET", "/_emulator/events", events),
        ("GET", "/_emulator/webhook_deliveries", webhook_deliveries),
        ("POST", "/_emulator/faults", add_fault),
        ("DELETE", "/_emulator/faults", clear_faults),
        ("POST", "/_emulator/reset", reset),
        ("POST", "/_emulator/clock", clock),
        ("POST", "/_emulator/settle", settle),
        ("POST", "/_emulator/inbox/complete", complete_inbox),
        ("POST", "/_emulator/fail_next", fail_next),
        ("POST", "/_emulator/authorization/remove", remove_authorization),
        ("POST", "/_emulator/config", config),
    ]
    for method, path, handler in routes:
        name = f"admin:{method.lower()}-" + (path.removeprefix("/_emulator/").replace("/", "_") or "index")
        app.router.add_route(method, path, _guard(handler), name=name)
