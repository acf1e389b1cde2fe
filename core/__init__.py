"""crosspost's platform-neutral core: the Post model, hook specifications, plugin manager and engine.

Import the public names from here; submodules are split by what they hold.
"""

from crosspost.core.errors import (
    CrosspostError,
    InvalidPost,
    PlatformError,
    Problem,
)
from crosspost.core.hookspecs import hookimpl, hookspec
from crosspost.core.models import (
    JobStatus,
    Media,
    MediaKind,
    Post,
    Target,
    TargetResult,
)

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
