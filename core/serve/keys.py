"""API keys: minted random, shown once, stored as a SHA-256 digest only.

A key is ``sk_<id>_<secret>``: ``sk_`` is the prefix SocialSyncerAPI and PostPost users know
(purely cosmetic: nothing checks it), ``<id>`` names the key in listings, ``<secret>`` is 32
random bytes in URL-safe base64. A plain SHA-256 suffices because the secret has 256 bits of
entropy: there is nothing to brute-force, so a slow password hash would only slow every request.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from crosspost.storage.serve_tables import ApiKeyRow

PREFIX = "sk_"


def digest(key: str) -> str:
    """The stored form of ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def mint(name: str, *, now: datetime) -> tuple[str, ApiKeyRow]:
    """A new key (to print once) and the row that stores it hashed."""
    key_id = uuid.uuid4().hex[:12]
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return key, ApiKeyRow(id=key_id, name=name, prefix=key[: len(PREFIX) + len(key_id)], hash=digest(key),
                          created_at=now)
