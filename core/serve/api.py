"""The pieces every dialect is built from: routes, the request context, replies, the dialect base.

A :class:`Dialect` is a base path, the service whose request bodies it reads, its routes, and
how it renders errors, posts and webhook events. Handlers take a :class:`Ctx` and return a
:class:`Reply`; the application (:mod:`crosspost.core.serve.app`) wraps them with auth, body
limits, JSON parsing and idempotency, so handlers only do their operation.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crosspost.core.errors import Problem
from crosspost.core.serve.errors import ApiError, invalid, not_found
from crosspost.core.serve.posts import PostService, PostView
from crosspost.storage.serve_tables import ApiKeyRow, ServeStore, WebhookRow

if TYPE_CHECKING:
    from aiohttp import web

    from crosspost.core.accounts import Account
    from crosspost.core.hub import Hub
    from crosspost.core.serve.config import ServeConfig
    from crosspost.core.serve.webhooks import Outbox, WebhookEvent


@attrs.frozen(kw_only=True)
class Reply:
    status: int = 200
    body: Any = None
    """JSON-ready, or None for an empty body (204)."""
    headers: Mapping[str, str] = attrs.field(factory=dict)


Handler = Callable[["Ctx"], Awaitable[Reply]]


@attrs.frozen(kw_only=True)
class Route:
    method: str
    path: str
    """Relative to the dialect's base path, aiohttp syntax (``/posts/{postId}``)."""
    handler: Handler
    operation_id: str
    summary: str
    mutating: bool = False
    """Idempotency-Key applies (every POST/PUT/PATCH/DELETE)."""
    creates: bool = False
    """A create: Zernio's ``x-request-id`` applies too, and the key derives the new post's id."""
    raw_body: bool = False
    """The handler reads the body itself (uploads): no JSON parsing, no JSON size limit."""
    public: bool = False
    """No API key (OAuth callbacks, presigned uploads)."""


@attrs.define(kw_only=True)
class Api:
    """What handlers reach: the hub, the serve tables, the post service, the outbox, settings."""

    hub: Hub
    store: ServeStore
    posts: PostService
    outbox: Outbox
    config: ServeConfig

    @property
    def media_dir(self) -> Path:
        return self.posts.media_dir

    def seal(self, webhook_id: str, secret: str) -> bytes:
        box = self.hub.accounts.cipher()
        token = box.encrypt(secret.encode("utf-8"), associated=b"webhook:" + webhook_id.encode())
        return base64.b64encode(token)

    def unseal(self, row: WebhookRow) -> str:
        box = self.hub.accounts.cipher()
        return box.decrypt(base64.b64decode(row.secret), associated=b"webhook:" + row.id.encode()).decode("utf-8")

    async def account(self, account_id: str) -> Account:
        """The account an id names (``tiktok:main``, ``acc_tiktok:main`` or PostPost's ``tiktok-main``)."""
        text = account_id.removeprefix("acc_")
        platform, sep, name = text.partition(":")
        if not sep:
            platform, sep, name = text.partition("-")
        found = await self.hub.accounts.find(platform, name) if sep and name else None
        if found is None:
            raise not_found(f"account {account_id!r}")
        return found


@attrs.define(kw_only=True)
class Ctx:
    """One request as a handler sees it."""

    request: web.Request
    api: Api
    dialect: Dialect
    key: ApiKeyRow | None
    body: Any = None
    idempotency_key: str | None = None

    @property
    def match(self) -> Mapping[str, str]:
        return self.request.match_info

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query

    @property
    def now(self) -> datetime:
        return self.api.hub.clock.now()

    def new_post_id(self) -> str:
        """The id of the post this create makes: derived from the idempotency key when there is one."""
        from crosspost.core.serve import ids
        from crosspost.core.serve.posts import derived_id

        if self.idempotency_key and self.key is not None:
            return derived_id(self.key.id, self.idempotency_key)
        return ids.new_id()

    def base_url(self) -> str:
        if self.api.config.public_url:
            return self.api.config.public_url.rstrip("/")
        return f"{self.request.scheme}://{self.request.host}"

    def field(self, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        """``body[name]`` of type ``kind``; 400 naming the field otherwise."""
        body = self.body if isinstance(self.body, Mapping) else {}
        if name not in body or body[name] is None:
            if required:
                raise invalid([Problem(field=name, message="required")])
            return None
        value = body[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise invalid([Problem(field=name, message=f"expected {names}, got {type(value).__name__}")])
        return value


class Dialect:
    """One service's API under its own base path. Subclasses fill in the routes and renderers."""

    name: str = ""
    base: str = ""
    service: str = ""
    """Whose request bodies it reads (``crosspost.core.services``)."""
    title: str = ""
    key_headers: tuple[str, ...] = ("authorization",)
    webhook_events: tuple[str, ...] = ()
    """The event names a subscription made here may ask for (empty list = all of them)."""

    def routes(self) -> Sequence[Route]:
        raise NotImplementedError

    def error_body(self, error: ApiError) -> Any:
        raise NotImplementedError

    def render_events(self, event: WebhookEvent, view: PostView | None) -> list[tuple[str, str, Any]]:
        """This dialect's ``(event id, event name, payload)`` for a neutral event (maybe none)."""
        raise NotImplementedError

    def serialize(self, payload: Any) -> str:
        """The exact body sent (and signed)."""
        import json

        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    def signature_headers(self, *, secret: str, body: str, event_id: str, event: str, delivery_id: str,
                          attempt: int, now: datetime) -> dict[str, str]:
        raise NotImplementedError


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def post_service(ctx: Ctx) -> PostService:
    return ctx.api.posts
