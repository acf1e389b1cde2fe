"""``crosspost serve``'s own settings (the hub's come from :class:`~crosspost.core.settings.Settings`)."""

from __future__ import annotations

from pathlib import Path

import attrs

MIB = 1024 * 1024


@attrs.frozen(kw_only=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    """In-process worker loops; 0 leaves publishing to separate ``crosspost worker`` processes."""
    max_body: int = 4 * MIB
    """JSON bodies above this get 413 (RelayAPI's cap)."""
    max_upload: int = 5 * 1024 * MIB
    """Media uploads above this get 413 (Zernio's presigned limit, 5 GB)."""
    max_direct_upload: int = 25 * MIB
    """``upload-direct`` (multipart) cap, as Zernio's."""
    allow_private_webhooks: bool = False
    """Deliver webhooks to loopback and private addresses (local bots need it)."""
    public_url: str | None = None
    """The server's URL as clients reach it (behind a proxy); default: the request's own host."""
    media_dir: Path | None = None
    """Where uploads are kept; default ``<data dir>/serve-media``."""
    idempotency_hold: float = 30.0
    """Seconds a request holds its idempotency key before another attempt may take over (a crashed holder)."""
    presign_ttl: int = 3600
    webhook_poll: float = 1.0
    """Seconds between outbox checks when nothing woke the dispatcher."""
