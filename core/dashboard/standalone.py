"""The dashboard served alone (``crosspost dashboard``): ``/ui`` plus ``/v1/analytics``, one key.

Until ``crosspost serve`` mounts the dashboard behind its API keys, this app does the same with
a single key: the login form takes it, and REST calls send it as ``Authorization: Bearer``.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from crosspost.core.dashboard.analytics_api import analytics_routes
from crosspost.core.dashboard.app import CheckKey, make_dashboard_app
from crosspost.core.hub import Hub

KEY_ENV = "CROSSPOST_DASHBOARD_KEY"


def single_key(key: str) -> CheckKey:
    """A ``check_key`` accepting exactly ``key`` (compared in constant time)."""
    expected = key.encode("utf-8")

    def check(candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode("utf-8"), expected)

    return check


def new_key() -> str:
    return secrets.token_urlsafe(24)


def make_standalone_app(hub: Hub, *, check_key: CheckKey) -> web.Application:
    """``/ui/…`` (the dashboard), ``GET /v1/analytics`` (Bearer key) and ``/`` redirecting to ``/ui/``."""

    @web.middleware
    async def rest_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/"):
            scheme, _, key = request.headers.get("Authorization", "").partition(" ")
            verdict = check_key(key.strip()) if scheme.lower() == "bearer" and key.strip() else False
            if not isinstance(verdict, bool):
                verdict = await verdict
            if not verdict:
                return web.json_response({"error": {"code": "unauthorized", "message":
                                                    "send the dashboard key as Authorization: Bearer KEY"}},
                                         status=401)
        return await handler(request)

    async def root(request: web.Request) -> web.StreamResponse:
        return web.Response(status=303, headers={"Location": "/ui/"})

    app = web.Application(middlewares=[rest_key])
    app.add_routes(analytics_routes(hub))
    app.router.add_get("/", root)
    app.add_subapp("/ui", make_dashboard_app(hub, check_key=check_key))
    return app
