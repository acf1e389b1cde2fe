"""The database itself: ``migrate``, ``export`` and ``import``.

``crosspost migrate`` is the one command that upgrades an existing schema on purpose; workers
refuse to start on an older schema and name it. ``export``/``import`` move everything (accounts
with their secrets still encrypted, posts with their jobs, events) through one JSON Lines file,
e.g. from SQLite to PostgreSQL (:mod:`crosspost.storage.transfer`). A database URL is printed
with its password as ``***``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.cli.context import async_command, global_options, state

if TYPE_CHECKING:
    from crosspost.storage.transfer import TransferSummary


@click.command()
@click.option("--check", is_flag=True, help="Only list pending migrations; exit 1 when there are some.")
@global_options()
@async_command
async def migrate(check: bool) -> None:
    """Bring the database schema up to date (SQLite or PostgreSQL, from --db / CROSSPOST_DB).

    Run it after installing a new crosspost, with the workers stopped: workers never change an
    existing schema and refuse to start while migrations are pending.
    """
    from crosspost.storage import display_url, open_storage

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
        out.data({"database": display_url(settings.db), "backend": storage.backend,
                  "pending": pending if check else [], "applied": applied})
    elif check:
        out.result(f"{len(pending)} pending migration(s)" + (": " + ", ".join(pending) if pending else ""))
    else:
        out.result(f"Applied {len(applied)} migration(s): {', '.join(applied)}" if applied
                   else "The database schema is up to date.")
    if check and pending:
        raise click.exceptions.Exit(1)


def _report(verb: str, file: Path, backend: str, database: str, summary: TransferSummary) -> None:
    import attrs

    out = state().output
    if out.json:
        data: dict[str, Any] = {"file": str(file), "database": database, "backend": backend,
                                **attrs.asdict(summary)}
        out.data(data)
        return
    skipped = summary.skipped_accounts + summary.skipped_posts
    out.result(f"{verb} {summary.accounts} account(s), {summary.posts} post(s) with {summary.jobs} job(s), "
               f"{summary.events} event(s)" + (f"; skipped {skipped} already present" if skipped else "") + ".")
    if summary.running_jobs:
        out.step(f"{summary.running_jobs} job(s) were running (a worker was up): they resume from their "
                 "checkpoint once their lease expires.")


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@global_options()
@async_command
async def export(file: Path) -> None:
    """Write every account, post (with its jobs) and event of the database to FILE (JSON Lines).

    Stop the workers first. Account secrets stay encrypted: the importing side needs the same
    secret key (CROSSPOST_SECRET_KEY, or the key file beside the SQLite database).
    """
    from crosspost.storage import display_url, open_storage
    from crosspost.storage.transfer import export_to

    settings = state().settings()
    storage = await open_storage(settings.db, upgrade=False)
    try:
        summary = await export_to(storage, file)
    finally:
        await storage.close()
    _report("Exported", file, storage.backend, display_url(settings.db), summary)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@global_options()
@async_command
async def import_(file: Path) -> None:
    """Store the contents of a `crosspost export` FILE in the database (PostgreSQL).

    Creates the schema in a new database; rows already present are skipped, so an interrupted
    import can be run again.
    """
    from crosspost.storage import display_url, open_storage
    from crosspost.storage.transfer import import_from

    settings = state().settings()
    storage = await open_storage(settings.db, upgrade=False)
    try:
        summary = await import_from(storage, file)
    finally:
        await storage.close()
    _report("Imported", file, storage.backend, display_url(settings.db), summary)


COMMANDS = [migrate, export, import_]
