"""Example's HTTP API as pure functions: configuration, checks, request building, response parsing.

Nothing here does I/O, so most of the plugin is tested without a server (gidgethub's sans-I/O
style). ``client.py`` sends the :class:`Request` values built here; ``platform.py`` decides what
to send. AUTHOR: this module is where your platform's API lives; replace the routes, bodies and
checks below with your platform's own.

The Example API (served for tests by ``fake_server.py``)::

    POST   /v1/media?kind=video|image   raw file bytes, Content-Length required -> 201 {"id"}
    POST   /v1/posts                     {"text", "media", "visibility", "tags"},
                                         Idempotency-Key header              -> 202 {"id", "state"}
    GET    /v1/posts/{id}                -> {"id", "state": processing|published|failed|cancelled,
                                             "url", "error": {"code", "message"}}
    DELETE /v1/posts/{id}                -> 204 (only while processing)

Every call sends ``Authorization: Bearer <token>``; errors are ``{"error": {"code", "message",
"field"}}``; the limit is 30 calls per minute per token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
from crosspost.core.errors import ConfigError, Problem
from crosspost.core.models import MediaKind, Post

PLATFORM = "example"
VISIBILITIES = ("public", "unlisted", "private")
MAX_TAGS = 5
TAG_LIMIT = 30
MAX_IMAGES = 4
RATE_LIMIT = 30
"""Calls per :data:`RATE_WINDOW` seconds per token, as the API documents it."""
RATE_WINDOW = 60.0
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    del instance
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive")


@attrs.frozen(kw_only=True)
class ExampleConfig:
    """What the plugin reads from ``CROSSPOST_EXAMPLE_*`` (``settings.platform("example")``)."""

    url: str
    """API base URL (``CROSSPOST_EXAMPLE_URL``), without a trailing slash."""
    poll_interval: float = attrs.field(default=2.0, validator=_positive)
    """Seconds between status checks while the post is processing."""
    poll_timeout: float = attrs.field(default=600.0, validator=_positive)
    """How long one publish attempt polls before handing back to the engine to retry later."""
    max_upload_bytes: int = attrs.field(default=DEFAULT_MAX_UPLOAD_BYTES, validator=_positive)

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> ExampleConfig:
        """Read the settings; raises ConfigError naming the variable and the fix."""
        url = values.get("url", "").strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError("CROSSPOST_EXAMPLE_URL must be set to the Example API's base URL "
                              "(http:// or https://), e.g. CROSSPOST_EXAMPLE_URL=https://api.invalid")
        numbers: dict[str, Any] = {}
        for key, kind in (("poll_interval", float), ("poll_timeout", float), ("max_upload_bytes", int)):
            if key in values:
                try:
                    numbers[key] = kind(values[key])
                except ValueError:
                    raise ConfigError(f"CROSSPOST_EXAMPLE_{key.upper()} must be a number, "
                                      f"got {values[key]!r}") from None
        try:
            return cls(url=url, **numbers)
        except ValueError as exc:
            raise ConfigError(f"CROSSPOST_EXAMPLE_*: {exc}") from None


# -- checks -------------------------------------------------------------------------------------


def option_problems(options: Mapping[str, Any]) -> list[Problem]:
    """Problems with ``target_options.example`` (unknown keys are the base class's job)."""
    at = f"target_options.{PLATFORM}"
    problems: list[Problem] = []
    visibility = options.get("visibility", "public")
    if visibility not in VISIBILITIES:
        problems.append(Problem(field=f"{at}.visibility",
                                message=f"expected one of {', '.join(VISIBILITIES)}, got {visibility!r}"))
    tags = options.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(Problem(field=f"{at}.tags", message="expected a list of strings"))
        return problems
    if len(tags) > MAX_TAGS:
        problems.append(Problem(field=f"{at}.tags", message=f"at most {MAX_TAGS} tags, got {len(tags)}"))
    for i, tag in enumerate(tags):
        if not tag or len(tag) > TAG_LIMIT or any(c.isspace() for c in tag):
            problems.append(Problem(field=f"{at}.tags[{i}]",
                                    message=f"a tag is 1-{TAG_LIMIT} characters without spaces, got {tag!r}"))
    return problems


def media_mix_problems(post: Post) -> list[Problem]:
    """Example takes one video, or up to four images, never both; and never an empty post."""
    kinds = [m.type for m in post.media]
    problems: list[Problem] = []
    if not post.content.strip() and not kinds:
        problems.append(Problem(field="content", message="nothing to post: give content or media"))
    videos = kinds.count(MediaKind.VIDEO)
    if videos and len(kinds) > 1:
        problems.append(Problem(field="media", message="a post holds one video, or up to "
                                                       f"{MAX_IMAGES} images, not both"))
    for i, media in enumerate(post.media):
        if media.path is None:
            problems.append(Problem(field=f"media[{i}].url",
                                    message=f"{PLATFORM} uploads local files only; give a 'path'"))
    return problems


def size_problem(index: int, size: int, max_bytes: int) -> Problem | None:
    """A problem when a file of ``size`` bytes cannot be uploaded."""
    if size == 0:
        return Problem(field=f"media[{index}].path", message="the file is empty")
    if size > max_bytes:
        return Problem(field=f"media[{index}].path",
                       message=f"{size} bytes is more than the {max_bytes} bytes {PLATFORM} accepts")
    return None


def tags_of(post: Post) -> list[str]:
    """The tags to send, each without a leading ``#`` (the API adds its own)."""
    return [t.removeprefix("#") for t in post.options_for(PLATFORM).get("tags", [])]


# -- requests -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Request:
    """One API call, without credentials (the client adds them)."""

    method: str
    path: str
    query: Mapping[str, str] = attrs.field(factory=dict)
    json: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)


def upload_request(kind: MediaKind, size: int) -> Request:
    """Upload one file; the body is the file's bytes, streamed, with an explicit length."""
    return Request(method="POST", path="/v1/media", query={"kind": kind.value},
                   headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})


def create_post_request(post: Post, media_ids: Sequence[str], idempotency_key: str) -> Request:
    """Create the post from uploaded media. The key makes a repeated create return the same post."""
    options = post.options_for(PLATFORM)
    body = {"text": post.content, "media": list(media_ids),
            "visibility": options.get("visibility", "public"), "tags": tags_of(post)}
    return Request(method="POST", path="/v1/posts", json=body, headers={"Idempotency-Key": idempotency_key})


def status_request(post_id: str) -> Request:
    return Request(method="GET", path=f"/v1/posts/{post_id}")


def delete_request(post_id: str) -> Request:
    return Request(method="DELETE", path=f"/v1/posts/{post_id}")


def account_request() -> Request:
    """Who the token belongs to: how ``connect_account`` checks a token before it is stored."""
    return Request(method="GET", path="/v1/me")


def idempotency_key(job_id: str) -> str:
    """The same for every attempt of one job, different for every job."""
    return f"crosspost-{job_id}"


# -- responses ----------------------------------------------------------------------------------

PostStateName = Literal["processing", "published", "failed", "cancelled"]


@attrs.frozen(kw_only=True)
class PostState:
    """What ``GET /v1/posts/{id}`` says about a post."""

    id: str
    state: PostStateName
    url: str | None = None
    error_code: str | None = None
    error_message: str | None = None


def _field(body: object, key: str) -> Any:
    if not isinstance(body, Mapping) or key not in body:
        raise ValueError(f"response has no {key!r}")
    return body[key]


@attrs.frozen(kw_only=True)
class Profile:
    """What ``GET /v1/me`` says about the token's account (public facts only)."""

    id: str
    username: str


def parse_profile(body: object) -> Profile:
    """The account behind a token; ValueError when the response lacks its id or username."""
    return Profile(id=str(_field(body, "id")), username=str(_field(body, "username")))


def parse_created_id(body: object) -> str:
    """The ``id`` of a created media item or post; ValueError when the response lacks one."""
    value = _field(body, "id")
    if not isinstance(value, str) or not value:
        raise ValueError("response 'id' is not a non-empty string")
    return value


def parse_post_state(body: object) -> PostState:
    """Read a status response; ValueError when it is not one."""
    state = _field(body, "state")
    if state not in ("processing", "published", "failed", "cancelled"):
        raise ValueError(f"unknown post state {state!r}")
    assert isinstance(body, Mapping)
    error = body.get("error") or {}
    return PostState(id=parse_created_id(body), state=state, url=body.get("url"),
                     error_code=error.get("code"), error_message=error.get("message"))


# -- what a job remembers -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Checkpoint:
    """How far one publish got; saved through ``ctx.save`` before acting on it."""

    media_ids: tuple[str, ...] = ()
    """Uploaded media, in the post's order: media ``i`` is done when ``i < len(media_ids)``."""
    post_id: str | None = None
    """Set once the post exists; from then on a run only checks its status."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        return cls(media_ids=tuple(data.get("media_ids", ())), post_id=data.get("post_id"))

    def to_json(self) -> dict[str, Any]:
        return {"media_ids": list(self.media_ids), "post_id": self.post_id}
