"""``make_dashboard_app(hub, check_key=…)``: the dashboard as an aiohttp sub-application.

Mount it with ``root.add_subapp("/ui", make_dashboard_app(hub, check_key=keys.check))``. Every
page except the login form and the static files needs either ``Authorization: Bearer <key>``
or the session cookie the login form sets after ``check_key`` accepted a key. The cookie holds
a random session token (never the key), is HttpOnly, SameSite=Strict and Secure on HTTPS;
sessions live in this process for :data:`SESSION_TTL` seconds. Pages are sent with a strict
Content-Security-Policy (only the package's own CSS and JS run).
"""

from __future__ import annotations

import html
import inspect
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from aiohttp.typedefs import Handler

from crosspost.core.dashboard import views
from crosspost.core.dashboard.calendar import VIEWS, entries_from, neighbours, period
from crosspost.core.engine.jobs import PostNotFound
from crosspost.core.hub import Hub

CheckKey = Callable[[str], bool | Awaitable[bool]]
"""Whether an API key is valid (sync or async); the serve helper passes its key store's check."""

COOKIE = "crosspost_ui"
SESSION_TTL = 12 * 3600.0
STATIC = Path(__file__).with_name("static")
HUB = web.AppKey("crosspost_dashboard_hub", Hub)
CHECK = web.AppKey("crosspost_dashboard_check", object)
SESSIONS = web.AppKey("crosspost_dashboard_sessions", dict)
_OPEN = frozenset({"login", "login_form", "static"})
_CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def make_dashboard_app(hub: Hub, *, check_key: CheckKey) -> web.Application:
    """The dashboard on ``hub``; ``check_key`` decides which API keys may sign in."""
    app = web.Application(middlewares=[_headers, _signed_in])
    app[HUB] = hub
    app[CHECK] = check_key
    app[SESSIONS] = {}
    r = app.router
    r.add_get("/", _index, name="index")
    r.add_get("/login", _login_form, name="login_form")
    r.add_post("/login", _login, name="login")
    r.add_post("/logout", _logout, name="logout")
    r.add_get("/calendar", _calendar, name="calendar")
    r.add_get("/posts/{post_id}", _post, name="post")
    r.add_static("/static", STATIC, name="static", append_version=False)
    return app


def url_builder(request: web.Request) -> views.Url:
    router = request.app.router

    def url(name: str, *, query: dict[str, str] | None = None, **parts: str) -> str:
        built = router[name].url_for(**parts)
        return str(built.with_query(query) if query else built)

    return url


# -- authentication -------------------------------------------------------------------------------


async def key_ok(app: web.Application, key: str) -> bool:
    if not key:
        return False
    verdict = app[CHECK](key)  # type: ignore[operator]
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return bool(verdict)


def _session_ok(app: web.Application, token: str | None) -> bool:
    sessions: dict[str, float] = app[SESSIONS]
    now = time.monotonic()
    for stale in [t for t, until in sessions.items() if until <= now]:
        del sessions[stale]
    return token is not None and token in sessions


@web.middleware
async def _signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    name = request.match_info.route.name
    if name in _OPEN:
        return await handler(request)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and await key_ok(request.app, key.strip()):
        return await handler(request)
    if _session_ok(request.app, request.cookies.get(COOKIE)):
        return await handler(request)
    if request.method != "GET":
        raise web.HTTPUnauthorized(text="sign in first")
    login = request.app.router["login_form"].url_for().with_query({"next": request.path_qs})
    raise web.HTTPSeeOther(location=str(login))


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _safe_next(request: web.Request, value: object) -> str:
    """Where to go after signing in: a path inside this dashboard only (no open redirect)."""
    home = str(request.app.router["calendar"].url_for())
    prefix = home.rsplit("/", 1)[0] + "/"
    if isinstance(value, str) and value.startswith(prefix) and not value.startswith("//"):
        return value
    return home


async def _login_form(request: web.Request) -> web.Response:
    return _html(views.login_page(url=url_builder(request), next_path=request.query.get("next", "")))


async def _login(request: web.Request) -> web.Response:
    form = await request.post()
    key = form.get("key")
    if not isinstance(key, str) or not await key_ok(request.app, key.strip()):
        page = views.login_page(url=url_builder(request), error="That API key was not accepted. Check it and "
                                "try again (the key is printed when `crosspost dashboard` starts).",
                                next_path=str(form.get("next") or ""))
        return _html(page, status=401)
    token = secrets.token_urlsafe(32)
    request.app[SESSIONS][token] = time.monotonic() + SESSION_TTL
    response = _see_other(_safe_next(request, form.get("next")))
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/",
                        max_age=int(SESSION_TTL))
    return response


async def _logout(request: web.Request) -> web.Response:
    request.app[SESSIONS].pop(request.cookies.get(COOKIE, ""), None)
    response = _see_other(str(request.app.router["login_form"].url_for()))
    response.del_cookie(COOKIE, path="/")
    return response


# -- pages ----------------------------------------------------------------------------------------


async def _index(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(location=str(request.app.router["calendar"].url_for()))


def _bad(request: web.Request, message: str) -> web.Response:
    return _html(views.page("Bad request", f'<p role="alert">{html.escape(message)}</p>',
                            url=url_builder(request)), status=400)


def _zone(name: str) -> tzinfo:
    if name in ("", "UTC"):
        return UTC
    return ZoneInfo(name)


async def _calendar(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    view = request.query.get("view", "week")
    if view not in VIEWS:
        return _bad(request, f"view must be one of {', '.join(VIEWS)}, not {view!r}")
    try:
        tz = _zone(request.query.get("tz", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return _bad(request, "tz must be an IANA time zone such as Europe/Paris")
    today = hub.clock.now().astimezone(tz).date()
    try:
        anchor = date.fromisoformat(request.query["date"]) if "date" in request.query else today
    except ValueError:
        return _bad(request, "date must be a day as YYYY-MM-DD, e.g. 2026-03-02")
    start, end = period(view, anchor)
    rows = await hub.storage.list_posts(limit=1000)
    entries = [e for e in entries_from(rows) if start <= e.at.astimezone(tz).date() < end]
    previous, following = neighbours(view, anchor)
    return _html(views.calendar_page(view=view, start=start, end=end, anchor=anchor, entries=entries, tz=tz,
                                     today=today, previous=previous, following=following, url=url_builder(request)))


async def _post(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    post_id = request.match_info["post_id"]
    row = await hub.storage.get_post(post_id)
    if row is None:
        return _html(views.not_found_page(f"No post {post_id!r}.", url=url_builder(request)), status=404)
    try:
        metrics = await hub.post_metrics(post_id)
    except PostNotFound:
        metrics = []
    events = await hub.events(post_id)
    return _html(views.post_page(row=row, events=events, metrics=metrics, tz=UTC, url=url_builder(request)))


def _html(text: str, *, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


__all__ = ["CheckKey", "make_dashboard_app", "url_builder"]
