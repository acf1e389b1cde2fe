"""Reading ``/v2/post/publish/status/fetch/`` and turning a finished post into a link.

Only ``PUBLISH_COMPLETE`` means published and ``SEND_TO_USER_INBOX`` means delivered to the
creator's inbox (a draft); ``FAILED`` carries a ``fail_reason``. Any other status, including
names TikTok has not documented, means "still working": keep polling. The post ids arrive as
``publicaly_available_post_id`` (TikTok's spelling) only after moderation of a public post, and
have been seen as a list of numbers or strings, a bare number and a bare string, so all of them
are read, and their absence never turns a success into a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import attrs

from crosspost.core.models import JobStatus

PROCESSING_UPLOAD = "PROCESSING_UPLOAD"
PROCESSING_DOWNLOAD = "PROCESSING_DOWNLOAD"
SEND_TO_USER_INBOX = "SEND_TO_USER_INBOX"
PUBLISH_COMPLETE = "PUBLISH_COMPLETE"
FAILED = "FAILED"
KNOWN_STATUSES = (PROCESSING_UPLOAD, PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX, PUBLISH_COMPLETE, FAILED)
POST_ID_KEY = "publicaly_available_post_id"
"""TikTok's spelling (one "l")."""


@attrs.frozen(kw_only=True)
class PublishStatus:
    """One status/fetch answer."""

    status: str
    """TikTok's status name, as sent (unknown names are kept, and mean "not finished")."""
    fail_reason: str | None = None
    post_ids: tuple[str, ...] = ()
    """Public post ids, as decimal strings (19-digit ids survive any JSON reader)."""
    uploaded_bytes: int | None = None
    downloaded_bytes: int | None = None

    @property
    def published(self) -> bool:
        return self.status == PUBLISH_COMPLETE

    @property
    def in_inbox(self) -> bool:
        return self.status == SEND_TO_USER_INBOX

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def terminal(self) -> bool:
        """Whether polling can stop: published, in the inbox (the creator finishes it) or failed.

        ``SEND_TO_USER_INBOX`` stays put until the creator acts, so waiting for more would time out.
        """
        return self.published or self.in_inbox or self.failed

    def job_status(self) -> JobStatus | None:
        """The job state this answer ends in, or ``None`` to keep polling."""
        if self.published:
            return JobStatus.PUBLISHED
        if self.in_inbox:
            return JobStatus.INBOX
        if self.failed:
            return JobStatus.FAILED
        return None


def parse_status(data: Mapping[str, Any]) -> PublishStatus:
    """Read the ``data`` object of a status/fetch response, leniently (never raises on odd types)."""
    status = data.get("status")
    reason = data.get("fail_reason")
    return PublishStatus(
        status=status if isinstance(status, str) else "",
        fail_reason=reason if isinstance(reason, str) and reason else None,
        post_ids=parse_post_ids(data.get(POST_ID_KEY)),
        uploaded_bytes=_count(data.get("uploaded_bytes")),
        downloaded_bytes=_count(data.get("downloaded_bytes")),
    )


def parse_post_ids(value: object) -> tuple[str, ...]:
    """Post ids from a list of ints or strings, a bare int or a bare string; anything else is none."""
    items = value if isinstance(value, list | tuple) else [value]
    ids: dict[str, None] = {}
    for item in items:
        text = _post_id(item)
        if text:
            ids[text] = None
    return tuple(ids)


def _post_id(item: object) -> str | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return str(item) if item > 0 else None
    if isinstance(item, str):
        return item.strip() or None
    return None


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def post_url(username: str, post_id: str | int, *, photo: bool = False) -> str:
    """The public link of a post: ``https://www.tiktok.com/@{username}/video/{id}``.

    ``photo=True`` gives the ``/photo/{id}`` form TikTok uses for photo posts. Raises ValueError
    when ``username`` is empty; a leading ``@`` is accepted and dropped.
    """
    handle = username.strip().removeprefix("@")
    if not handle:
        raise ValueError("a username is needed to build a TikTok post URL")
    kind = "photo" if photo else "video"
    return f"https://www.tiktok.com/@{quote(handle, safe='._-')}/{kind}/{quote(str(post_id), safe='')}"
