"""The CLI through the plugin doors: a plugin installed by entry point adds a command, a
platform whose accounts and shorthand flags the generic commands pick up; duplicate command
names are refused naming both plugins."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click
import pytest

from crosspost.core import hookimpl
from crosspost.core.cli.plugin_commands import install_commands
from crosspost.core.errors import PluginError
from crosspost.core.plugins import make_plugin_manager
from tests.cli.cli_support import CROSSPOST, subprocess_env
from tests.plugin_dists import write_distribution

FIXTURE = Path(__file__).parent / "plugin_fixture"


def crosspost(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process that finds the fixture plugin through its entry point."""
    return subprocess.run([*CROSSPOST, *args], env={**subprocess_env(env), "PYTHONPATH": str(FIXTURE)},
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_help_lists_a_command_a_plugin_contributes(base_env: dict[str, str]) -> None:
    shown = crosspost(base_env, "--help")
    assert shown.returncode == 0, shown.stderr
    assert "hello" in shown.stdout
    assert "Say hello from the note plugin." in shown.stdout
    assert crosspost(base_env, "hello").stdout == "hello from a plugin command\n"


def test_a_plugins_platform_gets_accounts_add_and_its_flags_in_post(base_env: dict[str, str]) -> None:
    assert "--token" in crosspost(base_env, "accounts", "add", "note", "--help").stdout
    refused = crosspost(base_env, "accounts", "add", "note", "main", "--token", "bad")
    assert refused.returncode == 2
    assert "Note refused the token" in refused.stderr
    assert crosspost(base_env, "accounts", "add", "note", "main", "--token", "good").returncode == 0
    assert "note" in crosspost(base_env, "post", "--help").stdout  # --privacy names every platform it sets
    # --privacy is declared by TikTok and by the note platform: it sets each targeted one's own option.
    done = crosspost(base_env, "post", "--to", "note:main", "--caption", "hi", "--privacy", "PUBLIC", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    [target] = json.loads(done.stdout)["targets"]
    assert (target["target"], target["publish_id"]) == ("note:main", "note-PUBLIC")


def test_a_platform_flag_no_target_declares_is_a_usage_error(base_env: dict[str, str]) -> None:
    done = crosspost(base_env, "post", "--to", "note:main", "--caption", "hi", "--allow-duet")
    assert done.returncode == 2
    assert "--allow-duet sets an option of tiktok" in done.stderr


class Adds:
    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        cli.add_command(click.Command(self.name, callback=lambda: None))


def test_two_plugins_adding_the_same_command_is_an_error_naming_both() -> None:
    pm = make_plugin_manager(builtins=(), entry_points=False)
    pm.register(Adds("hello"), name="first-plugin")
    pm.register(Adds("hello"), name="second-plugin")
    with pytest.raises(PluginError) as caught:
        install_commands(click.Group("crosspost"), pm)
    assert "first-plugin" in str(caught.value)
    assert "second-plugin" in str(caught.value)


def test_a_plugin_taking_a_builtin_commands_name_is_refused(base_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "crosspost_clash.py").write_text(
        "import click\nfrom crosspost.core import hookimpl\n\n@hookimpl\ndef register_commands(cli):\n"
        "    cli.add_command(click.Command('post', callback=lambda: None))\n")
    write_distribution(tmp_path, "crosspost-clash", "0.1", {"clash": "crosspost_clash"})
    done = subprocess.run([*CROSSPOST, "list"], env={**subprocess_env(base_env), "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "'post' is already added by plugin" in done.stderr
    assert "clash" in done.stderr
    assert "CROSSPOST_DISABLE_PLUGINS" in done.stderr
