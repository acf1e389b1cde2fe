"""``crosspost migrate``: apply database migrations explicitly (workers refuse an outdated schema).

``export``/``import`` are not offered: the storage layer has no dump/load operations yet.
"""

from __future__ import annotations

import click

from crosspost.core.cli.context import async_command, global_options, state


@click.command()
@click.option("--check", is_flag=True, help="Only list pending migrations; exit 1 when there are some.")
@global_options()
@async_command
async def migrate(check: bool) -> None:
    """Bring the database schema up to date (SQLite or PostgreSQL, from --db / CROSSPOST_DB)."""
    from crosspost.storage import open_storage

    cli = state()
    out = cli.output
    settings = cli.settings()
    storage = await open_storage(settings.db, migrate=False)
    try:
        pending = await storage.pending_migrations()
        applied = [] if check or not pending else await storage.migrate()
    finally:
        await storage.close()
    if out.json:
        out.data({"database": settings.db, "backend": storage.backend, "pending": pending if check else [],
                  "applied": applied})
    elif check:
        out.result(f"{len(pending)} pending migration(s)" + (": " + ", ".join(pending) if pending else ""))
    else:
        out.result(f"Applied {len(applied)} migration(s): {', '.join(applied)}" if applied
                   else "The database schema is up to date.")
    if check and pending:
        raise click.exceptions.Exit(1)


COMMANDS = [migrate]
