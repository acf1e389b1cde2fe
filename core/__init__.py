"""crosspost's platform-neutral core: the Post model, hook specifications, plugin manager and engine.

Import the public names from here (``from crosspost.core import hookimpl, Post``); submodules
are split by what they hold. The names are resolved on first access (PEP 562), so importing a
submodule, e.g. ``crosspost.core.models`` from storage, loads neither pluggy nor the hook
specifications.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosspost.core.errors import CrosspostError, InvalidPost, PlatformError, Problem
    from crosspost.core.hookspecs import hookimpl, hookspec
    from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target, TargetResult

_PUBLIC = {
    "CrosspostError": "crosspost.core.errors",
    "InvalidPost": "crosspost.core.errors",
    "PlatformError": "crosspost.core.errors",
    "Problem": "crosspost.core.errors",
    "hookimpl": "crosspost.core.hookspecs",
    "hookspec": "crosspost.core.hookspecs",
    "JobStatus": "crosspost.core.models",
    "Media": "crosspost.core.models",
    "MediaKind": "crosspost.core.models",
    "Post": "crosspost.core.models",
    "Target": "crosspost.core.models",
    "TargetResult": "crosspost.core.models",
}
"""Each public name and the module that defines it."""


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


__all__ = [
    "CrosspostError",
    "InvalidPost",
    "JobStatus",
    "Media",
    "MediaKind",
    "PlatformError",
    "Post",
    "Problem",
    "Target",
    "TargetResult",
    "hookimpl",
    "hookspec",
]
