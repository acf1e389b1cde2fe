"""Accounts: who crosspost posts as on each platform.

An account is stored with its secrets encrypted (see ``crosspost.core.secrets``); in memory the
secrets sit in a field that is never part of a repr, so logging an account never leaks a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class Account:
    """One platform account (``tiktok:main`` is platform ``tiktok``, name ``main``)."""

    platform: str
    name: str
    secrets: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    """Tokens and keys (e.g. ``access_token``, ``refresh_token``). Never printed or logged."""
    profile: Mapping[str, Any] = attrs.field(factory=dict)
    """Public facts shown to users (username, nickname, open_id)."""
    scopes: tuple[str, ...] = ()
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    needs_login: bool = False
    """Set when credentials are dead; jobs for this account wait until the user logs in again."""
    version: int = 0
    """Bumped on every stored change; used to update secrets without losing a concurrent write."""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.name}"
