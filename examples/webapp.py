"""A cross-posting web app (aiohttp): TikTok login, a post form and JSON API, and TikTok webhooks.

What it shows, all through crosspost's library API:

- **OAuth login** with your own redirect endpoint: ``/login`` calls ``start_authorization`` and
  keeps the returned state (and PKCE verifier, for loopback redirects) on the server, the browser
  getting only a random cookie, then redirects to TikTok's authorize page; ``/callback`` calls
  ``finish_authorization`` (which checks ``state``) and stores the tokens with
  ``hub.accounts.add`` (encrypted at rest);
- **posting**: an HTML form (``POST /posts``, multipart with the video) and a JSON API
  (``POST /api/uploads`` streams a video to disk, ``POST /api/posts`` takes crosspost's own post
  request, ``GET /api/posts/{id}?wait=SECONDS`` reads it back), with ``hub.submit`` and a worker
  (``hub.run_worker``) in the background of the same process;
- **webhooks**: ``make_webhook_app`` mounted at ``/webhooks/tiktok/`` verifies TikTok's
  signatures; ``authorization.removed`` flags the account so its jobs wait for a new login.

Run it against the bundled TikTok emulator (nothing leaves this machine) and open the URL::

    python examples/webapp.py --emulator

Against TikTok: set ``CROSSPOST_TIKTOK_CLIENT_KEY`` / ``CROSSPOST_TIKTOK_CLIENT_SECRET``, register
``{public URL}/callback`` as a redirect URI and ``{public URL}/webhooks/tiktok/`` as the webhook
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
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from crosspost.core import InvalidPost, Post, Problem
from crosspost.core.accounts import Account
from crosspost.core.convert import post_from_dict, result_to_dict
from crosspost.core.errors import AuthError, ConfigError, CrosspostError
from crosspost.core.hub import Hub, PostNotFound, PostRecord
from crosspost.core.secrets import generate_key, install_log_redaction
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.plugins.tiktok.oauth import OAuthApp, PendingAuthorization, finish_authorization, start_authorization
from crosspost.plugins.tiktok.webhooks import WebhookEvent, WebhookOutcome, make_webhook_app

LOGIN_COOKIE = "crosspost_login"
MAX_UPLOAD = 4 * 1024**3
"""TikTok's largest video (4 GiB)."""
WEBHOOK_PATH = "/webhooks/tiktok/"


@attrs.frozen(kw_only=True)
class PendingLogin:
    """One browser's login between ``/login`` and ``/callback`` (never sent to the browser)."""

    authorization: PendingAuthorization
    account: str


class WebhookLog:
    """The webhook events handled so far (shown on the page; tests wait on it)."""

    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []
        self._changed = asyncio.Condition()

    async def add(self, event: WebhookEvent) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[list[WebhookEvent]], bool]) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self.events))


@attrs.frozen(kw_only=True)
class WebApp:
    """What the handlers share."""

    hub: Hub
    http: aiohttp.ClientSession
    oauth: OAuthApp
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
    state = WebApp(hub=hub, http=http, oauth=OAuthApp.from_settings(hub.settings), uploads=uploads,
                   public_url=public_url)
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
    app.add_subapp(WEBHOOK_PATH.rstrip("/"), make_webhook_app(
        client_secret=state.oauth.client_secret, on_event=_webhook_handler(state), clock=hub.clock))
    return app


async def _background_worker(app: web.Application) -> AsyncIterator[None]:
    stop = asyncio.Event()
    worker = asyncio.create_task(app[APP].hub.run_worker(stop=stop), name="crosspost-worker")
    yield
    stop.set()
    await worker


# -- OAuth login ---------------------------------------------------------------------------

async def login(request: web.Request) -> web.Response:
    """Send the browser to TikTok's consent page; keep the state and verifier server-side."""
    app = request.app[APP]
    account = request.query.get("account", "main").strip() or "main"
    redirect_uri = f"{app.public_url or request.url.origin()}/callback"
    # PKCE for loopback (desktop-style) redirects; TikTok's web flow uses the client secret instead.
    pending = start_authorization(app.oauth, redirect_uri=redirect_uri, pkce=not redirect_uri.startswith("https://"))
    login_id = secrets.token_urlsafe(24)
    app.logins[login_id] = PendingLogin(authorization=pending, account=account)
    response = web.Response(status=302, headers={"Location": pending.url})
    response.set_cookie(LOGIN_COOKIE, login_id, httponly=True, samesite="Lax", max_age=600)
    return response


async def callback(request: web.Request) -> web.Response:
    """Exchange the code (after ``finish_authorization`` checked ``state``); store the account."""
    app = request.app[APP]
    pending = app.logins.pop(request.cookies.get(LOGIN_COOKIE, ""), None)
    if pending is None:
        return _page("Login failed", "<p>This login was not started here (or is over). "
                     "<a href='/'>Start again</a>.</p>", status=400)
    try:
        tokens = await finish_authorization(app.http, app.oauth, pending.authorization, str(request.url),
                                            now=app.hub.clock.now())
    except AuthError as exc:
        return _page("Login failed", f"<p>{_e(exc)}</p><p><a href='/'>Start again</a>.</p>", status=400)
    account = await app.hub.accounts.add(Account(
        platform="tiktok", name=pending.account, secrets=tokens.as_secrets(), scopes=tokens.scopes,
        profile={"open_id": tokens.open_id}, access_expires_at=tokens.expires_at,
        refresh_expires_at=tokens.refresh_expires_at), replace=True)  # a new login resumes waiting jobs
    missing = tokens.missing_scopes()
    note = f"<p>TikTok did not grant {_e(', '.join(missing))}: posting will fail until you log in " \
           "again and allow every permission.</p>" if missing else ""
    response = _page("Logged in", f"<p>Logged in as {_e(account.key)}.</p>{note}<p><a href='/'>Back</a></p>")
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
    except CrosspostError as exc:  # TikTok could not be asked (creator info): nothing was stored
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
    body = {
        "content": fields.get("caption", ""),
        "targets": [f"tiktok:{fields.get('account', 'main')}"],
        "media": [{"type": "video", "path": video.name}] if video else [],
        "target_options": {"tiktok": {"privacy_level": fields.get("privacy", ""),
                                      "allow_comment": "allow_comment" in fields,
                                      "allow_duet": False, "allow_stitch": False}},
    }
    try:
        record = await _submit(app, body)
    except CrosspostError as exc:
        problems = exc.problems if isinstance(exc, InvalidPost) else (Problem(field="", message=str(exc)),)
        items = "".join(f"<li>{_e(p)}</li>" for p in problems)
        return _page("Not posted", f"<ul>{items}</ul><p><a href='/'>Back</a></p>", status=400)
    raise web.HTTPSeeOther(f"/posts/{record.id}")


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

def _webhook_handler(app: WebApp) -> Callable[[WebhookEvent], Any]:
    """``on_event`` for ``make_webhook_app``: runs after TikTok got its 200, once per event."""

    async def on_event(event: WebhookEvent) -> None:
        if event.outcome is WebhookOutcome.AUTHORIZATION_REMOVED:
            for account in await app.hub.accounts.list("tiktok"):
                if account.profile.get("open_id") == event.user_openid:
                    await app.hub.accounts.mark_needs_login("tiktok", account.name,
                                                            f"authorization removed: {event.reason}")
        # Publish events need no action: the worker's status polling settles each job.
        await app.webhooks.add(event)

    return on_event


# -- the page ------------------------------------------------------------------------------

async def index(request: web.Request) -> web.Response:
    app = request.app[APP]
    accounts = await app.hub.accounts.list("tiktok")
    names = "".join(f"<li>{_e(a.key)}{' — needs a new login' if a.needs_login else ''}</li>" for a in accounts)
    options = "".join(f"<option>{_e(a.name)}</option>" for a in accounts)
    posts = "".join(f"<li><a href='/posts/{_e(r.id)}'>{_e(r.id)}</a> {_e(r.status.value)}: {_e(r.post.content)}</li>"
                    for r in await app.hub.list_posts(limit=10))
    events = "".join(f"<li>{_e(e.event)} {_e(e.publish_id or e.user_openid)}</li>" for e in app.webhooks.events[-10:])
    privacy = "".join(f"<option>{level}</option>" for level in
                      ("SELF_ONLY", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "PUBLIC_TO_EVERYONE"))
    return _page("crosspost web app", f"""
<h2>Accounts</h2><ul>{names or '<li>none yet</li>'}</ul>
<form action="/login">Log in to TikTok as account <input name="account" value="main"> <button>Log in</button></form>
<h2>Post a video</h2>
<form action="/posts" method="post" enctype="multipart/form-data">
  <p>Account <select name="account">{options}</select> Privacy <select name="privacy">{privacy}</select>
     <label><input type="checkbox" name="allow_comment"> allow comments</label></p>
  <p><input name="caption" size="60" placeholder="Caption #hashtags"> <input type="file" name="video"></p>
  <button>Post</button>
</form>
<h2>Recent posts</h2><ul>{posts}</ul>
<h2>Recent webhooks</h2><ul>{events}</ul>""")


def _e(value: object) -> str:
    return html.escape(str(value))


def _link(url: str | None) -> str:
    return f" <a href='{_e(url)}'>{_e(url)}</a>" if url else ""


def _page(title: str, body: str, *, status: int = 200) -> web.Response:
    return web.Response(text=f"<!doctype html><title>{_e(title)}</title><h1>{_e(title)}</h1>{body}",
                        content_type="text/html", status=status)


# -- running it ----------------------------------------------------------------------------

def emulator_settings(server: EmulatorServer, folder: Path) -> Settings:
    """Settings that point crosspost at the emulator (its authorize page too)."""
    return Settings.from_env({
        "CROSSPOST_DB": str(folder / "webapp.db"), "CROSSPOST_DATA_DIR": str(folder),
        "CROSSPOST_SECRET_KEY": generate_key(),
        "CROSSPOST_TIKTOK_API_BASE": server.base_url, "CROSSPOST_TIKTOK_AUTH_BASE": server.base_url,
        "CROSSPOST_TIKTOK_CLIENT_KEY": server.state.client_key,
        "CROSSPOST_TIKTOK_CLIENT_SECRET": server.state.client_secret,
    })


async def serve(args: argparse.Namespace) -> None:
    install_log_redaction()
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        emulator = None
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crosspost-webapp-")))
        if args.emulator:
            emulator = await stack.enter_async_context(EmulatorServer(EmulatorState(processing_polls=0)))
            emulator.state.add_creator(username="crosspost.web", nickname="Crosspost Web")
            settings = emulator_settings(emulator, folder)
        else:
            settings = Settings.from_env()
        hub = await stack.enter_async_context(Hub.open(settings, http=http))
        app = make_app(hub, http, uploads=args.uploads or folder / "uploads", public_url=args.public_url)
        runner = web.AppRunner(app, access_log=None)  # request lines carry OAuth codes: keep them out of logs
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, args.host, args.port).start()
        url = f"http://{args.host}:{runner.addresses[0][1]}"
        if emulator is not None:
            emulator.state.webhook_url = url + WEBHOOK_PATH  # the emulator signs and sends TikTok's webhooks
            print(f"TikTok emulator on {emulator.base_url}", flush=True)
        print(f"crosspost web app on {url} (Ctrl-C stops it)", flush=True)
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
    parser.add_argument("--emulator", action="store_true", help="use the bundled TikTok emulator (temporary data)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--public-url", help="external base URL, e.g. https://posts.example.com "
                                             "(default: the URL each request came to)")
    parser.add_argument("--uploads", type=Path, help="folder for uploaded videos (default: a temporary one)")
    asyncio.run(serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
