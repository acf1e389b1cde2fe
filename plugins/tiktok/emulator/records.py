"""What the emulator remembers: creators, tokens, uploads, publishes and every request it saw.

These are the objects tests assert on (``state.published``, ``state.requests``), so their field
names are part of the public API. Server state changes over a publish's life, so publish and
upload records are mutable ``attrs.define`` classes; snapshots that never change (a request, a
received media item, a webhook delivery) are frozen. Tokens and upload tokens are excluded from
every repr: tests print these objects and secrets must never reach test output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    import hashlib

    from attrs import AttrsInstance

PUBLIC_OPTIONS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
PRIVATE_OPTIONS = ("FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
PRIVACY_LEVELS = frozenset(PUBLIC_OPTIONS + PRIVATE_OPTIONS)
CAP_STATES = frozenset({"spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "reached_active_user_cap"})

PublishMode = Literal["direct", "inbox"]
MediaType = Literal["VIDEO", "PHOTO"]


@attrs.define(kw_only=True)
class Creator:
    """A TikTok account that can authorise the app. Mutable so tests can flip settings mid-run."""

    open_id: str
    username: str
    nickname: str
    private: bool
    comment_disabled: bool
    duet_disabled: bool
    stitch_disabled: bool
    max_video_post_duration_sec: int
    scopes: tuple[str, ...]
    """The scopes this user grants (on authorize, the granted set is requested ∩ scopes)."""
    access_token: str = attrs.field(repr=False)
    """The access token issued when the creator was added (refreshes mint new ones)."""
    refresh_token: str = attrs.field(repr=False)
    verified_url_prefixes: tuple[str, ...] = ()
    verified_domains: tuple[str, ...] = ()
    cap_state: str | None = None
    """Forces a spam/cap code: HTTP 200 on creator_info, 403 on the inits that list it."""
    deny_authorization: bool = False
    """The authorize page redirects with ``error=access_denied`` instead of a code."""
    outdated_app: bool = False
    """content/init with MEDIA_UPLOAD fails with ``app_version_check_failed``."""
    force_fail_reason: str | None = None
    """Every publish of this creator ends FAILED with this fail_reason."""
    avatar_url: str = "https://p16-sign.tiktokcdn-us.com/emulator/avatar.jpeg"

    @property
    def privacy_level_options(self) -> tuple[str, ...]:
        """What creator_info offers: the account's privacy setting decides, not the app's audit."""
        return PRIVATE_OPTIONS if self.private else PUBLIC_OPTIONS


@attrs.define(kw_only=True)
class AccessToken:
    open_id: str
    scopes: tuple[str, ...]
    expires_at: float


@attrs.define(kw_only=True)
class RefreshToken:
    open_id: str
    scopes: tuple[str, ...]
    expires_at: float


@attrs.define(kw_only=True)
class AuthCode:
    """An authorization code waiting to be exchanged (single use)."""

    open_id: str
    scopes: tuple[str, ...]
    redirect_uri: str
    code_challenge: str | None
    expires_at: float


@attrs.frozen(kw_only=True)
class MediaItem:
    """One media file as the emulator received it (uploaded video, pulled video or photo)."""

    url: str | None
    """The pulled URL; None for FILE_UPLOAD."""
    size: int
    sha256: str
    content_type: str | None
    recognised_format: bool = True
    """Whether the first bytes look like a format TikTok takes (see ``sniff_media``)."""


@attrs.define(kw_only=True)
class PublishRecord:
    """One publish (one successful init) and everything that happened to it since."""

    publish_id: str
    open_id: str
    mode: PublishMode
    media_type: MediaType
    source: Literal["FILE_UPLOAD", "PULL_FROM_URL"]
    request_body: dict[str, Any]
    """The init's JSON body exactly as the client sent it."""
    privacy_level: str | None
    created_at: float
    status: str
    fail_reason: str | None = None
    total_bytes: int | None = None
    """Declared video_size for FILE_UPLOAD; bytes pulled so far for PULL_FROM_URL."""
    transferred_bytes: int = 0
    sha256: str | None = None
    """Hex SHA-256 over all media bytes in order, once the media is complete."""
    content_type: str | None = None
    items: list[MediaItem] = attrs.Factory(list)
    post_ids: list[int] = attrs.Factory(list)
    media_complete: bool = False
    polls_after_media: int = 0
    forced_fail_reason: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in ("PUBLISH_COMPLETE", "FAILED") or (
            self.mode == "inbox" and self.status == "SEND_TO_USER_INBOX"
        )


@attrs.define(kw_only=True)
class UploadSession:
    """A FILE_UPLOAD upload_url's server side: where the upload is and its running checksum."""

    upload_id: str
    upload_token: str = attrs.field(repr=False)
    publish_id: str
    video_size: int
    chunk_size: int
    total_chunk_count: int
    issued_at: float
    received: int = 0
    chunks_received: int = 0
    hasher: hashlib._Hash | None = attrs.field(default=None, repr=False)
    head: bytes = attrs.field(default=b"", repr=False)
    """The file's first bytes, kept to recognise its format."""
    busy: bool = False
    content_type: str | None = None

    def expected_chunk(self) -> tuple[int, int]:
        """(first byte, length) of the chunk the server expects next (§3.1: last absorbs the tail)."""
        first = self.chunks_received * self.chunk_size
        if self.chunks_received == self.total_chunk_count - 1:
            return first, self.video_size - first
        return first, self.chunk_size


@attrs.frozen(kw_only=True)
class RequestRecord:
    """One request as the server saw it. Carries a token fingerprint, never the token."""

    method: str
    path: str
    """Path only: the upload URL's query holds its upload_token."""
    route: str
    token_fingerprint: str | None
    time: float
    status: int | None
    """None when the connection was dropped without a response."""
    fault: str | None = None


@attrs.frozen(kw_only=True)
class WebhookDelivery:
    """One attempt to deliver one webhook event."""

    event: str
    body: str
    signature: str
    attempt: int
    status: int | None
    """The receiver's HTTP status, or None when it could not be reached."""


def looks_like_video(head: bytes) -> bool:
    """MP4/MOV (an ``ftyp``, ``moov``, ``mdat``, ``free`` or ``wide`` box first) or WebM (EBML)."""
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide") or head.startswith(b"\x1a\x45\xdf\xa3")


def looks_like_photo(head: bytes) -> bool:
    """JPEG or WebP; TikTok takes no PNG."""
    return head.startswith(b"\xff\xd8\xff") or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def as_json(record: AttrsInstance) -> dict[str, Any]:
    """A JSON-ready dict for the admin endpoints (a Creator's includes its tokens, on purpose)."""
    return attrs.asdict(record, recurse=True)
