"""Request building and response parsing: instance URLs, OAuth with PKCE, media, checkpoints."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from crosspost.core.errors import ConfigError
from crosspost.plugins.mastodon import sansio


@pytest.mark.parametrize(("given", "origin"), [
    ("mastodon.social", "https://mastodon.social"),
    ("https://Mastodon.Social/", "https://mastodon.social"),
    ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
    ("http://localhost:3000", "http://localhost:3000"),
    ("http://[::1]:3000", "http://[::1]:3000"),
])
def test_instance_urls_are_normalised_to_their_origin(given: str, origin: str) -> None:
    assert sansio.instance_origin(given) == origin


@pytest.mark.parametrize(("given", "says"), [
    ("http://mastodon.social", "loopback hosts only"),
    ("https://mastodon.social/@alice", "no path"),
    ("ftp://mastodon.social", "not an instance URL"),
    ("", "empty"),
])
def test_bad_instance_urls_are_refused_with_the_fix(given: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        sansio.instance_origin(given)


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    pkce = sansio.Pkce.new()
    expected = base64.urlsafe_b64encode(hashlib.sha256(pkce.verifier.encode()).digest()).rstrip(b"=").decode()
    assert pkce.challenge == expected
    assert pkce.verifier not in repr(pkce)


def test_authorize_url_carries_scopes_state_and_the_challenge() -> None:
    app = sansio.RegisteredApp(client_id="cid", client_secret="secret")
    pkce = sansio.Pkce.from_verifier("v" * 50)
    url = sansio.authorize_url("https://m.example", app, redirect_uri="http://127.0.0.1:9/cb", state="st", pkce=pkce)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == "/oauth/authorize"
    assert query == {"response_type": "code", "client_id": "cid", "redirect_uri": "http://127.0.0.1:9/cb",
                     "scope": "read write:statuses write:media", "state": "st", "code_challenge": pkce.challenge,
                     "code_challenge_method": "S256"}
    assert "secret" not in url


def test_app_registration_and_token_exchange_shapes() -> None:
    register = sansio.register_app_request("http://127.0.0.1:9/cb")
    assert register.json is not None
    assert register.json["scopes"] == "read write:statuses write:media"
    assert not register.authorized
    app = sansio.parse_app({"client_id": "cid", "client_secret": "sec"})
    token = sansio.token_request(app, code="c0de", redirect_uri="http://127.0.0.1:9/cb", verifier="ver")
    assert token.form is not None
    assert token.form["grant_type"] == "authorization_code"
    assert token.form["code_verifier"] == "ver"
    assert sansio.parse_token({"access_token": "t", "scope": "read write:media"}).scopes == ("read", "write:media")
    with pytest.raises(ValueError, match="access_token"):
        sansio.parse_token({"error": "nope"})


def test_media_is_ready_only_with_200_and_a_url() -> None:
    assert sansio.parse_media(200, {"id": "1", "url": "https://f/1"}).ready
    assert not sansio.parse_media(202, {"id": "1", "url": None}).ready
    assert not sansio.parse_media(206, {"id": "1", "url": None}).ready
    assert not sansio.parse_media(200, {"id": "1", "url": None}).ready


def test_upload_sends_alt_text_as_description() -> None:
    request = sansio.upload_media_request("/tmp/a.jpg", mime="image/jpeg", filename="a.jpg", description="a cat")
    assert request.form == {"description": "a cat"}
    assert request.path == "/api/v2/media"
    assert request.upload is not None
    assert request.upload.mime == "image/jpeg"


def test_idempotency_keys_are_stable_per_job_and_part() -> None:
    assert sansio.idempotency_key("job", 0) == sansio.idempotency_key("job", 0)
    assert len({sansio.idempotency_key("job", 0), sansio.idempotency_key("job", 1),
                sansio.idempotency_key("other", 0)}) == 3


def test_checkpoint_round_trips_through_json() -> None:
    done = sansio.Checkpoint(media=(("1", True), ("2", False)), parts=("10",), urls=("https://x/10",),
                             sending=(1, "2026-01-01T00:00:00+00:00"))
    assert sansio.Checkpoint.from_json(done.to_json()) == done
    assert sansio.Checkpoint.from_json({}) == sansio.Checkpoint()


def test_profile_is_stored_with_the_instance_and_full_handle() -> None:
    profile = sansio.parse_profile({"id": 5, "username": "alice", "display_name": ""})
    data = profile.to_json("https://m.example")
    assert data["instance"] == "https://m.example"
    assert data["acct"] == "alice@m.example"
    assert data["display_name"] == "alice"
