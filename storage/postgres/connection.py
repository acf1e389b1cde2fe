"""Opening the PostgreSQL backend from a ``postgresql://`` URL (``CROSSPOST_DB``).

The URL is libpq's, read by asyncpg, plus crosspost's own query parameter ``pool_size``: the
most connections one process keeps open (default 10, or ``CROSSPOST_DB_POOL_SIZE``). Every
other query parameter asyncpg does not know becomes a server setting, so
``?search_path=crosspost`` keeps crosspost's tables in their own schema. The password never
appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import TYPE_CHECKING

import asyncpg

from crosspost.core.errors import ConfigError
from crosspost.storage.postgres.notify import WorkListener, channel_for
from crosspost.storage.postgres.rows import init_connection
from crosspost.storage.postgres.storage import PostgresStorage

if TYPE_CHECKING:
    from asyncpg import Record

DEFAULT_POOL_SIZE = 10
POOL_SIZE_ENV = "CROSSPOST_DB_POOL_SIZE"


def split_url(url: str) -> tuple[str, int | None]:
    """``url`` without crosspost's own ``pool_size`` parameter, and that parameter's value."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    size = None
    kept = []
    for key, value in query:
        if key == "pool_size":
            size = _positive(value, "pool_size in the database URL")
        else:
            kept.append((key, value))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(kept))), size


def _positive(value: str, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{what} must be a whole number of at least 1, got {value!r}")
    return number


def display_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for reprs and messages)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def pool_size_from(url_size: int | None, given: int | None) -> int:
    """Explicit argument, else the URL's ``pool_size``, else ``CROSSPOST_DB_POOL_SIZE``, else 10."""
    if given is not None:
        return _positive(str(given), "pool_size")
    if url_size is not None:
        return url_size
    env = os.environ.get(POOL_SIZE_ENV)
    return _positive(env, POOL_SIZE_ENV) if env else DEFAULT_POOL_SIZE


async def connect(url: str, *, migrate: bool = True, pool_size: int | None = None,
                  server_settings: dict[str, str] | None = None) -> PostgresStorage:
    """Open a pool on the database at ``url`` and (unless ``migrate`` is False) migrate it.

    ``server_settings`` (e.g. ``{"search_path": "crosspost"}``) apply to every connection.
    Raises :class:`ConfigError` naming the URL (password hidden) when the server cannot be
    reached or refuses the login.
    """
    dsn, url_size = split_url(url)
    size = pool_size_from(url_size, pool_size)
    shown = display_url(dsn)
    try:
        pool: asyncpg.Pool[Record] = await asyncpg.create_pool(
            dsn, min_size=min(2, size), max_size=size, init=init_connection, reset=keep_session,
            server_settings=server_settings)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise ConfigError(f"cannot open the PostgreSQL database {shown}: {type(exc).__name__}: "
                          f"{_redacted(str(exc), url)}; check CROSSPOST_DB and that the server runs") from None
    try:
        schema: str = await pool.fetchval("SELECT current_schema()")
        if schema is None:
            raise ConfigError(f"no schema of the search_path exists in {shown}; create it "
                              "(CREATE SCHEMA …) or fix search_path")

        async def listen() -> asyncpg.Connection[Record]:
            return await asyncpg.connect(dsn, server_settings=server_settings)

        storage = PostgresStorage(pool, display=shown, listener=WorkListener(listen, channel_for(schema)))
        if migrate:
            await storage.migrate()
    except BaseException:
        await pool.close()
        raise
    return storage


async def keep_session(conn: asyncpg.Connection[Record]) -> None:
    """What the pool runs on a connection it takes back: nothing beyond asyncpg's own rollback
    of a transaction left open.

    asyncpg's default reset sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``
    on every release: a round trip per storage call that measured ~3.6x a bare statement. None of
    it has anything to undo here: crosspost's pooled connections take transaction-scoped
    advisory locks only (released at COMMIT), open no cursor outside a transaction, LISTEN on a
    connection of their own (:class:`~crosspost.storage.postgres.notify.WorkListener`) and never
    ``SET`` a session setting (``server_settings`` are connection parameters, kept as they are).
    A method that ever needs session state must undo it itself before releasing.
    """
    del conn


def _redacted(message: str, url: str) -> str:
    password = urllib.parse.urlsplit(url).password
    return message.replace(password, "***") if password else message
