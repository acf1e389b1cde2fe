"""The PostgreSQL storage backend (asyncpg), for many workers on many machines.

Selected by ``CROSSPOST_DB=postgresql://…`` (or ``postgres://…``) through
:func:`crosspost.storage.open_storage`; install with ``pip install 'crosspost[postgres]'``.
It implements the same :class:`~crosspost.storage.base.Storage` contract as SQLite, plus
:meth:`PostgresStorage.wait_for_work` (``LISTEN``/``NOTIFY``) for idle workers.
"""

from crosspost.storage.base import Storage
from crosspost.storage.postgres.connection import DEFAULT_POOL_SIZE, POOL_SIZE_ENV, connect
from crosspost.storage.postgres.storage import PostgresStorage


def _implements_the_protocol(storage: PostgresStorage) -> Storage:
    """Never called: mypy checks here that :class:`PostgresStorage` is a full ``Storage``."""
    return storage


__all__ = ["DEFAULT_POOL_SIZE", "POOL_SIZE_ENV", "PostgresStorage", "connect"]
