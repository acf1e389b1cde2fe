"""Job checkpoints sealed at rest.

A checkpoint may hold what a platform must not leak, such as TikTok's signed ``upload_url``
(its ``upload_token`` lets anyone finish the upload). The engine therefore never hands storage a
readable checkpoint: :func:`seal` turns it into ``{"sealed": "<base64 SecretBox token>"}``
bound to the job id (a sealed checkpoint copied onto another job fails to open), and
:func:`open_checkpoint` turns it back. The stored value stays a JSON object, so both the SQLite
``TEXT`` and the PostgreSQL ``JSONB`` column keep working without a schema change.

What a caller may rely on: an empty checkpoint stays ``{}`` (so "has the platform started?" is
still ``bool(job.checkpoint)`` on the stored row), and a plaintext checkpoint written before
sealing existed opens unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from crosspost.core.account_store import SecretCipher
from crosspost.core.errors import ConfigError

SEALED_KEY = "sealed"


class CheckpointUnreadable(ConfigError):
    """A job's saved progress cannot be opened (another secret key sealed it, or it was
    altered). The engine fails the job at once with this message instead of leaving it leased."""

    code = "checkpoint_unreadable"


def _associated(job_id: str) -> bytes:
    return f"checkpoint:{job_id}".encode()


def is_sealed(stored: Mapping[str, Any]) -> bool:
    """Whether ``stored`` is a sealed checkpoint rather than a plaintext (legacy) one."""
    return len(stored) == 1 and isinstance(stored.get(SEALED_KEY), str)


def seal(box: SecretCipher, job_id: str, checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The form of ``checkpoint`` that storage keeps: ``{}`` stays ``{}``, anything else is
    encrypted with associated data naming the job."""
    if not checkpoint:
        return {}
    plaintext = json.dumps(dict(checkpoint), separators=(",", ":")).encode()
    token = box.encrypt(plaintext, associated=_associated(job_id))
    return {SEALED_KEY: base64.urlsafe_b64encode(token).decode("ascii")}


def open_checkpoint(box: SecretCipher, job_id: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The checkpoint a platform saved, from what storage holds. A plaintext checkpoint (stored
    before sealing existed) comes back as it is. A wrong key or a tampered value raises
    :class:`CheckpointUnreadable` (a ``ConfigError``) naming the key to use, never garbage."""
    if not is_sealed(stored):
        return dict(stored)
    try:
        token = base64.urlsafe_b64decode(str(stored[SEALED_KEY]))
    except (binascii.Error, ValueError):
        token = b""
    try:
        opened = json.loads(box.decrypt(token, associated=_associated(job_id)))
    except ConfigError as exc:
        raise CheckpointUnreadable(
            f"the saved progress of job {job_id} cannot be opened: {exc}. The platform may already hold "
            "part of this post, so crosspost stopped rather than start it again. Fix: run the worker with "
            "the CROSSPOST_SECRET_KEY (or the key file beside the database) that was in use when the job "
            "ran, then post it again if the platform does not show it") from None
    if not isinstance(opened, dict):
        raise CheckpointUnreadable(f"the stored checkpoint of job {job_id} is not a JSON object")
    return opened
