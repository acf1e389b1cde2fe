"""Where crosspost keeps posts, jobs, accounts, the event log and shared rate windows.

:func:`open_storage` picks a backend from the URL: a path or ``sqlite:///path`` opens SQLite
(the embedded default), ``postgresql://…`` the PostgreSQL backend when it is installed. Every
backend implements :class:`~crosspost.storage.base.Storage`; nothing above storage knows which
one it talks to.
"""

from __future__ import annotations

import importlib

from crosspost.core.errors import ConfigError
from crosspost.storage.base import Storage

BACKENDS: dict[str, str] = {
    "sqlite": "crosspost.storage.sqlite",
    "postgresql": "crosspost.storage.postgres",
    "postgres": "crosspost.storage.postgres",
}
"""URL scheme -> module. Each module provides
``async def connect(url_or_path: str, *, migrate: bool = True) -> Storage``."""


async def open_storage(url_or_path: str, *, migrate: bool = True) -> Storage:
    """Connect to the database named by ``url_or_path``, applying migrations unless told not to.

    Raises :class:`ConfigError` naming the fix for an unknown scheme or a backend whose extra is
    not installed.
    """
    scheme, sep, _ = url_or_path.partition("://")
    name = scheme.lower() if sep else "sqlite"
    if name not in BACKENDS:
        known = ", ".join(f"{s}://" for s in BACKENDS)
        raise ConfigError(f"unknown database URL scheme {scheme!r}; use a file path or one of {known}")
    try:
        module = importlib.import_module(BACKENDS[name])
    except ImportError as exc:
        raise ConfigError(
            f"the {name} storage backend is not available ({exc}); install it with "
            f"pip install 'crosspost[{name if name != 'postgres' else 'postgresql'}]'"
        ) from None
    storage: Storage = await module.connect(url_or_path, migrate=migrate)
    return storage


__all__ = ["BACKENDS", "Storage", "open_storage"]
