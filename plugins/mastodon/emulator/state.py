"""The Mastodon emulator's state: instance configuration, accounts, apps, media, statuses, faults.

Plain objects on an injected clock (no aiohttp here), so tests script them directly through
``server.state`` and the admin API changes the same values over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from crosspost.core.clock import Clock, SystemClock
from crosspost.plugins.mastodon.limits import DEFAULT_MIME_TYPES, count_characters

IDEMPOTENCY_TTL_S = 3600.0
"""The real server keeps ``Idempotency-Key`` → status for an hour, per account."""


@attrs.define(kw_only=True)
class InstanceConfig:
    """What ``GET /api/v2/instance`` reports (and the emulator enforces)."""

    max_characters: int = 500
    max_media_attachments: int = 4
    characters_reserved_per_url: int = 23
    supported_mime_types: list[str] = attrs.field(factory=lambda: list(DEFAULT_MIME_TYPES))
    image_size_limit: int = 16 * 1024 * 1024
    video_size_limit: int = 99 * 1024 * 1024
    description_limit: int = 1500
    version: str = "4.4.0"
    v2: bool = True
    """False: behave as a pre-4.0 server (``/api/v2/instance`` is 404, v1 has ``max_toot_chars``)."""
    processing_seconds: float = 0.0
    """How long video, GIF and audio take to process (always 202, then 206 until done)."""
    image_processing_seconds: float = 0.0
    """How long still images take; 0 answers the upload with 200 (processed inline, as 4.0+ does)."""

    def v2_document(self, origin: str) -> dict[str, Any]:
        return {"domain": origin.split("://", 1)[1], "title": "crosspost Mastodon emulator", "version": self.version,
                "api_versions": {"mastodon": 6},
                "configuration": {
                    "statuses": {"max_characters": self.max_characters,
                                 "max_media_attachments": self.max_media_attachments,
                                 "characters_reserved_per_url": self.characters_reserved_per_url},
                    "media_attachments": {"supported_mime_types": list(self.supported_mime_types),
                                          "image_size_limit": self.image_size_limit,
                                          "video_size_limit": self.video_size_limit,
                                          "description_limit": self.description_limit}}}

    def v1_document(self, origin: str) -> dict[str, Any]:
        return {"uri": origin.split("://", 1)[1], "title": "crosspost Mastodon emulator (old)",
                "version": "3.5.0" if not self.v2 else self.version, "max_toot_chars": self.max_characters}


@attrs.define(kw_only=True)
class EmuAccount:
    id: str
    username: str
    display_name: str
    token: str = attrs.field(repr=False)
    scopes: tuple[str, ...] = ("read", "write:statuses", "write:media")
    followers: int = 42
    following: int = 7


@attrs.define(kw_only=True)
class EmuApp:
    client_id: str
    client_secret: str = attrs.field(repr=False)
    redirect_uris: tuple[str, ...]
    scopes: str


@attrs.define(kw_only=True)
class EmuCode:
    client_id: str
    redirect_uri: str
    challenge: str | None
    account_id: str
    scopes: str


@attrs.define(kw_only=True)
class EmuMedia:
    id: str
    account_id: str
    kind: str
    mime: str
    size: int
    description: str | None
    ready_at: datetime
    fail: bool = False
    attached: bool = False


@attrs.define(kw_only=True)
class EmuStatus:
    id: str
    account_id: str
    text: str
    spoiler_text: str
    visibility: str
    sensitive: bool
    language: str | None
    media_ids: tuple[str, ...]
    in_reply_to_id: str | None
    idempotency_key: str | None
    created_at: datetime
    boost: dict[str, int] = attrs.field(factory=dict)
    """Counts added by hand (admin API) on top of the clock-driven growth."""


@attrs.define(kw_only=True)
class RouteFault:
    """A scripted failure of one route: ``when`` before the handler runs (nothing happens) or
    after it committed (the effect happened, the answer is lost); ``drop`` closes the connection
    instead of answering."""

    route: str
    status: int = 503
    when: Literal["before", "after"] = "before"
    drop: bool = False
    times: int = 1


@attrs.define(kw_only=True)
class RateWindow:
    limit: int = 300
    window: float = 300.0
    used: dict[str, list[datetime]] = attrs.field(factory=dict)


class EmulatorState:
    """Everything the emulator knows. ``clock`` drives processing, idempotency and rate windows."""

    def __init__(self, *, clock: Clock | None = None, config: InstanceConfig | None = None,
                 rng_seed: int = 7) -> None:
        self.clock: Clock = clock or SystemClock()
        self.config = config or InstanceConfig()
        self.accounts: dict[str, EmuAccount] = {}
        self.apps: dict[str, EmuApp] = {}
        self.codes: dict[str, EmuCode] = {}
        self.media: dict[str, EmuMedia] = {}
        self.statuses: dict[str, EmuStatus] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.faults: list[RouteFault] = []
        self.rate = RateWindow()
        self.requests: list[tuple[str, str]] = []
        self.revoked: set[str] = set()
        self.deleted: set[str] = set()
        self.rng_seed = rng_seed
        self._ids = itertools.count(109_000_000_000_000_001)

    def next_id(self) -> str:
        return str(next(self._ids))

    # -- accounts and OAuth -----------------------------------------------------------------

    def add_account(self, username: str = "demo", display_name: str = "Crosspost Demo",
                    token: str | None = None) -> EmuAccount:
        account = EmuAccount(id=self.next_id(), username=username, display_name=display_name,
                             token=token or "emu-" + secrets.token_urlsafe(24))
        self.accounts[account.token] = account
        return account

    def account_for(self, token: str) -> EmuAccount | None:
        return None if token in self.revoked else self.accounts.get(token)

    def register_app(self, redirect_uris: tuple[str, ...], scopes: str) -> EmuApp:
        app = EmuApp(client_id=secrets.token_urlsafe(16), client_secret=secrets.token_urlsafe(24),
                     redirect_uris=redirect_uris, scopes=scopes)
        self.apps[app.client_id] = app
        return app

    def issue_code(self, app: EmuApp, *, redirect_uri: str, challenge: str | None, scopes: str) -> str:
        account = next(iter(self.accounts.values()), None) or self.add_account()
        code = secrets.token_urlsafe(16)
        self.codes[code] = EmuCode(client_id=app.client_id, redirect_uri=redirect_uri, challenge=challenge,
                                   account_id=account.id, scopes=scopes)
        return code

    def redeem_code(self, code: str, *, client_id: str, client_secret: str, redirect_uri: str,
                    verifier: str | None) -> tuple[EmuAccount, str] | str:
        """The account and granted scopes, or the OAuth error text."""
        grant = self.codes.pop(code, None)
        app = self.apps.get(client_id)
        if grant is None or app is None or app.client_secret != client_secret or grant.client_id != client_id:
            return "invalid_grant"
        if grant.redirect_uri != redirect_uri:
            return "invalid_grant"
        if grant.challenge is not None:
            digest = hashlib.sha256((verifier or "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return "invalid_grant"
        account = next(a for a in self.accounts.values() if a.id == grant.account_id)
        return account, grant.scopes

    # -- media and statuses -----------------------------------------------------------------

    def add_media(self, account: EmuAccount, *, mime: str, size: int, description: str | None) -> EmuMedia:
        kind = mime.split("/")[0]
        still = kind == "image" and mime != "image/gif"
        delay = self.config.image_processing_seconds if still else self.config.processing_seconds
        media = EmuMedia(id=self.next_id(), account_id=account.id, kind="gifv" if mime == "image/gif" else kind,
                         mime=mime, size=size, description=description,
                         ready_at=self.clock.now() + timedelta(seconds=delay))
        self.media[media.id] = media
        return media

    def media_ready(self, media: EmuMedia) -> bool:
        return self.clock.now() >= media.ready_at and not media.fail

    def synchronous(self, media: EmuMedia) -> bool:
        """Small images are processed inline (200); video, gifv and audio always answer 202."""
        return media.kind == "image" and self.media_ready(media)

    def remembered(self, account: EmuAccount, key: str | None) -> EmuStatus | None:
        if not key:
            return None
        found = self.idempotency.get((account.id, key))
        if found is None or found[1] <= self.clock.now():
            return None
        return self.statuses.get(found[0])

    def status_problem(self, account: EmuAccount, text: str, spoiler: str, media_ids: list[str]) -> str | None:
        """The real server's 422 text for this status, or None."""
        cfg = self.config
        if not text.strip() and not media_ids:
            return "Validation failed: Text can't be blank"
        if len(media_ids) > cfg.max_media_attachments:
            return f"Cannot attach more than {cfg.max_media_attachments} files"
        media = [self.media.get(m) for m in media_ids]
        if any(m is None or m.account_id != account.id for m in media):
            return "Validation failed: Media attachments are invalid"
        found = [m for m in media if m is not None]
        if any(not self.media_ready(m) for m in found):
            return "Cannot attach files that have not finished processing. Try again in a moment!"
        if len(found) > 1 and any(m.kind in ("video", "audio") for m in found):
            return "Cannot attach a video to a post that already contains images"
        if count_characters(text, spoiler_text=spoiler, url_characters=cfg.characters_reserved_per_url) \
                > cfg.max_characters:
            return f"Validation failed: Text character limit of {cfg.max_characters} exceeded"
        return None

    def create_status(self, account: EmuAccount, *, text: str, spoiler_text: str, visibility: str, sensitive: bool,
                      language: str | None, media_ids: list[str], in_reply_to_id: str | None,
                      key: str | None) -> EmuStatus:
        status = EmuStatus(id=self.next_id(), account_id=account.id, text=text, spoiler_text=spoiler_text,
                           visibility=visibility, sensitive=sensitive, language=language,
                           media_ids=tuple(media_ids), in_reply_to_id=in_reply_to_id, idempotency_key=key,
                           created_at=self.clock.now())
        self.statuses[status.id] = status
        for media_id in media_ids:
            self.media[media_id].attached = True
        if key:
            expires = self.clock.now() + timedelta(seconds=IDEMPOTENCY_TTL_S)
            self.idempotency[(account.id, key)] = (status.id, expires)
        return status

    def delete_status(self, status_id: str) -> bool:
        """``DELETE /api/v1/statuses/:id``: later reads of it answer 404."""
        if status_id not in self.statuses:
            return False
        self.statuses.pop(status_id)
        self.deleted.add(status_id)
        return True

    def counters(self, status: EmuStatus) -> dict[str, int]:
        """Favourites, reblogs and replies now: growing with the square root of the status's age on
        the emulator's clock, at rates seeded by ``rng_seed`` and the id (the same run, the same numbers)."""
        hours = max(0.0, (self.clock.now() - status.created_at).total_seconds() / 3600)
        digest = hashlib.sha256(f"{self.rng_seed}:{status.id}".encode()).digest()
        rate = 2 + digest[0] % 5
        grown = {"favourites_count": math.floor(rate * 3 * math.sqrt(hours)),
                 "reblogs_count": math.floor(rate * math.sqrt(hours)),
                 "replies_count": math.floor(rate * 0.4 * math.sqrt(hours))}
        return {name: count + status.boost.get(name, 0) for name, count in grown.items()}

    def account_counts(self, account: EmuAccount) -> dict[str, int]:
        posted = sum(1 for s in self.statuses.values() if s.account_id == account.id)
        return {"followers_count": account.followers, "following_count": account.following, "statuses_count": posted}

    # -- faults and rate limits -------------------------------------------------------------

    def take_fault(self, route: str) -> RouteFault | None:
        for fault in self.faults:
            if fault.route == route and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def count_request(self, token: str) -> tuple[bool, int, datetime]:
        """Record a call under ``token``: (allowed, remaining, reset time)."""
        now = self.clock.now()
        window = timedelta(seconds=self.rate.window)
        used = [t for t in self.rate.used.get(token, []) if t > now - window]
        allowed = len(used) < self.rate.limit
        if allowed:
            used.append(now)
        self.rate.used[token] = used
        reset = (used[0] if used else now) + window
        return allowed, max(0, self.rate.limit - len(used)), reset

    def media_requests(self) -> int:
        return sum(1 for method, path in self.requests if "/media" in path)
