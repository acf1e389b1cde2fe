"""One dialect per hosted service, each under its own base path (see docs/serve.md)."""

from __future__ import annotations

from crosspost.core.serve.api import Dialect
from crosspost.core.serve.dialects.native import RelayFamily
from crosspost.core.serve.dialects.postpost import PostPostDialect
from crosspost.core.serve.dialects.zernio import ZernioFamily

NAMES = ("native", "relay", "zernio", "late", "socialsyncer", "postpost")


def all_dialects() -> dict[str, Dialect]:
    """Every dialect by name, native first."""
    return {"native": RelayFamily("native"), "relay": RelayFamily("relay"), "zernio": ZernioFamily("zernio"),
            "late": ZernioFamily("late"), "socialsyncer": ZernioFamily("socialsyncer"),
            "postpost": PostPostDialect()}
