"""``crosspost config``: every setting crosspost and its loaded platforms read, its value, and
where the value came from. Secrets are shown only as set or unset."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs
import click

from crosspost.core.cli.context import global_options, state
from crosspost.core.settings import default_data_dir


@attrs.frozen(kw_only=True)
class CoreSetting:
    """One of crosspost's own ``CROSSPOST_*`` variables."""

    env: str
    help: str
    default: str = ""
    secret: bool = False


def core_settings() -> tuple[CoreSetting, ...]:
    data_dir = default_data_dir()
    return (
        CoreSetting(env="CROSSPOST_DB", default=str(data_dir / "crosspost.db"),
                    help="Database: a SQLite path or URL, or a postgresql:// URL (default: crosspost.db in the "
                         "data folder)."),
        CoreSetting(env="CROSSPOST_DATA_DIR", default=str(data_dir),
                    help="Folder for the default database and the secret key file."),
        CoreSetting(env="CROSSPOST_CONCURRENCY", default="8", help="Jobs one worker runs at once."),
        CoreSetting(env="CROSSPOST_DISABLE_PLUGINS", default="",
                    help="Comma-separated plugin names not to load."),
        CoreSetting(env="CROSSPOST_SECRET_KEY", secret=True,
                    help="Key that encrypts account secrets and checkpoints (default: a key file beside the "
                         "SQLite database, created on first use)."),
        CoreSetting(env="CROSSPOST_ALLOW_HOSTS", default="",
                    help="Comma-separated hosts, host:port, IPs or CIDRs media may be fetched from although "
                         "they are local (tests, self-hosting)."),
        CoreSetting(env="CROSSPOST_DB_POOL_SIZE", default="",
                    help="PostgreSQL connection pool size (default: the backend's own)."),
    )


def _row(env: Mapping[str, str], *, scope: str, name: str, help: str, default: str | None, secret: bool,
         required: bool = False) -> dict[str, Any]:
    given = env.get(name)
    if given is not None:
        source, value = "env", given
    elif default:
        source, value = "default", default
    else:
        source, value = "unset", None
    if secret:
        value = "set" if given else "unset"
    return {"scope": scope, "name": name, "value": value, "source": source, "secret": secret,
            "required": required, "help": help}


def config_rows(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """Core's settings, then each loaded platform's declared ``settings``."""
    rows = [_row(env, scope="crosspost", name=s.env, help=s.help, default=s.default, secret=s.secret)
            for s in core_settings()]
    for name, platform in sorted(state().hooks().platforms().items()):
        for spec in platform.settings:
            rows.append(_row(env, scope=name, name=spec.env_name(name), help=spec.help, default=spec.default,
                             secret=spec.secret, required=spec.required))
    return rows


@click.command()
@global_options()
def config() -> None:
    """List every setting crosspost and the loaded platforms read (CROSSPOST_* environment
    variables): its value and whether it came from the environment or a default. Secrets are
    shown only as set or unset."""
    out = state().output
    env = {k: v for k, v in os.environ.items() if k.startswith("CROSSPOST_")}
    rows = config_rows(env)
    if out.json:
        out.data({"settings": rows})
        return
    from rich.markup import escape

    table = [[escape(r["scope"]), escape(r["name"]), escape("-" if r["value"] is None else str(r["value"])),
              r["source"], escape(r["help"])] for r in rows]
    out.table(["For", "Variable", "Value", "Source", "Meaning"], table, empty="No settings.")


COMMANDS = [config]
