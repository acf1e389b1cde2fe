"""What the Bluesky emulator holds: accounts, sessions, blobs, repositories, video jobs, faults.

Times come from an injected clock (a :class:`~crosspost.core.clock.FakeClock` in tests), so
token expiry and the login limit are tested without waiting. Tokens are JWT-shaped (clients read
their ``exp``) and checked by lookup, not by signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections import defaultdict, deque
from datetime import timedelta
from typing import Any

import attrs

from crosspost.core.clock import Clock, SystemClock
from crosspost.plugins.bluesky.records import POST, created_at, record_keys
from crosspost.testing.faults import FaultPlan

ACCESS_LIFETIME = timedelta(minutes=120)
REFRESH_LIFETIME = timedelta(days=90)
REFRESH_GRACE = timedelta(minutes=2)
"""A rotated refresh token still answers (with the same successor) this long: a client whose
refresh answer was lost can ask again."""
LOGIN_LIMIT = 30
LOGIN_WINDOW = 300.0
UPLOAD_LIMIT = 5 * 1024 * 1024
"""The reference PDS's default blob upload limit (5 MiB)."""
JOB_STEPS = ("JOB_STATE_CREATED", "JOB_STATE_ENCODING", "JOB_STATE_SCANNED", "JOB_STATE_COMPLETED")


def cid(data: bytes, *, codec: int = 0x55) -> str:
    """A CIDv1 (sha2-256) in base32: ``bafkrei…`` for raw bytes, ``bafyrei…`` with codec 0x71."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


@attrs.define(kw_only=True)
class EmuAccount:
    did: str
    handle: str
    app_passwords: set[str] = attrs.field(factory=set, repr=False)
    email_confirmed: bool = True


@attrs.define(kw_only=True)
class Token:
    did: str
    kind: str
    """``access``, ``refresh`` or ``service``."""
    expires: float
    """Seconds since the epoch (the emulator clock's)."""
    successor: tuple[str, str] | None = None
    """For a rotated refresh token: the (access, refresh) pair it was exchanged for."""
    rotated_at: float | None = None
    aud: str | None = None
    lxm: str | None = None


@attrs.define(kw_only=True)
class VideoJob:
    job_id: str
    did: str
    digest: str
    size: int
    step: int = 0
    blob: dict[str, Any] | None = None


@attrs.define(kw_only=True)
class Faults:
    """Scripted failures beyond :class:`FaultPlan`'s generic ones."""

    lose_creates: int = 0
    """Commit the next N ``createRecord`` calls, then drop the connection before answering."""
    fail: dict[str, deque[int]] = attrs.field(factory=lambda: defaultdict(deque))
    """Per NSID, statuses to answer the next calls with (before handling them)."""
    video_fail_code: str | None = None
    """Make the next video job fail with this ``failureCode``."""


@attrs.define(kw_only=True)
class EmulatorState:
    clock: Clock = attrs.field(factory=SystemClock)
    accounts: dict[str, EmuAccount] = attrs.field(factory=dict)
    """By DID."""
    tokens: dict[str, Token] = attrs.field(factory=dict, repr=False)
    blobs: dict[str, dict[str, dict[str, Any]]] = attrs.field(factory=lambda: defaultdict(dict))
    """DID -> CID -> ``{"mimeType", "size", "data"}``."""
    records: dict[str, dict[str, dict[str, Any]]] = attrs.field(factory=lambda: defaultdict(dict))
    """DID -> ``collection/rkey`` -> ``{"uri", "cid", "value"}``."""
    video_jobs: dict[str, VideoJob] = attrs.field(factory=dict)
    logins: dict[str, deque[float]] = attrs.field(factory=lambda: defaultdict(deque))
    login_calls: int = 0
    refresh_calls: int = 0
    create_calls: int = 0
    faults: Faults = attrs.field(factory=Faults)
    plan: FaultPlan = attrs.field(factory=FaultPlan)
    daily_videos: int = 25
    daily_video_bytes: int = 10 * 1024**3

    # -- accounts and tokens -----------------------------------------------------------------------

    def add_account(self, handle: str, app_password: str, *, email_confirmed: bool = True) -> EmuAccount:
        did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        account = self.accounts.get(did) or EmuAccount(did=did, handle=handle.lower(), email_confirmed=email_confirmed)
        account.app_passwords.add(app_password)
        self.accounts[did] = account
        return account

    def find(self, identifier: str) -> EmuAccount | None:
        identifier = identifier.lower().removeprefix("@")
        if identifier in self.accounts:
            return self.accounts[identifier]
        return next((a for a in self.accounts.values() if a.handle == identifier), None)

    def now(self) -> float:
        return self.clock.now().timestamp()

    def issue(self, did: str, kind: str, lifetime: timedelta, **extra: Any) -> str:
        now = self.now()
        expires = int(now + lifetime.total_seconds())
        payload = {"scope": f"com.atproto.{kind}", "sub": did, "iat": int(now), "exp": expires,
                   "jti": secrets.token_hex(8)}
        token = ".".join(_b64(json.dumps(part).encode()) for part in ({"typ": "jwt", "alg": "HS256"}, payload))
        token += "." + _b64(hashlib.sha256(token.encode()).digest())
        self.tokens[token] = Token(did=did, kind=kind, expires=expires, **extra)
        return token

    def session_pair(self, did: str) -> tuple[str, str]:
        return self.issue(did, "access", ACCESS_LIFETIME), self.issue(did, "refresh", REFRESH_LIFETIME)

    def expire_access_tokens(self) -> int:
        """Make every access token expired now (tests of the refresh path)."""
        expired = [t for t in self.tokens.values() if t.kind == "access"]
        for token in expired:
            token.expires = self.now() - 1
        return len(expired)

    def login_allowed(self, identifier: str) -> float:
        """0 when one more login fits the limit (and count it); else seconds until one does."""
        calls = self.logins[identifier.lower()]
        now = self.clock.monotonic()
        while calls and calls[0] <= now - LOGIN_WINDOW:
            calls.popleft()
        if len(calls) >= LOGIN_LIMIT:
            return calls[0] + LOGIN_WINDOW - now
        calls.append(now)
        return 0.0

    # -- repositories ------------------------------------------------------------------------------

    def store_blob(self, did: str, data: bytes, mime: str) -> dict[str, Any]:
        ref = cid(data)
        self.blobs[did][ref] = {"mimeType": mime, "size": len(data), "data": data}
        return {"$type": "blob", "ref": {"$link": ref}, "mimeType": mime, "size": len(data)}

    def put_record(self, did: str, collection: str, rkey: str, value: dict[str, Any]) -> dict[str, Any]:
        key = f"{collection}/{rkey}"
        entry = {"uri": f"at://{did}/{collection}/{rkey}",
                 "cid": cid(json.dumps(value, sort_keys=True).encode(), codec=0x71), "value": value}
        self.records[did][key] = entry
        return entry

    def record_at(self, uri: str) -> dict[str, Any] | None:
        rest = uri.removeprefix("at://")
        did, _, key = rest.partition("/")
        account = self.find(did)
        return self.records[account.did].get(key) if account else None

    def posts(self, did: str | None = None) -> list[dict[str, Any]]:
        """Every post (of ``did``), in key order."""
        dids = [did] if did else list(self.records)
        return [entry for d in dids for key, entry in sorted(self.records[d].items()) if key.startswith(POST + "/")]

    def next_rkey(self, did: str) -> str:
        return record_keys(self.clock.now(), f"{did}:{len(self.records[did])}", 1)[0]

    def stamp(self) -> str:
        return created_at(self.clock.now())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
