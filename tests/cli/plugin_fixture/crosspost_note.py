"""A third-party plugin installed through an entry point (tests/cli/test_cli_plugin_doors.py):
a command, a platform with an account field and a shorthand flag TikTok declares too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from crosspost.core import hookimpl
from crosspost.core.account_flows import AccountField, ServiceContext
from crosspost.core.accounts import Account
from crosspost.core.errors import AuthError
from crosspost.core.models import JobStatus, Post
from crosspost.core.options import OptionSpec, OptionType
from crosspost.core.platform import JobContext, Outcome, Platform, RegisterPlatform, Validation


class NotePlatform(Platform):
    name = "note"
    display_name = "Note"
    account_fields = (AccountField(name="token", secret=True, help="The Note token."),)
    options = (OptionSpec(name="visibility", type=OptionType.STRING, choices=("PUBLIC", "SELF_ONLY"), flag="privacy",
                          help="Who sees the note."),)

    async def connect_account(self, name: str, values: Mapping[str, str], ctx: ServiceContext) -> Account:
        if values["token"] != "good":
            raise AuthError("Note refused the token", code="bad_token", platform=self.name)
        return Account(platform=self.name, name=name, secrets={"token": values["token"]},
                       profile={"username": "noter"})

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        return Validation()

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        options: dict[str, Any] = dict(post.options_for(self.name))
        return Outcome(status=JobStatus.PUBLISHED, publish_id=f"note-{options.get('visibility')}")


@hookimpl
def register_platforms(register: RegisterPlatform) -> None:
    register(NotePlatform())


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command()
    def hello() -> None:
        """Say hello from the note plugin."""
        click.echo("hello from a plugin command")
