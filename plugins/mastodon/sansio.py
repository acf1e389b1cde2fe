"""Mastodon's wire, as pure functions: requests as frozen values, responses parsed into models.

Nothing here sends anything: :mod:`crosspost.plugins.mastodon.client` does. Every request the
plugin makes is built here, so tests can check shapes without a server.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs

from crosspost.core.errors import ConfigError
from crosspost.plugins.mastodon.options import PLATFORM, MastodonOptions

SCOPES = "read write:statuses write:media"
"""What crosspost asks for: ``read`` (verify_credentials, media state), posting and uploading."""
CLIENT_NAME = "crosspost"
CLIENT_WEBSITE = "https://github.com/crosspost/crosspost"


@attrs.frozen(kw_only=True)
class Request:
    """One HTTP request to an instance (path relative to the instance origin)."""

    method: str
    path: str
    query: Mapping[str, str] = attrs.field(factory=dict)
    json: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    authorized: bool = True
    """Sent with the account's bearer token."""
    upload: UploadFile | None = None


@attrs.frozen(kw_only=True)
class UploadFile:
    """The file part of a multipart media upload (the client streams it from ``path``)."""

    path: str
    mime: str
    filename: str


# -- instances ------------------------------------------------------------------------------


def instance_origin(value: str) -> str:
    """The instance's origin (``https://host[:port]``) from what the user typed.

    A bare host gets ``https://``. Plain ``http://`` is refused except for loopback hosts
    (emulators, tests): a token sent in the clear to a real server could be read on the way.
    """
    raw = value.strip()
    if not raw:
        raise ConfigError("the instance URL is empty; give it like https://mastodon.social")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{value!r} is not an instance URL; give it like https://mastodon.social")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{value!r}: give the instance's address only (https://{parts.netloc}), no path")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(f"{value!r} uses plain http://; Mastodon instances are reached over https:// "
                          f"(http:// is accepted for loopback hosts only): use https://{parts.netloc}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def instance_request(version: int = 2) -> Request:
    return Request(method="GET", path=f"/api/v{version}/instance", authorized=False)


# -- OAuth ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RegisteredApp:
    """An OAuth client registered at one instance (``POST /api/v1/apps``)."""

    client_id: str = attrs.field(repr=False)
    client_secret: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Pkce:
    verifier: str = attrs.field(repr=False)
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        return cls.from_verifier(secrets.token_urlsafe(48))

    @classmethod
    def from_verifier(cls, verifier: str) -> Pkce:
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier=verifier, challenge=base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def register_app_request(redirect_uri: str) -> Request:
    return Request(method="POST", path="/api/v1/apps", authorized=False,
                   json={"client_name": CLIENT_NAME, "redirect_uris": redirect_uri, "scopes": SCOPES,
                         "website": CLIENT_WEBSITE})


def parse_app(body: object) -> RegisteredApp:
    data = _object(body)
    client_id, client_secret = data.get("client_id"), data.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str) or not client_id:
        raise ValueError("no client_id/client_secret in the registered application")
    return RegisteredApp(client_id=client_id, client_secret=client_secret)


def authorize_url(origin: str, app: RegisteredApp, *, redirect_uri: str, state: str, pkce: Pkce) -> str:
    """Where the user approves crosspost (authorization code with PKCE ``S256``)."""
    query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
             "state": state, "code_challenge": pkce.challenge, "code_challenge_method": "S256"}
    return f"{origin}/oauth/authorize?{urlencode(query)}"


def token_request(app: RegisteredApp, *, code: str, redirect_uri: str, verifier: str) -> Request:
    return Request(method="POST", path="/oauth/token", authorized=False,
                   form={"grant_type": "authorization_code", "code": code, "client_id": app.client_id,
                         "client_secret": app.client_secret, "redirect_uri": redirect_uri,
                         "code_verifier": verifier, "scope": SCOPES})


@attrs.frozen(kw_only=True)
class Token:
    access_token: str = attrs.field(repr=False)
    scopes: tuple[str, ...] = ()


def parse_token(body: object) -> Token:
    data = _object(body)
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise ValueError("no access_token in the token response")
    scope = data.get("scope")
    return Token(access_token=token, scopes=tuple(scope.split()) if isinstance(scope, str) else ())


def revoke_request(app: RegisteredApp, token: str) -> Request:
    return Request(method="POST", path="/oauth/revoke", authorized=False,
                   form={"client_id": app.client_id, "client_secret": app.client_secret, "token": token})


# -- accounts -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Profile:
    id: str
    username: str
    acct: str
    display_name: str
    url: str | None = None

    def to_json(self, origin: str) -> dict[str, Any]:
        host = urlsplit(origin).netloc
        return {"instance": origin, "id": self.id, "username": self.username,
                "acct": f"{self.username}@{host}", "display_name": self.display_name, "url": self.url}


def verify_credentials_request() -> Request:
    return Request(method="GET", path="/api/v1/accounts/verify_credentials")


def parse_profile(body: object) -> Profile:
    data = _object(body)
    account_id, username = data.get("id"), data.get("username")
    if not isinstance(account_id, str | int) or not isinstance(username, str):
        raise ValueError("no id/username in the account")
    return Profile(id=str(account_id), username=username, acct=str(data.get("acct") or username),
                   display_name=str(data.get("display_name") or username),
                   url=data["url"] if isinstance(data.get("url"), str) else None)


# -- media ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MediaState:
    id: str
    ready: bool
    """Processed: ``url`` is set. Until then the id must not be attached to a status."""
    failed: bool = False
    url: str | None = None


def upload_media_request(path: str, *, mime: str, filename: str, description: str | None) -> Request:
    form = {"description": description} if description else {}
    return Request(method="POST", path="/api/v2/media", form=form,
                   upload=UploadFile(path=path, mime=mime, filename=filename))


def media_request(media_id: str) -> Request:
    return Request(method="GET", path=f"/api/v1/media/{media_id}")


def parse_media(status: int, body: object) -> MediaState:
    """A media attachment from ``POST /api/v2/media`` (200 done, 202 processing) or
    ``GET /api/v1/media/:id`` (200 done, 206 processing)."""
    data = _object(body)
    media_id = data.get("id")
    if not isinstance(media_id, str | int):
        raise ValueError("no id in the media attachment")
    url = data.get("url") if isinstance(data.get("url"), str) else None
    ready = status == 200 and url is not None
    return MediaState(id=str(media_id), ready=ready, url=url)


# -- statuses -------------------------------------------------------------------------------


def idempotency_key(job_id: str, part: int) -> str:
    """Stable per (job, thread part): a retried request is recognised by the server, never posted
    twice (the server keeps keys for an hour, scoped to the account)."""
    return "crosspost-" + hashlib.sha256(f"{job_id}:{part}".encode()).hexdigest()[:32]


def status_request(text: str, options: MastodonOptions, *, media_ids: Sequence[str], in_reply_to: str | None,
                   key: str) -> Request:
    body: dict[str, Any] = {"status": text}
    if media_ids:
        body["media_ids"] = list(media_ids)
        body["sensitive"] = options.sensitive
    elif options.sensitive:
        body["sensitive"] = True
    if options.spoiler_text:
        body["spoiler_text"] = options.spoiler_text
    if options.visibility:
        body["visibility"] = options.visibility
    if options.language:
        body["language"] = options.language
    if in_reply_to:
        body["in_reply_to_id"] = in_reply_to
    return Request(method="POST", path="/api/v1/statuses", json=body, headers={"Idempotency-Key": key})


@attrs.frozen(kw_only=True)
class Status:
    id: str
    url: str | None = None


def parse_status(body: object) -> Status:
    data = _object(body)
    status_id = data.get("id")
    if not isinstance(status_id, str | int):
        raise ValueError("no id in the status")
    url = data.get("url") if isinstance(data.get("url"), str) else None
    return Status(id=str(status_id), url=url)


# -- checkpoints ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Checkpoint:
    """What a publish has done so far, saved before each next step.

    ``media`` holds the uploaded ids in order (``ready`` once processed); ``parts`` the ids of
    the statuses posted, in thread order; ``sending`` the part whose request went out last and
    when (ISO time), so a resume long after the server forgot the Idempotency-Key is not retried
    blindly.
    """

    media: tuple[tuple[str, bool], ...] = ()
    parts: tuple[str, ...] = ()
    urls: tuple[str | None, ...] = ()
    sending: tuple[int, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"platform": PLATFORM, "media": [{"id": i, "ready": r} for i, r in self.media],
                "parts": list(self.parts), "urls": list(self.urls),
                "sending": {"part": self.sending[0], "at": self.sending[1]} if self.sending else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        media = tuple((str(m["id"]), bool(m.get("ready"))) for m in data.get("media") or ())
        sending = data.get("sending")
        return cls(media=media, parts=tuple(str(p) for p in data.get("parts") or ()),
                   urls=tuple(data.get("urls") or ()),
                   sending=(int(sending["part"]), str(sending["at"])) if isinstance(sending, Mapping) else None)


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValueError("the response is not a JSON object")
    return body
