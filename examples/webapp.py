"""A cross-posting web app (aiohttp): browser login, a post form and JSON API, and webhooks, for
every platform crosspost has loaded, through the Hub's neutral API only (no platform import).

What it shows, all through crosspost's library API:

- **OAuth login** with your own redirect endpoint: ``/login?platform=P&account=NAME`` calls
  ``hub.start_login`` (the platform builds its authorize URL, PKCE included, and the hub keeps the
  pending login server-side); the browser gets only a random cookie naming its login, and
  ``/callback`` checks that the redirect's ``state`` is that login's before ``hub.finish_login``
  exchanges the code and stores the account (encrypted at rest);
- **posting**: an HTML form built from the platform's declared options (``POST /posts``,
  multipart with the video) and a JSON API (``POST /api/uploads`` streams a video to disk,
  ``POST /api/posts`` takes crosspost's own post request, ``GET /api/posts/{id}?wait=SECONDS``
  reads it back), with ``hub.submit`` and a worker (``hub.run_worker``) in the background;
- **webhooks**: every platform's ``webhook_receiver()`` mounted at ``/webhooks/<platform>``
  verifies its requests; ``hub.apply_webhook_events`` records them (an account whose access was
  removed is flagged, so its jobs wait for a new login).

Run it against the bundled emulator of the first platform that has one (nothing leaves this
machine) and open the URL::

    python examples/webapp.py --emulator

Against a real platform: set its settings (``crosspost config`` lists them; TikTok's are
``CROSSPOST_TIKTOK_CLIENT_KEY`` / ``CROSSPOST_TIKTOK_CLIENT_SECRET``), register
``{public URL}/callback`` as a redirect URI and ``{public URL}/webhooks/<platform>`` as the webhook
URL of your app, and run ``python examples/webapp.py --public-url https://posts.example.com``.
The example has no user authentication: put your own in front of it before anyone else can
reach it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import secrets
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from crosspost.core import InvalidPost, Post, Problem
from crosspost.core.convert import post_from_dict, result_to_dict
from crosspost.core.errors import AuthError, ConfigError, CrosspostError
from crosspost.core.hub import Hub, PostNotFound, PostRecord
from crosspost.core.options import OptionType
from crosspost.core.platform import Platform
from crosspost.core.secrets import generate_key, install_log_redaction
from crosspost.core.settings import Settings
from crosspost.core.webhooks import PlatformEvent, WebhookReceiver, WebhookRejected

LOGIN_COOKIE = "crosspost_login"
MAX_UPLOAD = 4 * 1024**3
"""The largest video accepted (4 GiB, TikTok's limit)."""
WEBHOOK_PREFIX = "/webhooks"


@attrs.frozen(kw_only=True)
class PendingLogin:
    """One browser's login between ``/login`` and ``/callback`` (never sent to the browser)."""

    state: str
    """The ``state`` the hub issued for it: the callback must carry this one."""
    account: str


class WebhookLog:
    """The webhook events handled so far (shown on the page; tests wait on it)."""

    def __init__(self) -> None:
        self.events: list[PlatformEvent] = []
        self._changed = asyncio.Condition()

    async def add(self, events: Sequence[PlatformEvent]) -> None:
        async with self._changed:
            self.events.extend(events)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[list[PlatformEvent]], bool]) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self.events))


@attrs.frozen(kw_only=True)
class WebApp:
    """What the handlers share."""

    hub: Hub
    http: aiohttp.ClientSession
    uploads: Path
    public_url: str | None
    """The app's external base URL (behind a proxy); None uses each request's own origin."""
    logins: dict[str, PendingLogin] = attrs.field(factory=dict)
    webhooks: WebhookLog = attrs.field(factory=WebhookLog)


APP = web.AppKey("crosspost_webapp", WebApp)


def make_app(hub: Hub, http: aiohttp.ClientSession, *, uploads: Path, public_url: str | None = None) -> web.Application:
    """The web app on an open ``hub``; the hub must outlive it (open it around the app runner).

    A worker runs in the background while the app runs; stopping the app stops it, and jobs it
    was running stay resumable.
    """
    uploads.mkdir(parents=True, exist_ok=True)
    state = WebApp(hub=hub, http=http, uploads=uploads, public_url=public_url)
    app = web.Application()
    app[APP] = state
    app.cleanup_ctx.append(_background_worker)
    app.router.add_get("/", index)
    app.router.add_get("/login", login)
    app.router.add_get("/callback", callback)
    app.router.add_post("/posts", post_form)
    app.router.add_get("/posts/{id}", post_page)
    app.router.add_post("/api/uploads", api_upload)
    app.router.add_post("/api/posts", api_post)
    app.router.add_get("/api/posts/{id}", api_get)
    for name, platform in hub.hooks.platforms().items():
        receiver = platform.webhook_receiver()
        if receiver is not None:
            app.router.add_post(f"{WEBHOOK_PREFIX}/{name}", _webhook_handler(state, name, receiver))
    return app


def login_platform(hub: Hub, wanted: str | None) -> Platform:
    """The platform to log in to: ``wanted``, else the first that supports a browser login."""
    if wanted:
        return hub.hooks.platform(wanted)
    for platform in hub.hooks.platforms().values():
        if platform.supports_login:
            return platform
    raise ConfigError("no loaded platform supports a browser login")


async def _background_worker(app: web.Application) -> AsyncIterator[None]:
    stop = asyncio.Event()
    worker = asyncio.create_task(app[APP].hub.run_worker(stop=stop), name="crosspost-worker")
    yield
    stop.set()
    await worker


# -- OAuth login ---------------------------------------------------------------------------

async def login(request: web.Request) -> web.Response:
    """Send the browser to the platform's consent page; the pending login stays server-side."""
    app = request.app[APP]
    platform = login_platform(app.hub, request.query.get("platform"))
    account = request.query.get("account", "main").strip() or "main"
    redirect_uri = f"{app.public_url or request.url.origin()}/callback"
    start = await app.hub.start_login(platform.name, account, {}, redirect_uri=redirect_uri)
    login_id = secrets.token_urlsafe(24)
    app.logins[login_id] = PendingLogin(state=start.state, account=f"{platform.name}:{account}")
    response = web.Response(status=302, headers={"Location": start.url})
    response.set_cookie(LOGIN_COOKIE, login_id, httponly=True, samesite="Lax", max_age=600)
    return response


async def callback(request: web.Request) -> web.Response:
    """Check that the redirect belongs to this browser's login, then let the hub finish it."""
    app = request.app[APP]
    pending = app.logins.pop(request.cookies.get(LOGIN_COOKIE, ""), None)
    if pending is None:
        return _page("Login failed", "<p>This login was not started here (or is over). "
                     "<a href='/'>Start again</a>.</p>", status=400)
    query = dict(request.query)
    if not secrets.compare_digest(query.get("state", "").encode(), pending.state.encode()):
        return _page("Login failed", "<p>state mismatch: this redirect does not belong to the login started "
                     "in this browser. <a href='/'>Start again</a>.</p>", status=400)
    try:
        account = await app.hub.finish_login(query)  # a new login resumes the account's waiting jobs
    except AuthError as exc:
        return _page("Login failed", f"<p>{_e(exc)}</p><p><a href='/'>Start again</a>.</p>", status=400)
    response = _page("Logged in", f"<p>Logged in as {_e(account.key)}.</p><p><a href='/'>Back</a></p>")
    response.del_cookie(LOGIN_COOKIE)
    return response


# -- posting -------------------------------------------------------------------------------

def record_dict(record: PostRecord) -> dict[str, Any]:
    """The post in the same JSON shape as ``crosspost post --json``."""
    return {"id": record.id, "status": record.status.value,
            "targets": [result_to_dict(t) for t in record.targets]}


def _error(status: int, payload: Mapping[str, object]) -> web.Response:
    return web.json_response({"error": payload}, status=status)


async def _submit(app: WebApp, request_body: object) -> PostRecord:
    """Read a post request and submit it; local media must be files uploaded to this app."""
    post = post_from_dict(request_body, base=app.uploads)
    if outside := _outside(post, app.uploads):
        raise InvalidPost(outside)
    return await app.hub.submit(post)


def _outside(post: Post, uploads: Path) -> list[Problem]:
    """A client must not post arbitrary files of the server: only what it uploaded here."""
    root = uploads.resolve()
    return [Problem(field=f"media[{i}].path", message="not a file uploaded here; POST it to /api/uploads first")
            for i, media in enumerate(post.media)
            if media.path is not None and not Path(media.path).resolve().is_relative_to(root)]


async def _save_upload(app: WebApp, chunks: AsyncIterator[bytes]) -> tuple[Path, int]:
    """Stream an upload to a new file in the uploads folder (crosspost sniffs its format later)."""
    path = app.uploads / uuid.uuid4().hex
    size = 0
    try:
        with path.open("wb") as file:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD, actual_size=size)
                await asyncio.to_thread(file.write, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size


async def api_upload(request: web.Request) -> web.Response:
    path, size = await _save_upload(request.app[APP], request.content.iter_chunked(1024 * 1024))
    return web.json_response({"path": path.name, "size": size}, status=201)


async def api_post(request: web.Request) -> web.Response:
    """``POST /api/posts`` with crosspost's post request; 202 with the stored post."""
    try:
        record = await _submit(request.app[APP], await request.json())
    except ValueError:
        return _error(400, {"code": "invalid", "problems": [{"field": "", "message": "expected a JSON body"}]})
    except InvalidPost as exc:
        return _error(400, {"code": "invalid", "problems": [attrs.asdict(p) for p in exc.problems]})
    except ConfigError as exc:
        return _error(400, exc.to_dict())
    except CrosspostError as exc:  # the platform could not be asked (live limits): nothing was stored
        return _error(502, exc.to_dict())
    return web.json_response(record_dict(record), status=202)


async def api_get(request: web.Request) -> web.Response:
    """The post; with ``?wait=SECONDS`` it answers once every target is final or time is up."""
    hub = request.app[APP].hub
    post_id = request.match_info["id"]
    try:
        record = await hub.get(post_id)
        if (wait := float(request.query.get("wait", "0"))) > 0:
            with contextlib.suppress(TimeoutError):
                record = await hub.wait(post_id, timeout=min(wait, 600.0))
    except PostNotFound as exc:
        return _error(404, exc.to_dict())
    return web.json_response(record_dict(record))


async def post_form(request: web.Request) -> web.Response:
    """The HTML form: account, caption, privacy, comments toggle and the video file."""
    app = request.app[APP]
    fields: dict[str, str] = {}
    video: Path | None = None
    async for part in await request.multipart():
        if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
            continue
        if part.name == "video" and part.filename:
            video, _ = await _save_upload(app, _part_chunks(part))
        else:
            fields[part.name] = await part.text()
    target = fields.get("account", "")
    platform = target.partition(":")[0]
    body = {
        "content": fields.get("caption", ""),
        "targets": [target],
        "media": [{"type": "video", "path": video.name}] if video else [],
        "target_options": {platform: form_options(app.hub, platform, fields)},
    }
    try:
        record = await _submit(app, body)
    except CrosspostError as exc:
        problems = exc.problems if isinstance(exc, InvalidPost) else (Problem(field="", message=str(exc)),)
        items = "".join(f"<li>{_e(p)}</li>" for p in problems)
        return _page("Not posted", f"<ul>{items}</ul><p><a href='/'>Back</a></p>", status=400)
    raise web.HTTPSeeOther(f"/posts/{record.id}")


def form_fields(platform: Platform) -> list[tuple[str, OptionType, tuple[str, ...]]]:
    """The platform's shorthand options the form offers: choices as a select, flags as checkboxes
    (read from its declared ``options``, so any platform gets a form)."""
    return [(spec.name, spec.type, spec.choices) for spec in platform.options
            if spec.flag and (spec.type is OptionType.BOOLEAN
                              or (spec.type is OptionType.STRING and spec.choices and not spec.flag_choices))]


def form_options(hub: Hub, platform: str, fields: Mapping[str, str]) -> dict[str, Any]:
    if platform not in hub.hooks.platforms():
        return {}
    options: dict[str, Any] = {}
    for name, kind, _ in form_fields(hub.hooks.platform(platform)):
        if kind is OptionType.BOOLEAN:
            options[name] = f"{platform}.{name}" in fields
        elif fields.get(f"{platform}.{name}"):
            options[name] = fields[f"{platform}.{name}"]
    return options


async def _part_chunks(part: aiohttp.BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(1024 * 1024):
        yield chunk


async def post_page(request: web.Request) -> web.Response:
    try:
        record = await request.app[APP].hub.get(request.match_info["id"])
    except PostNotFound:
        raise web.HTTPNotFound() from None
    rows = "".join(f"<li>{_e(t.target)}: {_e(t.status.value)}{_link(t.post_url)}"
                   f"{' — ' + _e(t.error.message) if t.error else ''}</li>" for t in record.targets)
    refresh = "" if record.done else "<meta http-equiv='refresh' content='2'>"
    return _page(f"Post {record.id}: {record.status.value}", f"{refresh}<ul>{rows}</ul><p><a href='/'>Back</a></p>")


# -- webhooks ------------------------------------------------------------------------------

def _webhook_handler(app: WebApp, platform: str,
                     receiver: WebhookReceiver) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The platform verifies and parses (pure); the hub records what the events mean."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.content.read(receiver.max_body + 1)
        if len(body) > receiver.max_body:
            return web.json_response({"error": "too_large"}, status=413)
        try:
            events = receiver.parse(dict(request.headers), body, settings=app.hub.settings, now=app.hub.clock.now())
        except WebhookRejected as exc:
            return web.json_response({"error": exc.code, "message": str(exc)}, status=exc.status)
        await app.hub.apply_webhook_events(platform, events)  # before the 200: an error gets a redelivery
        await app.webhooks.add(events)
        return web.json_response({"ok": True})

    return receive


# -- the page ------------------------------------------------------------------------------

async def index(request: web.Request) -> web.Response:
    app = request.app[APP]
    accounts = await app.hub.accounts.list()
    names = "".join(f"<li>{_e(a.key)}{' — needs a new login' if a.needs_login else ''}</li>" for a in accounts)
    choices = "".join(f"<option>{_e(a.key)}</option>" for a in accounts)
    logins = "".join(f"<option>{_e(n)}</option>" for n, p in app.hub.hooks.platforms().items() if p.supports_login)
    posts = "".join(f"<li><a href='/posts/{_e(r.id)}'>{_e(r.id)}</a> {_e(r.status.value)}: {_e(r.post.content)}</li>"
                    for r in await app.hub.list_posts(limit=10))
    events = "".join(f"<li>{_e(e.kind.value)} {_e(e.outcome)} {_e(e.publish_id or e.account_ref or '')}</li>"
                     for e in app.webhooks.events[-10:])
    return _page("crosspost web app", f"""
<h2>Accounts</h2><ul>{names or '<li>none yet</li>'}</ul>
<form action="/login">Log in to <select name="platform">{logins}</select> as account
  <input name="account" value="main"> <button>Log in</button></form>
<h2>Post a video</h2>
<form action="/posts" method="post" enctype="multipart/form-data">
  <p>Account <select name="account">{choices}</select></p>{_option_inputs(app.hub)}
  <p><input name="caption" size="60" placeholder="Caption #hashtags"> <input type="file" name="video"></p>
  <button>Post</button>
</form>
<h2>Recent posts</h2><ul>{posts}</ul>
<h2>Recent webhooks</h2><ul>{events}</ul>""")


def _option_inputs(hub: Hub) -> str:
    """Each platform's offered options (see :func:`form_fields`), named ``platform.option``."""
    rows = []
    for name, platform in hub.hooks.platforms().items():
        inputs = []
        for option, kind, choices in form_fields(platform):
            field = _e(f"{name}.{option}")
            if kind is OptionType.BOOLEAN:
                inputs.append(f"<label><input type='checkbox' name='{field}'> {_e(option)}</label>")
            else:
                values = "".join(f"<option>{_e(c)}</option>" for c in choices)
                inputs.append(f"{_e(option)} <select name='{field}'><option></option>{values}</select>")
        if inputs:
            rows.append(f"<p>{_e(platform.display_name or name)}: {' '.join(inputs)}</p>")
    return "".join(rows)


def _e(value: object) -> str:
    return html.escape(str(value))


def _link(url: str | None) -> str:
    return f" <a href='{_e(url)}'>{_e(url)}</a>" if url else ""


def _page(title: str, body: str, *, status: int = 200) -> web.Response:
    return web.Response(text=f"<!doctype html><title>{_e(title)}</title><h1>{_e(title)}</h1>{body}",
                        content_type="text/html", status=status)


# -- running it ----------------------------------------------------------------------------

def emulator_settings(env: Mapping[str, str], folder: Path) -> Settings:
    """Settings on a temporary database that point crosspost at an emulator (its ``env``)."""
    return Settings.from_env({
        "CROSSPOST_DB": str(folder / "webapp.db"), "CROSSPOST_DATA_DIR": str(folder),
        "CROSSPOST_SECRET_KEY": generate_key(), **env,
    })


async def serve(args: argparse.Namespace) -> None:
    install_log_redaction()
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crosspost-webapp-")))
        settings = Settings.from_env()
        running = None
        if args.emulator:
            async with Hub.open(emulator_settings({}, folder), http=http) as probe:
                emulators = [(n, e) for n, p in probe.hooks.platforms().items() if (e := p.emulator()) is not None]
            if not emulators:
                raise SystemExit("no loaded platform bundles an emulator")
            name, emulator = emulators[0]
            running = await emulator.start()
            stack.push_async_callback(running.stop)
            settings = emulator_settings(running.env, folder)
            print(f"{name} emulator on {running.url}", flush=True)
        hub = await stack.enter_async_context(Hub.open(settings, http=http))
        if running is not None:
            for plugin in running.plugins:  # e.g. a media host the emulator trusts
                hub.hooks.register(plugin)
        app = make_app(hub, http, uploads=args.uploads or folder / "uploads", public_url=args.public_url)
        runner = web.AppRunner(app, access_log=None)  # request lines carry OAuth codes: keep them out of logs
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, args.host, args.port).start()
        print(f"crosspost web app on http://{args.host}:{runner.addresses[0][1]} (Ctrl-C stops it)", flush=True)
        await _until_signal()


async def _until_signal() -> None:
    """Return on SIGINT or SIGTERM, so the app, the worker and the hub close in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A cross-posting web app on crosspost.")
    parser.add_argument("--emulator", action="store_true",
                        help="use the first bundled platform emulator (temporary data)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--public-url", help="external base URL, e.g. https://posts.example.com "
                                             "(default: the URL each request came to)")
    parser.add_argument("--uploads", type=Path, help="folder for uploaded videos (default: a temporary one)")
    asyncio.run(serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
