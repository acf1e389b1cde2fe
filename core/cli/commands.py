"""crosspost's own commands, registered through ``register_commands`` like any plugin's (tox's
built-ins-as-plugins): nothing in core lists a platform's commands."""

from __future__ import annotations

import click

from crosspost.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    """post, list/status/reschedule/cancel/worker, accounts, plugins, config, demo, emulator,
    webhooks, migrate/export/import, completion, stats, dashboard, serve, api-keys, reconcile."""
    from crosspost.core.cli import (
        accounts,
        api_keys_cmd,
        completion,
        config_cmd,
        dashboard_cmd,
        demo,
        emulator_cmd,
        jobs,
        plugins_cmd,
        post,
        reconcile,
        serve_cmd,
        stats_cmd,
        storage_cmd,
        webhooks_cmd,
    )

    for module in (post, jobs, accounts, plugins_cmd, config_cmd, demo, emulator_cmd, webhooks_cmd, storage_cmd,
                   completion, stats_cmd, dashboard_cmd, serve_cmd, api_keys_cmd, reconcile):
        for command in module.COMMANDS:
            cli.add_command(command)
