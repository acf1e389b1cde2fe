"""crosspost's TikTok platform: Content Posting API client, uploader, validation and emulator.

Names are imported on first use, so ``import crosspost.plugins.tiktok`` stays cheap (no PyAV or
Pillow until media is actually probed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosspost.plugins.tiktok.auth import OAuthClient, TokenKeeper
    from crosspost.plugins.tiktok.client import InitResult, RetryPolicy, TikTokClient, TokenSource
    from crosspost.plugins.tiktok.config import PollPolicy, TikTokConfig
    from crosspost.plugins.tiktok.platform import TikTokPlatform
    from crosspost.plugins.tiktok.upload import ChunkUploader, UploadTarget

_EXPORTS = {
    "ChunkUploader": "crosspost.plugins.tiktok.upload",
    "InitResult": "crosspost.plugins.tiktok.client",
    "OAuthClient": "crosspost.plugins.tiktok.auth",
    "PollPolicy": "crosspost.plugins.tiktok.config",
    "RetryPolicy": "crosspost.plugins.tiktok.client",
    "TikTokClient": "crosspost.plugins.tiktok.client",
    "TikTokConfig": "crosspost.plugins.tiktok.config",
    "TikTokPlatform": "crosspost.plugins.tiktok.platform",
    "TokenKeeper": "crosspost.plugins.tiktok.auth",
    "TokenSource": "crosspost.plugins.tiktok.client",
    "UploadTarget": "crosspost.plugins.tiktok.upload",
}

__all__ = [
    "ChunkUploader",
    "InitResult",
    "OAuthClient",
    "PollPolicy",
    "RetryPolicy",
    "TikTokClient",
    "TikTokConfig",
    "TikTokPlatform",
    "TokenKeeper",
    "TokenSource",
    "UploadTarget",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
