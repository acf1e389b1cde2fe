"""The cached command index (crosspost.core.cli.command_index): ``crosspost --help`` from the
index is byte for byte the full build's, imports no command module, and any change that could
alter the command list (a command's source file, an added plugin distribution, the plugins
disabled) or any doubt about the file (corrupt, unwritable) falls back to the full build.

In-process tests point ``XDG_CACHE_HOME`` at a temporary folder through the runner's env; the
child-process tests run the fixture plugin from a copy whose files are dated a minute back (so
the index, which refuses files changed in the two seconds before a build, is written) and
without writing bytecode (so nothing on ``sys.path`` changes under the build). No test looks at
a clock or a duration.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crosspost.core.cli import command_index
from crosspost.core.cli.app import cli
from tests.cli.cli_support import subprocess_env
from tests.plugin_dists import write_distribution

FIXTURE = Path(__file__).parent / "plugin_fixture"
PLUGIN_CLI_MODULES = ("crosspost.plugins.tiktok.cli", "crosspost.plugins.mastodon.cli",
                      "crosspost.plugins.bluesky.cli")
HEAVY_FOR_HELP = (*PLUGIN_CLI_MODULES, "crosspost.plugins.tiktok.plugin", "crosspost.plugins.mastodon.plugin",
                  "crosspost.plugins.bluesky.plugin", "crosspost.core.cli.post", "crosspost.core.cli.accounts",
                  "crosspost.core.cli.commands", "crosspost.core.plugins", "importlib.metadata", "pluggy",
                  "crosspost_note")


# -- in-process ------------------------------------------------------------------------------


@pytest.fixture
def cache_env(base_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings with a cache folder of the test's own; the index is written even when a source
    file was edited a moment ago (the two-second guard is for people's edits, not tests)."""
    monkeypatch.setattr(command_index, "RACY_NS", 0)
    return {**base_env, "XDG_CACHE_HOME": str(tmp_path / "cache")}


def run(env: dict[str, str], *args: str) -> tuple[Result, bool]:
    """Invoke the CLI in-process; returns the result and whether it used the cached index."""
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    return result, cli.lazy


def test_help_from_the_index_is_identical_to_the_full_build(cache_env: dict[str, str]) -> None:
    uncached, lazy = run({**cache_env, command_index.DISABLE_ENV: "1"}, "--help")
    assert (uncached.exit_code, lazy) == (0, False)
    assert not command_index.cache_file(cache_env).exists()
    cold, lazy = run(cache_env, "--help")
    assert (cold.exit_code, lazy) == (0, False)
    assert command_index.cache_file(cache_env).exists()
    warm, lazy = run(cache_env, "--help")
    assert (warm.exit_code, lazy) == (0, True)
    assert warm.output == cold.output == uncached.output
    assert "tiktok" in warm.output
    assert "mastodon" in warm.output
    assert "post" in warm.output


@pytest.mark.parametrize("columns", ["50", "72", "200"])
def test_help_from_the_index_follows_the_terminal_width(cache_env: dict[str, str], columns: str) -> None:
    """The index holds data, not rendered text: click truncates the summaries for this width."""
    run(cache_env, "--help")
    env = {**cache_env, "COLUMNS": columns}
    warm, lazy = run(env, "--help")
    uncached, _ = run({**env, command_index.DISABLE_ENV: "1"}, "--help")
    assert lazy
    assert warm.output == uncached.output


def test_a_command_runs_through_the_lazy_group(cache_env: dict[str, str]) -> None:
    run(cache_env, "--help")
    done, lazy = run(cache_env, "--json", "list")
    assert (done.exit_code, lazy) == (0, True), done.output
    assert json.loads(done.output) == {"posts": []}
    assert set(cli.commands) == {"list"}  # only the command that ran was loaded


def test_a_plugins_group_and_its_help_come_from_the_plugin(cache_env: dict[str, str]) -> None:
    run(cache_env, "--help")
    warm, lazy = run(cache_env, "tiktok", "--help")
    uncached, _ = run({**cache_env, command_index.DISABLE_ENV: "1"}, "tiktok", "--help")
    assert lazy
    assert warm.exit_code == 0
    assert warm.output == uncached.output
    assert "emulator" in warm.output


def test_an_unknown_command_is_refused_as_without_the_index(cache_env: dict[str, str]) -> None:
    run(cache_env, "--help")
    warm, _ = run(cache_env, "no-such-command")
    uncached, _ = run({**cache_env, command_index.DISABLE_ENV: "1"}, "no-such-command")
    assert warm.exit_code == uncached.exit_code == 2
    assert warm.output == uncached.output


def test_the_disable_switch_neither_reads_nor_writes_the_index(cache_env: dict[str, str]) -> None:
    off = {**cache_env, command_index.DISABLE_ENV: "1"}
    run(off, "--help")
    assert not command_index.cache_file(cache_env).exists()
    run(cache_env, "--help")
    assert command_index.cache_file(cache_env).exists()
    _, lazy = run(off, "--help")
    assert not lazy
    assert command_index.enabled({command_index.DISABLE_ENV: "0"})
    assert not command_index.enabled({command_index.DISABLE_ENV: "yes"})


def test_disabling_a_plugin_is_a_different_key(cache_env: dict[str, str]) -> None:
    run(cache_env, "--help")
    env = {**cache_env, "CROSSPOST_DISABLE_PLUGINS": "mastodon"}
    without, lazy = run(env, "--help")
    assert not lazy
    assert "mastodon" not in without.output
    again, lazy = run(env, "--help")
    assert lazy  # rewritten for the new key
    assert again.output == without.output
    _, lazy = run(cache_env, "--help")
    assert not lazy  # and back


def test_a_corrupt_index_falls_back_and_is_rewritten(cache_env: dict[str, str]) -> None:
    good, _ = run(cache_env, "--help")
    path = command_index.cache_file(cache_env)
    valid = json.loads(path.read_text())
    for broken in ("{not json", json.dumps({**valid, "commands": {"post": {"help": 3}}}), "[]", ""):
        path.write_text(broken)
        shown, lazy = run(cache_env, "--help")
        assert (shown.exit_code, lazy) == (0, False)
        assert shown.output == good.output
        assert json.loads(path.read_text())["commands"] == valid["commands"]


def test_an_entry_that_no_longer_loads_falls_back_to_the_full_build(cache_env: dict[str, str]) -> None:
    run(cache_env, "--help")
    path = command_index.cache_file(cache_env)
    data = json.loads(path.read_text())
    data["commands"]["list"]["load"] = {"kind": "attr", "module": "crosspost.core.cli.jobs", "attr": "gone"}
    path.write_text(json.dumps(data))
    done, lazy = run(cache_env, "--json", "list")
    assert (done.exit_code, lazy) == (0, False), done.output
    assert json.loads(done.output) == {"posts": []}


def test_an_unwritable_cache_folder_still_shows_help(cache_env: dict[str, str], tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    env = {**cache_env, "XDG_CACHE_HOME": str(blocked)}
    shown, lazy = run(env, "--help")
    uncached, _ = run({**env, command_index.DISABLE_ENV: "1"}, "--help")
    assert (shown.exit_code, lazy) == (0, False)
    assert shown.output == uncached.output
    _, lazy = run(env, "--help")
    assert not lazy


def test_a_changed_recorded_file_makes_the_index_stale(cache_env: dict[str, str], tmp_path: Path) -> None:
    """Every recorded path is re-stat'ed: a stamp that differs (a file touched, a size that
    changed) sends the CLI the full way."""
    run(cache_env, "--help")
    path = command_index.cache_file(cache_env)
    data = json.loads(path.read_text())
    assert any(p.endswith(os.path.join("core", "cli", "post.py")) for p in data["stamps"])
    assert any(p.endswith("entry_points.txt") for p in data["stamps"])  # crosspost's own, at least
    stand_in = tmp_path / "commands.py"
    stand_in.write_text("x = 1\n")
    os.utime(stand_in, ns=(1_000_000_000, 1_000_000_000))
    data["stamps"][str(stand_in)] = command_index._stamp(str(stand_in))
    path.write_text(json.dumps(data))
    _, lazy = run(cache_env, "--help")
    assert lazy
    stand_in.write_text("x = 12\n")  # new size
    os.utime(stand_in, ns=(1_000_000_000, 1_000_000_000))
    _, lazy = run(cache_env, "--help")
    assert not lazy


# -- child processes, with the fixture plugin installed by entry point -------------------------


_CALLS = itertools.count(1)


def aged(*paths: Path) -> None:
    """Date ``paths`` (and everything under them) a minute back, a second later on each call
    (so a change always shows in the stamps)."""
    when = time.time_ns() - 60_000_000_000 + next(_CALLS) * 1_000_000_000
    for path in paths:
        for found in [path, *path.rglob("*")]:
            os.utime(found, ns=(when, when))


@pytest.fixture
def installed(tmp_path: Path, base_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A copy of the fixture plugin on ``PYTHONPATH``, a working folder, and a cache folder."""
    plugins = tmp_path / "plugins"
    shutil.copytree(FIXTURE, plugins, ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    aged(plugins, work)
    env = {**subprocess_env(base_env), "PYTHONPATH": str(plugins), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop(command_index.DISABLE_ENV, None)
    return plugins, env


PROBE = """\
import json, sys
sys.argv = ["crosspost", *json.loads(sys.argv[1])]
from crosspost.core.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
watched = {watched!r}
print(json.dumps({{"code": code, "loaded": [m for m in watched if m in sys.modules]}}), file=sys.stderr)
"""


def crosspost(env: dict[str, str], cwd: Path, *args: str,
              watched: tuple[str, ...] = HEAVY_FOR_HELP) -> tuple[str, int, list[str], str]:
    """``crosspost ARGS`` in a child process: stdout, exit code, which of ``watched`` it imported,
    and the rest of stderr."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(watched=list(watched)), json.dumps(args)],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    *rest, last = done.stderr.rstrip("\n").split("\n")
    report = json.loads(last)
    return done.stdout, report["code"], report["loaded"], "\n".join(rest)


def test_warm_help_imports_no_command_module(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    _, env = installed
    work = tmp_path / "work"
    cold, code, loaded_cold, _ = crosspost(env, work, "--help")
    assert code == 0
    assert set(PLUGIN_CLI_MODULES) <= set(loaded_cold)  # the full build imports them all
    assert "Say hello from the note plugin." in cold
    warm, code, loaded_warm, _ = crosspost(env, work, "--help")
    assert code == 0
    assert warm == cold
    assert loaded_warm == []
    uncached, _, _, _ = crosspost({**env, command_index.DISABLE_ENV: "1"}, work, "--help")
    assert uncached == cold
    said, code, loaded, _ = crosspost(env, work, "hello")
    assert (said, code) == ("hello from a plugin command\n", 0)
    assert "crosspost_note" in loaded
    assert not set(PLUGIN_CLI_MODULES) & set(loaded)


def test_a_changed_command_file_rebuilds_the_index(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    plugins, env = installed
    work = tmp_path / "work"
    crosspost(env, work, "--help")
    _, _, loaded, _ = crosspost(env, work, "--help")
    assert loaded == []
    source = plugins / "crosspost_note.py"
    source.write_text(source.read_text().replace("Say hello from the note plugin.", "Say hi from the note plugin."))
    aged(source)
    shown, code, loaded, _ = crosspost(env, work, "--help")
    assert code == 0
    assert "Say hi from the note plugin." in shown
    assert "crosspost_note" in loaded  # the full way
    again, _, loaded, _ = crosspost(env, work, "--help")
    assert again == shown
    assert loaded == []


def test_an_added_plugin_distribution_rebuilds_the_index(installed: tuple[Path, dict[str, str]],
                                                        tmp_path: Path) -> None:
    plugins, env = installed
    work = tmp_path / "work"
    before, _, _, _ = crosspost(env, work, "--help")
    assert "goodbye" not in before
    _, _, loaded, _ = crosspost(env, work, "--help")
    assert loaded == []
    (plugins / "crosspost_bye.py").write_text(
        "import click\nfrom crosspost.core import hookimpl\n\n@hookimpl\ndef register_commands(cli):\n"
        "    cli.add_command(click.Command('goodbye', help='Say goodbye.', callback=lambda: print('bye')))\n")
    write_distribution(plugins, "crosspost-bye", "0.1", {"bye": "crosspost_bye"})
    aged(plugins)
    after, code, _, _ = crosspost(env, work, "--help")
    assert code == 0
    assert "goodbye" in after
    assert "Say goodbye." in after
    _, _, loaded, _ = crosspost(env, work, "--help")
    assert loaded == []
    said, code, _, _ = crosspost(env, work, "goodbye")
    assert (said, code) == ("bye\n", 0)


def test_a_plugin_that_fails_to_load_is_never_cached(installed: tuple[Path, dict[str, str]],
                                                     tmp_path: Path) -> None:
    plugins, env = installed
    work = tmp_path / "work"
    (plugins / "crosspost_broken.py").write_text("raise ImportError('broken on purpose')\n")
    write_distribution(plugins, "crosspost-broken", "0.1", {"broken": "crosspost_broken"})
    aged(plugins)
    for _ in range(2):
        shown, code, loaded, errors = crosspost(env, work, "--help")
        assert code == 0
        assert "hello" in shown
        assert "broken on purpose" in errors
        assert "crosspost_note" in loaded  # the full way, every time
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_the_index_reads_the_disabled_plugins_as_the_settings_do() -> None:
    from crosspost.core.settings import Settings

    for value in ("", "a", " a , b,,", "tiktok,mastodon"):
        environ = {"CROSSPOST_DISABLE_PLUGINS": value}
        assert command_index.disabled_plugins(environ) == Settings.from_env(environ).disabled_plugins
