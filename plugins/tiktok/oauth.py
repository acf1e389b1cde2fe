"""TikTok OAuth v2 (Login Kit): PKCE, authorize URL, callback, token exchange, refresh, revoke.

Pure parts build URLs and parse answers; the I/O parts send form-encoded bodies with an injected
``aiohttp.ClientSession``. Facts this relies on (``tiktok-api.md`` §8):

- Desktop PKCE uses the *hex* SHA-256 of the verifier, not RFC 7636's base64url; a base64url
  challenge fails the exchange with "Code verifier or code challenge is invalid.".
- Scopes are comma-separated, and a user may grant fewer than asked (:func:`missing_scopes`).
- Lifetimes come from ``expires_in`` / ``refresh_expires_in`` (24 h / 365 d seen in real answers,
  2 h / 180 d in newer docs); nothing here hard-codes them.
- Refresh tokens may rotate: the answer's ``refresh_token`` replaces the old one, which dies.
  Callers must store the new :class:`TokenSet` before using it.
- Errors are OAuth-style ``{"error","error_description","log_id"}``; :func:`oauth_error` turns
  them into typed errors that say what to do.

Web apps that run their own redirect endpoint use :func:`start_authorization`, keep the returned
``state`` and ``code_verifier`` (e.g. in the session), then call :func:`finish_authorization`.
Command-line logins use :func:`login_via_loopback`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import string
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import attrs

from crosspost.core.clock import Clock, SystemClock
from crosspost.core.errors import AuthError, ConfigError, PermanentError, PlatformError, RateLimited, TransientError
from crosspost.core.secrets import redact
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.requests import DEFAULT_API_BASE

if TYPE_CHECKING:
    from aiohttp import web

PLATFORM = "tiktok"
DEFAULT_AUTH_BASE = "https://www.tiktok.com"
AUTHORIZE_PATH = "/v2/auth/authorize/"
TOKEN_PATH = "/v2/oauth/token/"
REVOKE_PATH = "/v2/oauth/revoke/"
REQUIRED_SCOPES = ("video.publish", "video.upload")
"""Scopes crosspost needs: Direct Post (``video.publish``) and drafts (``video.upload``)."""
DEFAULT_SCOPES = ("user.info.basic", *REQUIRED_SCOPES)
_VERIFIER_CHARS = string.ascii_letters + string.digits + "-._~"
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-cache"}


def login_hint(account: str | None) -> str:
    return f"Run `crosspost accounts login tiktok {account or 'NAME'}` to log in again."


# --- pure parts ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Pkce:
    """A PKCE pair: keep ``verifier`` secret until the exchange; send ``challenge`` in the URL."""

    verifier: str = attrs.field(repr=False)
    challenge: str


def new_pkce(length: int = 64) -> Pkce:
    """A random verifier (``[A-Za-z0-9-._~]``, 43 to 128 chars) and its hex SHA-256 challenge."""
    if not 43 <= length <= 128:
        raise ValueError("a PKCE verifier is 43 to 128 characters long")
    verifier = "".join(secrets.choice(_VERIFIER_CHARS) for _ in range(length))
    return Pkce(verifier=verifier, challenge=hashlib.sha256(verifier.encode("ascii")).hexdigest())


def new_state() -> str:
    """An unguessable CSRF token for the ``state`` parameter."""
    return secrets.token_urlsafe(32)


def authorize_url(
    *,
    client_key: str,
    redirect_uri: str,
    scopes: Iterable[str],
    state: str,
    code_challenge: str | None = None,
    base: str = DEFAULT_AUTH_BASE,
    disable_auto_auth: int | None = None,
) -> str:
    """The URL to send the user's browser to. ``code_challenge`` is for desktop/mobile (PKCE)."""
    params: dict[str, str] = {
        "client_key": client_key,
        "response_type": "code",
        "scope": ",".join(scopes),
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if code_challenge is not None:
        params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
    if disable_auto_auth is not None:
        params["disable_auto_auth"] = str(disable_auto_auth)
    return f"{base.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(params)}"


class StateMismatch(AuthError):
    """The callback's ``state`` is not the one sent: a stale tab, a pasted wrong URL, or CSRF."""


class AuthorizationDenied(AuthError):
    """The user (or TikTok) declined the authorization."""


def parse_callback(url_or_query: str, *, expected_state: str) -> str:
    """The authorization ``code`` from the redirect URL (or its query string).

    Raises :class:`StateMismatch` when ``state`` differs (checked in constant time, and before
    anything else is trusted), :class:`AuthorizationDenied` for ``error=access_denied`` and
    :class:`AuthError` for other ``error`` values or a missing code.
    """
    query = urlsplit(url_or_query.strip()).query if "?" in url_or_query else url_or_query.strip().lstrip("?")
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    state = params.get("state", "")
    if not secrets.compare_digest(state.encode(), expected_state.encode()):
        raise StateMismatch(
            "the login answer does not belong to this login attempt (state mismatch)",
            code="state_mismatch",
            hint="Start the login again and use the newest browser tab; paste the whole redirect URL.",
            platform=PLATFORM,
        )
    error = params.get("error")
    if error:
        description = redact(params.get("error_description", ""))
        if error == "access_denied":
            raise AuthorizationDenied(
                f"TikTok authorization was declined{': ' + description if description else ''}",
                code=error,
                hint="Log in again and approve the requested permissions.",
                platform=PLATFORM,
            )
        detail = f" ({params['error_type']})" if params.get("error_type") else ""
        raise AuthError(
            f"TikTok refused the authorization: {error}{detail} {description}".strip(),
            code=error,
            hint=_CALLBACK_HINTS.get(error, ""),
            platform=PLATFORM,
        )
    code = params.get("code")
    if not code:
        raise AuthError("the login answer carries no authorization code", code="no_code", platform=PLATFORM)
    return code


_CALLBACK_HINTS = {
    "unauthorized_client": "Check CROSSPOST_TIKTOK_CLIENT_KEY and that Login Kit is added to the app.",
    "invalid_scope": "The app lacks a requested scope: add the Content Posting API product in the developer portal.",
    "invalid_request": "Check the redirect URI is registered exactly for this app (sandbox and production differ).",
}


def missing_scopes(granted: Iterable[str] | str, required: Iterable[str] = REQUIRED_SCOPES) -> list[str]:
    """Required scopes absent from ``granted`` (a list or TikTok's comma-separated string)."""
    have = {s.strip() for s in (granted.split(",") if isinstance(granted, str) else granted)}
    return [s for s in required if s not in have]


def missing_scope_error(missing: Iterable[str], *, account: str | None = None) -> AuthError:
    """The error to show when a login granted less than crosspost needs."""
    names = ", ".join(missing)
    return AuthError(
        f"TikTok did not grant {names}",
        code="scope_not_granted",
        hint=(
            "Log in again and allow every permission; if TikTok never asks for it, add the Content Posting "
            f"API product (with Direct Post) to the app in the developer portal. {login_hint(account)}"
        ),
        platform=PLATFORM,
        needs_login=True,
    )


@attrs.frozen(kw_only=True)
class TokenSet:
    """Tokens from one successful exchange or refresh, with absolute expiry times."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    open_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    refresh_expires_at: datetime | None
    token_type: str = "Bearer"

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, now: datetime, previous_refresh_token: str = "") -> TokenSet:
        """Parse the flat token answer; lifetimes are counted from ``now``.

        A refresh answer without ``refresh_token`` keeps ``previous_refresh_token``.
        """
        try:
            access = str(data["access_token"])
            expires_in = int(data["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise PermanentError(
                "TikTok's token answer has no access_token/expires_in", code="bad_token_response", platform=PLATFORM
            ) from None
        refresh = str(data.get("refresh_token") or previous_refresh_token)
        refresh_in = data.get("refresh_expires_in")
        return cls(
            access_token=access,
            refresh_token=refresh,
            open_id=str(data.get("open_id", "")),
            scopes=tuple(s.strip() for s in str(data.get("scope", "")).split(",") if s.strip()),
            expires_at=now + timedelta(seconds=expires_in),
            refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in is not None else None,
            token_type=str(data.get("token_type", "Bearer")),
        )

    def missing_scopes(self, required: Iterable[str] = REQUIRED_SCOPES) -> list[str]:
        return missing_scopes(self.scopes, required)

    def as_secrets(self) -> dict[str, str]:
        """The values to keep in ``Account.secrets`` (encrypted at rest)."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token}


def oauth_error(
    status: int, body: Mapping[str, Any] | None, *, grant: str = "", account: str | None = None
) -> PlatformError:
    """A typed error for an OAuth error answer (``grant`` is the grant_type that was sent)."""
    body = body or {}
    error = str(body.get("error") or f"http_{status}")
    description = redact(str(body.get("error_description") or ""))
    log_id = str(body["log_id"]) if body.get("log_id") else None
    message = f"TikTok OAuth error {error}: {description}".rstrip(": ")
    kw: dict[str, Any] = {"code": error, "platform": PLATFORM, "log_id": log_id}
    if status == 429:
        return RateLimited(message, **kw)
    if error in ("server_error", "temporarily_unavailable") or status >= 500:
        return TransientError(message, **kw)
    if error == "invalid_grant" and grant == "refresh_token":
        return AuthError(message, needs_login=True, hint=f"The refresh token is dead. {login_hint(account)}", **kw)
    if error == "invalid_grant":
        return AuthError(message, hint="The authorization code expired or was used already; log in again.", **kw)
    if error in ("invalid_client", "unauthorized_client"):
        hint = "Check CROSSPOST_TIKTOK_CLIENT_KEY and CROSSPOST_TIKTOK_CLIENT_SECRET (sandbox and production differ)."
        return AuthError(message, hint=hint, **kw)
    if error == "invalid_request" and "verifier" in description.lower():
        return AuthError(message, hint="Use the verifier whose hex SHA-256 was sent as code_challenge.", **kw)
    if error == "invalid_request" and "redirect" in description.lower():
        return AuthError(message, hint="Use exactly the redirect_uri sent in the authorize URL.", **kw)
    return AuthError(message, **kw) if error.startswith("invalid_") else PermanentError(message, **kw)


# --- I/O parts -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OAuthApp:
    """The TikTok app crosspost logs in through (``CROSSPOST_TIKTOK_*`` settings)."""

    client_key: str
    client_secret: str = attrs.field(repr=False)
    api_base: str = DEFAULT_API_BASE
    auth_base: str = DEFAULT_AUTH_BASE

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthApp:
        conf = settings.platform(PLATFORM)
        key, secret = conf.get("client_key", ""), conf.get("client_secret", "")
        if not key or not secret:
            raise ConfigError(
                "TikTok login needs CROSSPOST_TIKTOK_CLIENT_KEY and CROSSPOST_TIKTOK_CLIENT_SECRET "
                "(from your app in the TikTok developer portal)"
            )
        return cls(
            client_key=key,
            client_secret=secret,
            api_base=conf.get("api_base") or DEFAULT_API_BASE,
            auth_base=conf.get("auth_base") or DEFAULT_AUTH_BASE,
        )


async def _post_form(
    http: aiohttp.ClientSession, url: str, form: Mapping[str, str], *, grant: str = "", account: str | None = None
) -> Mapping[str, Any]:
    """POST a form and return the JSON answer (``{}`` for an empty body), or raise a typed error."""
    try:
        async with http.post(url, data=dict(form), headers=_FORM_HEADERS) as resp:
            raw = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientError(
            f"TikTok OAuth endpoint unreachable ({type(exc).__name__})", code="network", platform=PLATFORM
        ) from None
    body: Any = {}
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
    if not isinstance(body, Mapping):
        err = TransientError if status >= 500 else PermanentError
        raise err(f"TikTok OAuth answered HTTP {status} without JSON", code=f"http_{status}", platform=PLATFORM)
    if status >= 400 or body.get("error"):
        raise oauth_error(status, body, grant=grant, account=account)
    return body


async def exchange_code(
    http: aiohttp.ClientSession,
    *,
    api_base: str,
    client_key: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
    now: datetime,
) -> TokenSet:
    """Trade an authorization code for tokens (``code_verifier`` for desktop/mobile PKCE)."""
    form = {
        "client_key": client_key,
        "client_secret": client_secret,
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri,
    }
    if code_verifier:
        form["code_verifier"] = code_verifier
    body = await _post_form(http, api_base.rstrip("/") + TOKEN_PATH, form, grant="authorization_code")
    return TokenSet.from_response(body, now=now)


async def refresh_tokens(
    http: aiohttp.ClientSession,
    *,
    api_base: str,
    client_key: str,
    client_secret: str,
    refresh_token: str,
    now: datetime,
    account: str | None = None,
) -> TokenSet:
    """New tokens from a refresh token. The answer's refresh token may differ (rotation): store
    the returned :class:`TokenSet` before using it. A dead refresh token raises
    ``AuthError(needs_login=True)`` naming the login command for ``account``."""
    form = {
        "client_key": client_key,
        "client_secret": client_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    url = api_base.rstrip("/") + TOKEN_PATH
    body = await _post_form(http, url, form, grant="refresh_token", account=account)
    return TokenSet.from_response(body, now=now, previous_refresh_token=refresh_token)


async def revoke_token(
    http: aiohttp.ClientSession, *, api_base: str, client_key: str, client_secret: str, access_token: str
) -> None:
    """Revoke the app's access for the token's user (TikTok answers with an empty body)."""
    form = {"client_key": client_key, "client_secret": client_secret, "token": access_token}
    await _post_form(http, api_base.rstrip("/") + REVOKE_PATH, form, grant="revoke")


# --- steps for apps with their own redirect endpoint ------------------------------------------


@attrs.frozen(kw_only=True)
class PendingAuthorization:
    """What to keep between sending the user to TikTok and receiving the callback."""

    url: str
    state: str = attrs.field(repr=False)
    code_verifier: str | None = attrs.field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...]


def start_authorization(
    app: OAuthApp, *, redirect_uri: str, scopes: Iterable[str] = DEFAULT_SCOPES, pkce: bool = True
) -> PendingAuthorization:
    """Step 1: the authorize URL plus the state (and PKCE verifier) to keep for step 2.

    Server-side web apps may pass ``pkce=False`` (TikTok's web flow authenticates with the client
    secret); desktop and mobile flows need PKCE.
    """
    pair = new_pkce() if pkce else None
    state = new_state()
    scopes = tuple(scopes)
    url = authorize_url(
        client_key=app.client_key,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=pair.challenge if pair else None,
        base=app.auth_base,
    )
    return PendingAuthorization(
        url=url,
        state=state,
        code_verifier=pair.verifier if pair else None,
        redirect_uri=redirect_uri,
        scopes=scopes,
    )


async def finish_authorization(
    http: aiohttp.ClientSession, app: OAuthApp, pending: PendingAuthorization, callback: str, *, now: datetime
) -> TokenSet:
    """Step 2: check the callback's state, exchange its code, return the tokens.

    Check :meth:`TokenSet.missing_scopes` afterwards: the user may have granted fewer scopes.
    """
    code = parse_callback(callback, expected_state=pending.state)
    return await exchange_code(
        http,
        api_base=app.api_base,
        client_key=app.client_key,
        client_secret=app.client_secret,
        code=code,
        redirect_uri=pending.redirect_uri,
        code_verifier=pending.code_verifier,
        now=now,
    )


# --- command-line login through a loopback redirect -------------------------------------------

CALLBACK_PATH = "/callback/"


async def login_via_loopback(
    http: aiohttp.ClientSession,
    *,
    app: OAuthApp,
    clock: Clock | None = None,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    open_browser: Callable[[str], None] | None = None,
    read_pasted_url: Callable[[], Awaitable[str]] | None = None,
    show_url: Callable[[str], None] | None = None,
    port: int = 0,
    host: str = "127.0.0.1",
) -> TokenSet:
    """Log in from a terminal: listen on ``http://127.0.0.1:PORT/callback/``, send the user to
    TikTok, check ``state``, exchange the code (PKCE, hex challenge).

    The authorize URL goes to ``show_url`` (print it) and ``open_browser`` (e.g.
    ``webbrowser.open``). With ``read_pasted_url`` (``--no-browser`` on a server) the user may
    instead paste the URL the browser was redirected to; whichever answer comes first wins.
    ``port=0`` picks a free port: register ``http://127.0.0.1:*/callback/`` (desktop apps allow
    a wildcard port). Wrap the call in ``asyncio.timeout`` to bound the wait. The result may hold
    fewer scopes than asked: check :meth:`TokenSet.missing_scopes` and :func:`missing_scope_error`.
    """
    from aiohttp import web  # the callback server: ~15 ms of imports only `accounts add` needs

    clock = clock or SystemClock()
    pkce, state = new_pkce(), new_state()
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def settle(callback: str) -> None:
        try:
            code = parse_callback(callback, expected_state=state)
        except AuthError as exc:
            if not answer.done():
                answer.set_exception(exc)
            raise
        if not answer.done():
            answer.set_result(code)

    async def on_callback(request: web.Request) -> web.Response:
        try:
            settle(request.rel_url.raw_query_string)
        except AuthError as exc:
            return web.Response(status=400, text=f"crosspost login failed: {exc}\nYou can close this tab.")
        return web.Response(text="crosspost is now logged in to TikTok. You can close this tab.")

    async def pasted() -> None:
        assert read_pasted_url is not None
        with contextlib.suppress(AuthError):
            settle(await read_pasted_url())

    web_app = web.Application()
    web_app.router.add_get(CALLBACK_PATH, on_callback)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    paste_task: asyncio.Task[None] | None = None
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        redirect_uri = f"http://{host}:{runner.addresses[0][1]}{CALLBACK_PATH}"
        url = authorize_url(
            client_key=app.client_key,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            code_challenge=pkce.challenge,
            base=app.auth_base,
        )
        for present in (show_url, open_browser):
            if present is not None:
                present(url)
        if read_pasted_url is not None:
            paste_task = asyncio.create_task(pasted())
        code = await answer
    finally:
        if paste_task is not None:
            paste_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await paste_task
        await runner.cleanup()
    return await exchange_code(
        http,
        api_base=app.api_base,
        client_key=app.client_key,
        client_secret=app.client_secret,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=pkce.verifier,
        now=clock.now(),
    )
