"""XRPC error names to typed errors, session parsing, request building (no network)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from crosspost.core.accounts import Account
from crosspost.core.errors import AuthError, PermanentError, RateLimited, TransientError
from crosspost.plugins.bluesky import errors, session, xrpc

NOW = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def error(status: int, body: object, headers: dict[str, str] | None = None) -> Exception:
    return errors.error_for(errors.read_failure(status, body), headers or {}, now=NOW, what="creating a post")


@pytest.mark.parametrize(("status", "name", "kind", "needs_login"), [
    (400, "InvalidRequest", PermanentError, None),
    (400, "ExpiredToken", AuthError, False),
    (401, "InvalidToken", AuthError, True),
    (401, "AuthenticationRequired", AuthError, True),
    (400, "AccountTakedown", AuthError, True),
    (401, "AuthFactorTokenRequired", AuthError, True),
    (413, "PayloadTooLarge", PermanentError, None),
    (500, "InternalServerError", TransientError, None),
    (502, "UpstreamFailure", TransientError, None),
    (501, "MethodNotImplemented", PermanentError, None),
])
def test_xrpc_error_names_map_to_types(status: int, name: str, kind: type, needs_login: bool | None) -> None:
    exc = error(status, {"error": name, "message": "m"})
    assert type(exc) is kind
    assert exc.code == name  # type: ignore[attr-defined]
    if needs_login is not None:
        assert exc.needs_login is needs_login  # type: ignore[attr-defined]


def test_rate_limit_waits_until_ratelimit_reset_or_retry_after() -> None:
    reset = str(int(NOW.timestamp()) + 42)
    exc = error(429, {"error": "RateLimitExceeded"}, {"RateLimit-Reset": reset})
    assert isinstance(exc, RateLimited)
    assert exc.retry_after == 42
    exc = error(429, {"error": "RateLimitExceeded"}, {"Retry-After": "7"})
    assert isinstance(exc, RateLimited)
    assert exc.retry_after == 7


def test_bodies_not_in_xrpc_shape_fall_back_to_the_status() -> None:
    assert type(error(403, {"error": {"code": "x"}})) is PermanentError
    assert type(error(503, None)) is TransientError
    assert type(error(401, "<html>")) is AuthError


def jwt(exp: int) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"e30.{payload}.sig"


def test_session_parsing_reads_tokens_pds_and_expiry() -> None:
    body = {"did": "did:plc:a", "handle": "a.test", "accessJwt": jwt(int(NOW.timestamp()) + 30),
            "refreshJwt": jwt(int(NOW.timestamp()) + 86400), "emailConfirmed": True,
            "didDoc": {"service": [{"id": "#atproto_pds", "serviceEndpoint": "https://pds.example/"}]}}
    s = session.parse_session(body)
    assert s.pds == "https://pds.example"
    assert s.email_confirmed is True
    assert s.needs_refresh(NOW)  # 30 s left is inside the refresh margin
    assert "Jwt" not in repr(s)
    assert body["accessJwt"] not in repr(s)
    with pytest.raises(ValueError, match="refreshJwt"):
        session.parse_session({**body, "refreshJwt": ""})


def test_a_session_is_stored_in_the_account_secrets_and_read_back() -> None:
    s = session.parse_session({"did": "did:plc:a", "handle": "a.test", "accessJwt": jwt(1), "refreshJwt": jwt(2)})
    account = session.with_session(Account(platform="bluesky", name="main", secrets={"app_password": "p"}), s,
                                   service="https://bsky.social")
    assert set(account.secrets) == {"app_password", "access_jwt", "refresh_jwt"}
    assert account.profile["service"] == "https://bsky.social"
    assert account.profile["handle"] == "a.test"
    assert session.stored_session(account) == s
    assert session.jwt_expiry("not-a-jwt") is None


@pytest.mark.parametrize(("given", "ok"), [
    ("https://bsky.social", True), ("http://127.0.0.1:2583", True), ("http://localhost:2583/", True),
    ("http://[::1]:2583", True), ("http://bsky.social", False), ("ftp://x", False),
    ("https://bsky.social/xrpc", False), ("http://10.0.0.1", False),
])
def test_service_urls_plain_http_only_on_loopback(given: str, ok: bool) -> None:
    if ok:
        assert session.service_url(given).startswith(("http://", "https://"))
    else:
        with pytest.raises(ValueError, match="https://"):
            session.service_url(given)


def test_requests_carry_no_secret_in_their_repr() -> None:
    call = xrpc.create_session("a.test", "app-pass-word-1234")
    assert "app-pass-word-1234" not in repr(call)
    assert call.auth == "none"
    write = xrpc.create_record("did:plc:a", "3aaaaaaaaaa22", {"text": "x"})
    assert write.json is not None
    assert write.json["rkey"] == "3aaaaaaaaaa22"
    assert write.json["validate"] is True


def test_video_job_and_limits_parsing() -> None:
    job = xrpc.parse_job_status({"jobStatus": {"jobId": "j", "state": "JOB_STATE_COMPLETED", "blob": {"ref": {}}}})
    assert job.completed
    assert not job.failed
    assert xrpc.parse_job_status({"jobId": "j", "state": "JOB_STATE_FAILED", "error": "e"}).failed
    limits = xrpc.parse_upload_limits({"canUpload": True, "remainingDailyBytes": 5})
    assert limits.can_upload
    assert limits.remaining_bytes == 5
