"""The neutral operations every dialect's handlers call: posts, drafts, retries, validation, accounts.

Dialects read their bodies into crosspost's wire form (:mod:`crosspost.core.services`) and render
what comes back; everything that touches the hub or the serve tables happens here, once.

Ids: a post created through the API has an internal id (16 hex) minted here, and the engine
stores it under ``idempotency_key = "serve:<id>"``. When the client sent an ``Idempotency-Key``
or ``x-request-id``, the id is *derived* from that key (and the API key), so a create retried
after a crash at any point maps onto the very post the engine already stored: the engine's own
unique key makes the create exactly-once, whatever the HTTP layer managed to record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from crosspost.core.convert import post_from_dict, post_to_dict
from crosspost.core.engine.jobs import PostRecord, PostStateError, record_from_row
from crosspost.core.errors import InvalidPost, Problem
from crosspost.core.hub import Hub
from crosspost.core.importers import ImportedOptions
from crosspost.core.models import JobStatus
from crosspost.core.serve import ids
from crosspost.core.serve.errors import ApiError, conflict, invalid, not_found
from crosspost.core.serve.vocab import post_state
from crosspost.core.services import ServiceRequest, read_request
from crosspost.storage.serve_tables import ApiPostRow, ServeStore

KEY_PREFIX = "serve:"
MEDIA_PATH = "/media/files/"


@attrs.frozen(kw_only=True)
class PostView:
    """One post as the API shows it: a draft (only ``request``) or an engine post (``record``)."""

    id: str
    dialect: str
    created_at: datetime
    updated_at: datetime
    request: Mapping[str, Any]
    """crosspost's wire form of the post (content, media, targets, target_options, scheduled_at)."""
    record: PostRecord | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def draft(self) -> bool:
        return self.record is None

    @property
    def state(self) -> str:
        return post_state(self.record.targets if self.record else (), draft=self.record is None)

    @property
    def running(self) -> bool:
        return self.state == "publishing" and self.record is not None and any(
            t.status.running for t in self.record.targets)


def derived_id(api_key_id: str, idempotency_key: str) -> str:
    """The internal id a create under ``idempotency_key`` gets, the same on every retry."""
    return hashlib.sha256(f"{api_key_id}\n{idempotency_key}".encode()).hexdigest()[:16]


class PostService:
    """Posts through the hub, drafts and metadata in the serve tables."""

    def __init__(self, hub: Hub, store: ServeStore, *, media_dir: Path) -> None:
        self.hub = hub
        self.store = store
        self.media_dir = media_dir
        self.own_hosts: set[str] = set()
        """``host:port`` values clients reached this server at: media URLs there are our own uploads."""

    # -- reading bodies ----------------------------------------------------------------------

    def settings_reader(self, platform: str, service: str, block: Mapping[str, Any]) -> ImportedOptions | None:
        try:
            plat = self.hub.hooks.platform(platform)
        except Exception:
            return None
        return plat.import_settings(service, block)

    def read(self, service: str, body: object, accounts: Sequence[str]) -> ServiceRequest:
        """``body`` as ``service`` sends it, with account ids resolved against ``accounts``."""

        def resolve(platform: str, account: str) -> str:
            for candidate in (account, f"{platform}:{account}"):
                if candidate in accounts and candidate.startswith(f"{platform}:"):
                    return candidate
            known = ", ".join(a for a in accounts if a.startswith(f"{platform}:")) or f"none for {platform}"
            raise ValueError(f"no {platform} account {account!r}; connected: {known} "
                             "(GET …/accounts lists them)")

        try:
            return read_request(service, body, self.settings_reader, accounts=resolve)
        except InvalidPost as exc:  # the body's own shape: 400; the platforms' checks answer 422 later
            raise invalid(exc.problems, status=400) from None

    async def account_keys(self) -> list[str]:
        return [a.key for a in await self.hub.accounts.list()]

    def _local_media(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The server's own media URLs replaced by their files (no fetch of ourselves)."""
        out = dict(request)
        media = []
        for item in request.get("media", []):
            url = item.get("url") if isinstance(item, Mapping) else None
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts is not None and parts.netloc in self.own_hosts and parts.path.startswith(MEDIA_PATH):
                relative = parts.path[len(MEDIA_PATH):].strip("/")
                path = (self.media_dir / relative).resolve()
                if self.media_dir.resolve() in path.parents and path.is_file():
                    item = {**{k: v for k, v in item.items() if k != "url"}, "path": str(path)}
            media.append(item)
        if "media" in request:
            out["media"] = media
        return out

    def to_post(self, request: Mapping[str, Any], internal: str) -> Any:
        wire = {**self._local_media(request), "idempotency_key": KEY_PREFIX + internal}
        return post_from_dict(wire)

    # -- posts -------------------------------------------------------------------------------

    async def create(self, dialect: str, read: ServiceRequest, *, internal: str) -> PostView:
        """Store the post (or the draft) under ``internal``; never waits for the publish."""
        now = self.hub.clock.now()
        existing = await self.find(internal)
        if existing is not None:
            return existing
        if read.draft:
            post_from_dict(self._local_media(read.request))  # the shape must be valid even for a draft
            row = ApiPostRow(id=internal, dialect=dialect, draft=read.request, metadata=read.metadata,
                             created_at=now, updated_at=now)
            await self.store.put_api_post(row)
            return _draft_view(row)
        record = await self.hub.submit(self.to_post(read.request, internal))
        await self.store.put_api_post(ApiPostRow(id=internal, dialect=dialect, draft=None, metadata=read.metadata,
                                                 created_at=record.created_at, updated_at=now))
        return self._view(internal, record, dialect=dialect, metadata=read.metadata)

    async def find(self, internal: str) -> PostView | None:
        row = await self.store.get_api_post(internal)
        if row is not None and row.metadata.get("deleted"):
            return None
        if row is not None and row.draft is not None:
            return _draft_view(row)
        stored = await self.hub.storage.find_post_by_key(KEY_PREFIX + internal)
        if stored is None and row is None:
            stored = await self.hub.storage.get_post(internal)  # a post made by the CLI or a bot
        if stored is None:
            return None
        record = record_from_row(stored)
        return self._view(internal, record, dialect=row.dialect if row else "native",
                          metadata=row.metadata if row else {}, updated=stored.updated_at)

    async def get(self, public: str) -> PostView:
        internal = ids.internal_id(public)
        view = await self.find(internal) if internal else None
        if view is None:
            raise not_found(f"post {public!r}")
        return view

    def _view(self, internal: str, record: PostRecord, *, dialect: str, metadata: Mapping[str, Any],
              updated: datetime | None = None) -> PostView:
        return PostView(id=internal, dialect=dialect, created_at=record.created_at,
                        updated_at=updated or record.created_at, request=post_to_dict(record.post),
                        record=record, metadata=metadata)

    async def page(self, *, offset: int, limit: int, status: str | None = None) -> tuple[list[PostView], bool]:
        """Newest first; ``(page, has_more)``. Drafts and engine posts interleave by creation time."""
        want = offset + limit + 1
        rows = await self.hub.storage.list_posts(limit=want if status is None else max(want, 1000))
        views: list[PostView] = []
        for row in rows:
            key = row.post.idempotency_key or ""
            internal = key[len(KEY_PREFIX):] if key.startswith(KEY_PREFIX) else row.id
            views.append(self._view(internal, record_from_row(row), dialect="native", metadata={},
                                    updated=row.updated_at))
        views += [_draft_view(r) for r in await self.store.list_drafts(limit=want)]
        views.sort(key=lambda v: (v.created_at, v.id), reverse=True)
        if status is not None:
            views = [v for v in views if v.state == status]
        page = views[offset: offset + limit]
        return page, len(views) > offset + limit

    async def view_for_row(self, post_id: str) -> PostView | None:
        return await view_for_row(self, post_id)

    async def count(self) -> int:
        return await self.store.count_posts()

    async def update(self, view: PostView, read: ServiceRequest) -> PostView:
        """Replace a draft or a post whose targets all still wait; 409 once any started."""
        now = self.hub.clock.now()
        if view.record is None:
            if read.draft:
                row = ApiPostRow(id=view.id, dialect=view.dialect, draft=read.request,
                                 metadata={**view.metadata, **read.metadata}, created_at=view.created_at,
                                 updated_at=now)
                await self.store.put_api_post(row)
                return _draft_view(row)
            record = await self.hub.submit(self.to_post(read.request, view.id))
            metadata = {**view.metadata, **read.metadata}
            await self.store.put_api_post(ApiPostRow(id=view.id, dialect=view.dialect, draft=None, metadata=metadata,
                                                     created_at=view.created_at, updated_at=now))
            return self._view(view.id, record, dialect=view.dialect, metadata=metadata)
        if read.draft:
            raise conflict("a scheduled post cannot become a draft again; delete it and create a draft")
        if any(t.status is not JobStatus.SCHEDULED for t in view.record.targets):
            raise conflict(f"the post is {view.state}: only drafts and posts still waiting for their time can "
                           "be edited", code="POST_NOT_EDITABLE")
        post = self.to_post(read.request, view.id)
        record = await self.hub.edit(view.record.id, post)
        return self._view(view.id, record, dialect=view.dialect, metadata=view.metadata)

    async def attach_media(self, view: PostView, item: Mapping[str, Any]) -> PostView:
        """Add a media item to a draft (PostPost's "create, then upload" flow)."""
        if view.record is not None:
            raise conflict("media can be attached to a draft only; this post is already " + view.state)
        request = {**view.request, "media": [*view.request.get("media", []), dict(item)]}
        row = ApiPostRow(id=view.id, dialect=view.dialect, draft=request, metadata=view.metadata,
                         created_at=view.created_at, updated_at=self.hub.clock.now())
        await self.store.put_api_post(row)
        return _draft_view(row)

    async def cancel(self, view: PostView, *, forget: bool = False) -> PostView:
        """Cancel every waiting target (a draft is deleted). ``forget`` hides the post afterwards
        (PostPost's delete: a second delete answers 404)."""
        if view.record is None:
            await self.store.delete_api_post(view.id)
            return view
        record = await self.hub.cancel(view.record.id)
        metadata = {**view.metadata, **({"deleted": True} if forget else {})}
        await self.store.put_api_post(ApiPostRow(id=view.id, dialect=view.dialect, draft=None, metadata=metadata,
                                                 created_at=view.created_at, updated_at=self.hub.clock.now()))
        return self._view(view.id, record, dialect=view.dialect, metadata=metadata)

    async def retry(self, view: PostView) -> PostView:
        """Queue the failed targets again, now. 409 while any target is running or waiting."""
        if view.record is None:
            raise conflict("a draft has nothing to retry; schedule it instead")
        if view.state == "publishing":
            raise conflict("the post is publishing; retry once it has finished", code="POST_PUBLISHING")
        try:
            record = await self.hub.retry(view.record.id)
        except PostStateError:
            raise conflict("no target of this post failed; nothing to retry", code="NOTHING_TO_RETRY") from None
        return self._view(view.id, record, dialect=view.dialect, metadata=view.metadata)

    async def validate(self, read: ServiceRequest) -> tuple[list[Problem], list[str]]:
        """The checks ``crosspost post --dry-run`` runs (live account facts, the media's bytes);
        ``(problems, warnings)``. Nothing is stored or sent."""
        try:
            post = self.to_post(read.request, "0" * 16)
            checked = await self.hub.validate(post)
        except InvalidPost as exc:
            return list(exc.problems), []
        warnings = [w for v in checked.values() for w in v.warnings]
        return [], warnings


def _draft_view(row: ApiPostRow) -> PostView:
    assert row.draft is not None
    return PostView(id=row.id, dialect=row.dialect, created_at=row.created_at, updated_at=row.updated_at,
                    request=row.draft, metadata=row.metadata)


def page_args(query: Mapping[str, str], *, default: int, maximum: int, names: tuple[str, str] = ("page", "limit"),
              ) -> tuple[int, int]:
    """``(page >= 1, limit)`` from the query; 400 naming the parameter when out of range."""
    values = []
    for name, fallback, top in ((names[0], 1, 10**9), (names[1], default, maximum)):
        raw = query.get(name)
        try:
            value = fallback if raw is None else int(raw)
        except ValueError:
            raise invalid([Problem(field=name, message=f"expected an integer, got {raw!r}")]) from None
        if not 1 <= value <= top:
            raise invalid([Problem(field=name, message=f"expected 1 to {top}, got {value}")])
        values.append(value)
    return values[0], values[1]


def require_json_object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise invalid([Problem(field="", message="expected a JSON object")])
    return body


def not_editable(view: PostView) -> ApiError:
    return conflict(f"the post is {view.state} and cannot change", code="POST_NOT_EDITABLE")


async def view_for_row(service: PostService, post_id: str) -> PostView | None:
    """The API's view of the engine post ``post_id`` (for webhooks, which start from a log entry)."""
    row = await service.hub.storage.get_post(post_id)
    if row is None:
        return None
    key = row.post.idempotency_key or ""
    internal = key[len(KEY_PREFIX):] if key.startswith(KEY_PREFIX) else row.id
    return await service.find(internal)
