"""``crosspost api-keys create|list|revoke``: keys for ``crosspost serve``, shown once, stored hashed."""

from __future__ import annotations

import click

from crosspost.core.cli.context import global_options, open_hub, run, state


@click.group("api-keys")
def api_keys() -> None:
    """API keys for `crosspost serve` (stored as hashes: a lost key cannot be shown again)."""


@api_keys.command("create")
@click.argument("name")
@global_options()
def create(name: str) -> None:
    """Make a key called NAME and print it once."""
    from crosspost.core.serve import keys
    from crosspost.storage.serve_tables import serve_store

    async def go() -> None:
        out = state().output
        async with open_hub() as hub:
            key, row = keys.mint(name, now=hub.clock.now())
            if not await serve_store(hub.storage).add_api_key(row):
                raise click.UsageError(f"a key named {name!r} exists: pick another name or revoke it first")
        if state().json:
            out.data({"name": name, "id": row.id, "key": key})
        else:
            out.result(f"API key {name!r} (id {row.id}):\n{key}\n"
                       "It is shown this once; crosspost keeps only its hash.")

    run(go)


@api_keys.command("list")
@global_options()
def list_keys() -> None:
    """Every key: name, id, prefix, created, revoked."""
    from crosspost.storage.serve_tables import serve_store

    async def go() -> None:
        out = state().output
        async with open_hub() as hub:
            rows = await serve_store(hub.storage).list_api_keys()
        data = [{"name": r.name, "id": r.id, "prefix": r.prefix, "created_at": r.created_at.isoformat(),
                 "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None} for r in rows]
        if state().json:
            out.data(data)
        elif not data:
            out.result("No API keys; `crosspost api-keys create NAME` makes one.")
        else:
            for d in data:
                status = f"revoked {d['revoked_at']}" if d["revoked_at"] else "active"
                out.result(f"{d['name']}  id {d['id']}  {d['prefix']}…  created {d['created_at']}  {status}")

    run(go)


@api_keys.command("revoke")
@click.argument("name_or_id")
@global_options()
def revoke(name_or_id: str) -> None:
    """Revoke a key by name or id: requests with it get 401 at once."""
    from crosspost.storage.serve_tables import serve_store

    async def go() -> None:
        out = state().output
        async with open_hub() as hub:
            done = await serve_store(hub.storage).revoke_api_key(name_or_id, now=hub.clock.now())
        if not done:
            raise click.UsageError(f"no active key named {name_or_id!r}; `crosspost api-keys list` shows them")
        out.result(f"Revoked {name_or_id}.")

    run(go)


COMMANDS = [api_keys]
