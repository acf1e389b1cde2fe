"""App-password sessions, pure: reading ``createSession``/``refreshSession`` answers, token
expiry, and the account fields a session is stored in.

A session is two JWTs: the access token (2 hours at the reference PDS) sent on every call, and
the refresh token (90 days, *rotating*: each refresh returns a new one and the old one dies
after a short grace) sent only to ``refreshSession``. Both live in the account's encrypted
secrets beside the app password, which is used again only when the refresh token is dead.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs

from crosspost.core.accounts import Account

APP_PASSWORD = "app_password"
ACCESS = "access_jwt"
REFRESH = "refresh_jwt"
REFRESH_MARGIN = timedelta(seconds=60)
"""Refresh this long before the access token's ``exp``, so a call never starts with a dying token."""


@attrs.frozen(kw_only=True)
class Session:
    """A live login: who it is and the two tokens (never shown in a repr)."""

    did: str
    handle: str
    access_jwt: str = attrs.field(repr=False)
    refresh_jwt: str = attrs.field(repr=False)
    pds: str | None = None
    """The account's own PDS from its DID document, when the answer carried one."""
    email_confirmed: bool | None = None

    @property
    def access_expires_at(self) -> datetime | None:
        return jwt_expiry(self.access_jwt)

    @property
    def refresh_expires_at(self) -> datetime | None:
        return jwt_expiry(self.refresh_jwt)

    def needs_refresh(self, now: datetime) -> bool:
        expires = self.access_expires_at
        return expires is not None and now + REFRESH_MARGIN >= expires


def parse_session(body: object) -> Session:
    """Read a ``createSession``/``refreshSession`` answer; ValueError when it is not one."""
    if not isinstance(body, Mapping):
        raise ValueError("the answer is not a JSON object")
    values = {}
    for key in ("did", "handle", "accessJwt", "refreshJwt"):
        value = body.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"the answer has no {key!r}")
        values[key] = value
    confirmed = body.get("emailConfirmed")
    return Session(did=values["did"], handle=values["handle"], access_jwt=values["accessJwt"],
                   refresh_jwt=values["refreshJwt"], pds=pds_endpoint(body.get("didDoc")),
                   email_confirmed=confirmed if isinstance(confirmed, bool) else None)


def pds_endpoint(did_doc: object) -> str | None:
    """The ``#atproto_pds`` service endpoint of a DID document, if it names one."""
    if not isinstance(did_doc, Mapping):
        return None
    for service in did_doc.get("service") or ():
        if isinstance(service, Mapping) and str(service.get("id", "")).endswith("#atproto_pds"):
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")):
                return endpoint.rstrip("/")
    return None


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read without verifying it (only the server can, and does);
    None when the token is not a JWT or has no ``exp``."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return None
    return datetime.fromtimestamp(exp, tz=UTC)


def stored_session(account: Account) -> Session | None:
    """The session kept in ``account`` (None when it has none yet)."""
    access, refresh = account.secrets.get(ACCESS), account.secrets.get(REFRESH)
    did, handle = account.profile.get("did"), account.profile.get("handle")
    if not access or not refresh or not isinstance(did, str) or not isinstance(handle, str):
        return None
    pds = account.profile.get("pds")
    return Session(did=did, handle=handle, access_jwt=access, refresh_jwt=refresh,
                   pds=pds if isinstance(pds, str) else None)


def with_session(account: Account, session: Session, *, service: str | None = None) -> Account:
    """``account`` holding ``session`` (tokens in the encrypted secrets, identity in the profile)."""
    secrets = {**account.secrets, ACCESS: session.access_jwt, REFRESH: session.refresh_jwt}
    profile: dict[str, Any] = {**account.profile, "did": session.did, "handle": session.handle,
                               "username": session.handle}
    if service is not None:
        profile["service"] = service
    if session.pds is not None:
        profile["pds"] = session.pds
    if session.email_confirmed is not None:
        profile["email_confirmed"] = session.email_confirmed
    return attrs.evolve(account, secrets=secrets, profile=profile, access_expires_at=session.access_expires_at,
                        refresh_expires_at=session.refresh_expires_at, needs_login=False)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    return host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".localhost")


def service_url(value: str) -> str:
    """A PDS URL as given by the user, checked: ``https://``, or ``http://`` for loopback only
    (a password must never cross a network in the clear). ValueError says what is accepted."""
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{value!r} is not a service URL; give one like https://bsky.social")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"{value!r} uses plain http://, accepted only for a server on this machine "
                         "(127.0.0.1, localhost, [::1]); use https://")
    if parts.path or parts.query or parts.fragment:
        raise ValueError(f"{value!r}: give the server's base URL only, e.g. {parts.scheme}://{parts.netloc}")
    return url
