"""Each dialect's post ids, derived reversibly from the one internal id (16 hex characters).

* Zernio, Late, SocialSyncerAPI and PostPost clients expect a 24-hex MongoDB ObjectId: the first
  8 hex are the creation time in seconds (as an ObjectId's are), the last 16 the internal id.
* RelayAPI and the native API use ``post_<id>``.

Every dialect reads all of these forms, so one post is reachable from any dialect.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

_INTERNAL = re.compile(r"^[0-9a-f]{16}$")


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def object_id(internal: str, created_at: datetime) -> str:
    """A 24-hex ObjectId for ``internal``."""
    return f"{int(created_at.timestamp()) & 0xFFFFFFFF:08x}{internal}"


def prefixed(internal: str, prefix: str = "post_") -> str:
    return f"{prefix}{internal}"


def internal_id(public: str) -> str | None:
    """The internal id inside any dialect's form; None when ``public`` is none of them."""
    text = public.strip().lower()
    for prefix in ("post_", "pg_"):
        text = text.removeprefix(prefix)
    if len(text) == 24 and re.fullmatch(r"[0-9a-f]{24}", text):
        text = text[8:]
    return text if _INTERNAL.match(text) else None
