"""What a Bluesky job remembers between attempts (pure JSON values, saved before each step).

The record keys are chosen and saved before the first write, and ``writing`` is saved before
each ``createRecord``: after a crash or a lost answer the next attempt asks the PDS for the
record at that key first, and writes only if it is not there. Each thread part is written once,
in order; ``posted`` holds the ones done.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from crosspost.plugins.bluesky.records import StrongRef


@attrs.frozen(kw_only=True)
class Checkpoint:
    rkeys: tuple[str, ...] = ()
    """One record key per post to write (a thread's parts in order)."""
    created_at: str | None = None
    """When the job chose its keys (ISO 8601): part ``i`` is dated ``i`` milliseconds later, so a
    repeated write sends the very same record."""
    images: tuple[Mapping[str, Any], ...] = ()
    """Uploaded images in the post's order: ``{"blob", "width", "height"}``."""
    video_job: str | None = None
    video: Mapping[str, Any] | None = None
    """The processed video: ``{"blob", "width", "height"}``."""
    posted: tuple[StrongRef, ...] = ()
    writing: int | None = None
    """The part whose ``createRecord`` was sent and may have been committed."""

    def part_time(self, index: int) -> datetime:
        assert self.created_at is not None
        return datetime.fromisoformat(self.created_at) + timedelta(milliseconds=index)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        return cls(rkeys=tuple(data.get("rkeys", ())), created_at=data.get("created_at"),
                   images=tuple(data.get("images", ())), video_job=data.get("video_job"), video=data.get("video"),
                   posted=tuple(StrongRef(uri=p["uri"], cid=p["cid"]) for p in data.get("posted", ())),
                   writing=data.get("writing"))

    def to_json(self) -> dict[str, Any]:
        return {"rkeys": list(self.rkeys), "created_at": self.created_at,
                "images": [dict(i) for i in self.images], "video_job": self.video_job,
                "video": dict(self.video) if self.video is not None else None,
                "posted": [p.to_json() for p in self.posted], "writing": self.writing}
