"""TikTok OAuth: PKCE (hex), authorize URL, callback checks, token exchange/refresh/revoke, loopback login.

The token endpoints here are a tiny in-test aiohttp server on 127.0.0.1 that records what it was
sent and answers with canned TikTok-shaped bodies (tiktok-api.md §8).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from crosspost.core.clock import FakeClock
from crosspost.core.errors import AuthError, ConfigError, PermanentError, RateLimited, TransientError
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.oauth import (
    DEFAULT_SCOPES,
    AuthorizationDenied,
    OAuthApp,
    StateMismatch,
    TokenSet,
    authorize_url,
    exchange_code,
    finish_authorization,
    login_via_loopback,
    missing_scope_error,
    missing_scopes,
    new_pkce,
    oauth_error,
    parse_callback,
    refresh_tokens,
    revoke_token,
    start_authorization,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CLIENT_SECRET = "client-secret-value-xyz"
TOKEN_ANSWER = {
    "access_token": "act.example12345Example12345Example",
    "expires_in": 86400,
    "open_id": "afd97af1-b87b-48b9-ac98-410aghda5344",
    "refresh_expires_in": 31536000,
    "refresh_token": "rft.example12345Example12345Example",
    "scope": "user.info.basic,video.publish,video.upload",
    "token_type": "Bearer",
}


class FakeOAuthServer:
    """Records every form posted; answers from ``answers`` (status, body) or the default."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self.content_types: list[str] = []
        self.answers: list[tuple[int, Any]] = []
        self.server: TestServer | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.content_types.append(request.content_type)
        self.forms.append({k: str(v) for k, v in (await request.post()).items()})
        status, body = self.answers.pop(0) if self.answers else (200, TOKEN_ANSWER)
        if body is None:
            return web.Response(status=status)
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html")
        return web.json_response(body, status=status)

    @property
    def base(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")


@pytest.fixture
async def tiktok() -> AsyncIterator[FakeOAuthServer]:
    fake = FakeOAuthServer()
    app = web.Application()
    app.router.add_post("/v2/oauth/token/", fake._handle)
    app.router.add_post("/v2/oauth/revoke/", fake._handle)
    fake.server = TestServer(app, host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _app(fake: FakeOAuthServer) -> OAuthApp:
    return OAuthApp(client_key="ck123", client_secret=CLIENT_SECRET, api_base=fake.base, auth_base="https://auth.test")


def _params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# --- pure parts --------------------------------------------------------------------------------


def test_pkce_challenge_is_the_hex_sha256_of_the_verifier_not_base64url() -> None:
    pkce = new_pkce()
    assert pkce.challenge == hashlib.sha256(pkce.verifier.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", pkce.challenge)
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{64}", pkce.verifier)
    assert pkce.verifier not in repr(pkce)
    assert new_pkce().verifier != pkce.verifier


@pytest.mark.parametrize("length", [42, 129])
def test_pkce_verifier_length_outside_43_to_128_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="43 to 128"):
        new_pkce(length)


def test_authorize_url_carries_comma_separated_scopes_state_and_s256_challenge() -> None:
    url = authorize_url(
        client_key="ck123",
        redirect_uri="http://127.0.0.1:8765/callback/",
        scopes=DEFAULT_SCOPES,
        state="st4te",
        code_challenge="ab" * 32,
    )
    assert url.startswith("https://www.tiktok.com/v2/auth/authorize/?")
    assert _params(url) == {
        "client_key": "ck123",
        "response_type": "code",
        "scope": "user.info.basic,video.publish,video.upload",
        "redirect_uri": "http://127.0.0.1:8765/callback/",
        "state": "st4te",
        "code_challenge": "ab" * 32,
        "code_challenge_method": "S256",
    }


def test_authorize_url_for_web_apps_has_no_pkce() -> None:
    url = authorize_url(client_key="k", redirect_uri="https://app.example/cb", scopes=["video.upload"], state="s")
    assert "code_challenge" not in _params(url)


def test_callback_returns_the_code_from_a_full_url_or_a_query() -> None:
    url = "http://127.0.0.1:1/callback/?code=c%2A0de&scopes=video.publish&state=s1"
    assert parse_callback(url, expected_state="s1") == "c*0de"
    assert parse_callback("code=abc&state=s1", expected_state="s1") == "abc"


@pytest.mark.parametrize("query", ["code=abc&state=other", "code=abc", "error=access_denied&state=evil"])
def test_callback_with_a_foreign_state_is_refused_before_anything_else(query: str) -> None:
    with pytest.raises(StateMismatch, match="state mismatch") as info:
        parse_callback(query, expected_state="mine")
    assert "Start the login again" in str(info.value)


def test_callback_access_denied_is_a_typed_error() -> None:
    with pytest.raises(AuthorizationDenied, match="declined") as info:
        parse_callback("error=access_denied&error_description=User+cancelled&state=s", expected_state="s")
    assert info.value.code == "access_denied"


def test_callback_misconfigured_app_names_the_client_key_setting() -> None:
    with pytest.raises(AuthError, match=r"unauthorized_client \(client_key\).*CROSSPOST_TIKTOK_CLIENT_KEY"):
        parse_callback("error=unauthorized_client&error_type=client_key&state=s", expected_state="s")


def test_callback_without_code_is_refused() -> None:
    with pytest.raises(AuthError, match="no authorization code"):
        parse_callback("state=s", expected_state="s")


def test_token_set_expiry_comes_from_the_answer_and_the_injected_clock() -> None:
    short = {**TOKEN_ANSWER, "expires_in": 7200, "refresh_expires_in": 15552000}
    tokens = TokenSet.from_response(short, now=NOW)
    assert tokens.expires_at == NOW + timedelta(hours=2)
    assert tokens.refresh_expires_at == NOW + timedelta(days=180)
    assert tokens.scopes == ("user.info.basic", "video.publish", "video.upload")
    assert "act." not in repr(tokens)
    assert "rft." not in repr(tokens)


def test_refresh_answer_without_refresh_token_keeps_the_previous_one() -> None:
    body = {k: v for k, v in TOKEN_ANSWER.items() if k != "refresh_token"}
    assert TokenSet.from_response(body, now=NOW, previous_refresh_token="rft.old").refresh_token == "rft.old"


def test_token_answer_without_access_token_is_a_clear_error() -> None:
    with pytest.raises(PermanentError, match="no access_token"):
        TokenSet.from_response({"open_id": "x"}, now=NOW)


def test_missing_scopes_reads_lists_and_tiktoks_comma_string() -> None:
    assert missing_scopes("user.info.basic,video.upload") == ["video.publish"]
    assert missing_scopes(["video.publish", "video.upload"]) == []
    error = missing_scope_error(["video.publish"], account="main")
    assert "video.publish" in str(error)
    assert "crosspost accounts login tiktok main" in str(error)
    assert error.needs_login


@pytest.mark.parametrize(
    ("status", "body", "grant", "kind", "text"),
    [
        (400, {"error": "invalid_grant", "error_description": "Refresh token is invalid or expired."},
         "refresh_token", AuthError, "crosspost accounts login tiktok NAME"),
        (401, {"error": "invalid_client", "error_description": "Client key or secret is incorrect."},
         "authorization_code", AuthError, "CROSSPOST_TIKTOK_CLIENT_SECRET"),
        (400, {"error": "invalid_request", "error_description": "Code verifier or code challenge is invalid."},
         "authorization_code", AuthError, "hex SHA-256"),
        (400, {"error": "invalid_grant", "error_description": "Authorization code is expired."},
         "authorization_code", AuthError, "log in again"),
        (500, {"error": "server_error", "error_description": ""}, "refresh_token", TransientError, "server_error"),
        (429, {"error": "rate_limit_exceeded"}, "refresh_token", RateLimited, "rate_limit_exceeded"),
        (400, {"error": "unsupported_grant_type"}, "x", PermanentError, "unsupported_grant_type"),
    ],
)  # fmt: skip
def test_oauth_errors_become_typed_errors_with_the_fix(
    status: int, body: dict[str, str], grant: str, kind: type[Exception], text: str
) -> None:
    error = oauth_error(status, {**body, "log_id": "202206221854370101130062072500FFA2"}, grant=grant)
    assert isinstance(error, kind)
    assert text in str(error)
    assert error.log_id == "202206221854370101130062072500FFA2"
    assert error.platform == "tiktok"


def test_dead_refresh_token_marks_the_account_for_login() -> None:
    error = oauth_error(400, {"error": "invalid_grant"}, grant="refresh_token", account="main")
    assert isinstance(error, AuthError)
    assert error.needs_login
    assert "crosspost accounts login tiktok main" in str(error)


def test_app_settings_need_client_key_and_secret() -> None:
    with pytest.raises(ConfigError, match="CROSSPOST_TIKTOK_CLIENT_KEY"):
        OAuthApp.from_settings(Settings.from_env({}))
    env = {"CROSSPOST_TIKTOK_CLIENT_KEY": "k", "CROSSPOST_TIKTOK_CLIENT_SECRET": CLIENT_SECRET}
    app = OAuthApp.from_settings(Settings.from_env(env))
    assert app.api_base == "https://open.tiktokapis.com"
    assert CLIENT_SECRET not in repr(app)


# --- I/O against the in-test server --------------------------------------------------------------


async def test_exchange_posts_a_form_with_the_verifier_and_returns_tokens(
    tiktok: FakeOAuthServer, http: aiohttp.ClientSession
) -> None:
    tokens = await exchange_code(
        http,
        api_base=tiktok.base,
        client_key="ck123",
        client_secret=CLIENT_SECRET,
        code="the-code",
        redirect_uri="http://127.0.0.1:9/callback/",
        code_verifier="v" * 43,
        now=NOW,
    )
    assert tiktok.content_types == ["application/x-www-form-urlencoded"]
    assert tiktok.forms[0] == {
        "client_key": "ck123",
        "client_secret": CLIENT_SECRET,
        "code": "the-code",
        "grant_type": "authorization_code",
        "redirect_uri": "http://127.0.0.1:9/callback/",
        "code_verifier": "v" * 43,
    }
    assert tokens.access_token == TOKEN_ANSWER["access_token"]
    assert tokens.expires_at == NOW + timedelta(seconds=86400)
    assert tokens.open_id == TOKEN_ANSWER["open_id"]


async def test_refresh_returns_the_rotated_refresh_token(tiktok: FakeOAuthServer, http: aiohttp.ClientSession) -> None:
    tiktok.answers.append((200, {**TOKEN_ANSWER, "access_token": "act.new", "refresh_token": "rft.new"}))
    tokens = await refresh_tokens(
        http, api_base=tiktok.base, client_key="ck123", client_secret=CLIENT_SECRET, refresh_token="rft.old", now=NOW
    )
    assert (tokens.access_token, tokens.refresh_token) == ("act.new", "rft.new")
    assert tiktok.forms[0]["grant_type"] == "refresh_token"
    assert tiktok.forms[0]["refresh_token"] == "rft.old"


async def test_refresh_with_a_dead_token_needs_login_and_leaks_no_secret(
    tiktok: FakeOAuthServer, http: aiohttp.ClientSession
) -> None:
    tiktok.answers.append((400, {"error": "invalid_grant", "error_description": "Refresh token is invalid or expired.",
                                 "log_id": "20260301120000ABCDEF0123456789ABCD"}))  # fmt: skip
    with pytest.raises(AuthError) as info:
        await refresh_tokens(
            http,
            api_base=tiktok.base,
            client_key="ck123",
            client_secret=CLIENT_SECRET,
            refresh_token="rft.dead-token-value",
            now=NOW,
            account="main",
        )
    assert info.value.needs_login
    text = f"{info.value} {info.value.to_dict()}"
    assert "crosspost accounts login tiktok main" in text
    assert "rft.dead-token-value" not in text
    assert CLIENT_SECRET not in text


async def test_revoke_accepts_tiktoks_empty_body(tiktok: FakeOAuthServer, http: aiohttp.ClientSession) -> None:
    tiktok.answers.append((200, None))
    await revoke_token(
        http, api_base=tiktok.base, client_key="ck123", client_secret=CLIENT_SECRET, access_token="act.x"
    )
    assert tiktok.forms[0] == {"client_key": "ck123", "client_secret": CLIENT_SECRET, "token": "act.x"}


async def test_html_error_page_from_a_proxy_is_transient(tiktok: FakeOAuthServer, http: aiohttp.ClientSession) -> None:
    tiktok.answers.append((502, "<html>Bad Gateway</html>"))
    with pytest.raises(TransientError, match="HTTP 502 without JSON"):
        await revoke_token(
            http, api_base=tiktok.base, client_key="k", client_secret=CLIENT_SECRET, access_token="act.x"
        )


async def test_unreachable_endpoint_is_transient(http: aiohttp.ClientSession) -> None:
    with pytest.raises(TransientError, match="unreachable"):
        await revoke_token(
            http, api_base="http://127.0.0.1:1", client_key="k", client_secret=CLIENT_SECRET, access_token="act.x"
        )


async def test_web_app_steps_keep_state_and_verifier_then_exchange(
    tiktok: FakeOAuthServer, http: aiohttp.ClientSession
) -> None:
    pending = start_authorization(_app(tiktok), redirect_uri="https://app.example/tiktok/callback")
    params = _params(pending.url)
    assert params["state"] == pending.state
    assert pending.code_verifier is not None
    assert params["code_challenge"] == hashlib.sha256(pending.code_verifier.encode()).hexdigest()
    callback = f"https://app.example/tiktok/callback?code=abc&state={pending.state}"
    tokens = await finish_authorization(http, _app(tiktok), pending, callback, now=NOW)
    assert tokens.refresh_token == TOKEN_ANSWER["refresh_token"]
    assert tiktok.forms[0]["redirect_uri"] == "https://app.example/tiktok/callback"
    with pytest.raises(StateMismatch):
        await finish_authorization(http, _app(tiktok), pending, "code=abc&state=forged", now=NOW)


def _tiktok_redirect(authorize: str, **extra: str) -> str:
    """What TikTok would redirect the browser to after consent."""
    params = _params(authorize)
    query = {"code": "loopback-code", "scopes": params["scope"], "state": params["state"], **extra}
    return f"{params['redirect_uri']}?{urlencode(query)}"


async def test_loopback_login_receives_the_browser_redirect_and_exchanges_the_code(
    tiktok: FakeOAuthServer, http: aiohttp.ClientSession
) -> None:
    shown: list[str] = []
    visits: list[asyncio.Task[int]] = []

    async def browser(url: str) -> int:
        async with aiohttp.ClientSession() as b, b.get(_tiktok_redirect(url)) as resp:
            return resp.status

    tokens = await login_via_loopback(
        http,
        app=_app(tiktok),
        clock=FakeClock(NOW),
        show_url=shown.append,
        open_browser=lambda url: visits.append(asyncio.create_task(browser(url))),
    )
    assert await visits[0] == 200
    params = _params(shown[0])
    assert shown[0].startswith("https://auth.test/v2/auth/authorize/?")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback/", params["redirect_uri"])
    form = tiktok.forms[0]
    assert form["code"] == "loopback-code"
    assert form["redirect_uri"] == params["redirect_uri"]
    assert hashlib.sha256(form["code_verifier"].encode()).hexdigest() == params["code_challenge"]
    assert tokens.expires_at == NOW + timedelta(days=1)


async def test_loopback_login_refuses_a_callback_with_a_foreign_state(
    tiktok: FakeOAuthServer, http: aiohttp.ClientSession
) -> None:
    visits: list[asyncio.Task[int]] = []

    async def attacker(url: str) -> int:
        async with aiohttp.ClientSession() as b, b.get(_tiktok_redirect(url, state="forged")) as resp:
            return resp.status

    with pytest.raises(StateMismatch):
        await login_via_loopback(
            http, app=_app(tiktok), open_browser=lambda url: visits.append(asyncio.create_task(attacker(url)))
        )
    assert await visits[0] == 400
    assert tiktok.forms == []  # no code was exchanged


async def test_no_browser_login_accepts_the_pasted_redirect_url(
    tiktok: FakeOAuthServer, http: aiohttp.ClientSession
) -> None:
    shown: list[str] = []

    async def paste() -> str:
        await asyncio.sleep(0)
        return _tiktok_redirect(shown[0])

    tokens = await login_via_loopback(http, app=_app(tiktok), show_url=shown.append, read_pasted_url=paste)
    assert tokens.open_id == TOKEN_ANSWER["open_id"]
    assert tiktok.forms[0]["code"] == "loopback-code"


async def test_no_browser_login_with_denied_consent_raises_the_denial(
    tiktok: FakeOAuthServer, http: aiohttp.ClientSession
) -> None:
    shown: list[str] = []

    async def paste() -> str:
        await asyncio.sleep(0)
        state = _params(shown[0])["state"]
        return f"http://127.0.0.1:1/callback/?error=access_denied&state={state}"

    with pytest.raises(AuthorizationDenied):
        await login_via_loopback(http, app=_app(tiktok), show_url=shown.append, read_pasted_url=paste)
