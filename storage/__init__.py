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


SCHEMAS: dict[str, str] = {
    "sqlite": "crosspost.storage.migrations",
    "postgresql": "crosspost.storage.postgres.migrations",
}
"""``Storage.backend`` -> the module listing its migrations (``names()``)."""


class OutdatedSchema(ConfigError):
    """The database has an older crosspost schema and the caller may not upgrade it."""

    code = "outdated_schema"


async def open_storage(url_or_path: str, *, migrate: bool = True, upgrade: bool = True) -> Storage:
    """Connect to the database named by ``url_or_path`` and bring its schema up to date.

    ``migrate=False`` opens the database exactly as it is (``crosspost migrate`` looks before it
    applies). ``upgrade=False`` is for workers and other long-lived processes: a new, empty
    database still gets the whole schema, but one that has part of it (an older crosspost's)
    raises :class:`OutdatedSchema`, naming ``crosspost migrate``, instead of changing the schema
    under processes that may still run the older version.

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
    storage: Storage = await module.connect(url_or_path, migrate=migrate and upgrade)
    if migrate and not upgrade:
        try:
            await _create_when_new(storage, url_or_path)
        except BaseException:
            await storage.close()
            raise
    return storage


async def _create_when_new(storage: Storage, url_or_path: str) -> None:
    pending = await storage.pending_migrations()
    if not pending:
        return
    if pending == importlib.import_module(SCHEMAS[storage.backend]).names():
        await storage.migrate()
        return
    raise OutdatedSchema(
        f"the database {display_url(url_or_path)} has an older crosspost schema: "
        f"{len(pending)} migration(s) pending ({', '.join(pending)}), and this command does not "
        "change a schema. Back the database up, stop workers of the older crosspost, run "
        "`crosspost migrate`, then run this command again")


def display_url(url_or_path: str) -> str:
    """``url_or_path`` fit to print: a PostgreSQL URL's password becomes ``***``."""
    scheme, sep, _ = url_or_path.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres"):
        return url_or_path
    from crosspost.storage.postgres.connection import display_url as redact

    return redact(url_or_path)


__all__ = ["BACKENDS", "OutdatedSchema", "Storage", "display_url", "open_storage"]
