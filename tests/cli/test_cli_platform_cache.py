"""The platforms' part of the cached command index (crosspost.core.cli.platform_index):
``crosspost post`` takes its platform flags from the index, registers only the plugins of the
platforms it targets, and says and does exactly what the full build says and does; anything the
index cannot vouch for (a changed plugin file, a new distribution, other disabled plugins, a
malformed section, a platform it does not know, a request it cannot read ahead) loads every
plugin.

In-process tests hand the CLI a :class:`CliState` of their own, so the plugins it registered can
be read back after the run; the child-process tests (reusing test_cli_command_index's fixture
plugin, ``note``, whose platform declares ``--privacy`` as TikTok does) look at ``sys.modules``.
No test looks at a clock or a duration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from crosspost.core.cli import command_index, platform_index
from crosspost.core.cli.app import cli
from crosspost.core.cli.context import CliState, make_cli_hooks
from crosspost.core.cli.post import FlagDeclaration, declared_flags
from crosspost.core.hookspecs import hookimpl
from crosspost.core.plugins import Hooks, make_plugin_manager
from tests.cli.cli_support import ASSETS
from tests.cli.test_cli_command_index import aged, installed  # noqa: F401 - the fixture, reused
from tests.cli.test_cli_command_index import crosspost as run_crosspost
from tests.plugin_dists import write_distribution

VIDEO = str(ASSETS / "sample.mp4")
UNTARGETED = ("mastodon", "bluesky")
"""Built-in plugins that register platforms only: a post to TikTok leaves them out."""


@pytest.fixture
def cached(base_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings with a cache folder of the test's own (written even when a source file changed a
    moment ago: the two-second guard is for people's edits, not tests)."""
    monkeypatch.setattr(command_index, "RACY_NS", 0)
    return {**base_env, "XDG_CACHE_HOME": str(tmp_path / "cache")}


def run(env: dict[str, str], *args: str, input: str | None = None) -> tuple[Result, CliState]:
    """Invoke the CLI in-process with a state of our own (to read its plugins back)."""
    cli_state = CliState()
    result = CliRunner(env=env).invoke(cli, list(args), obj=cli_state, input=input, catch_exceptions=False)
    return result, cli_state


def registered(cli_state: CliState) -> set[str]:
    """The plugins the run registered (it must have built them)."""
    assert cli_state.has_hooks()
    return {name for name, plugin in cli_state.hooks().pm.list_name_plugin() if plugin is not None}


def uncached(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return run({**env, command_index.DISABLE_ENV: "1"}, *args, input=input)[0]


def warmed(env: dict[str, str]) -> None:
    """Write the index with its platforms' section (the full build a first post makes), and check it was."""
    run(env, "post", "--help")
    index = command_index.load(env)
    assert index is not None
    assert isinstance(index.platforms, dict)


# -- the flags ---------------------------------------------------------------------------------


def test_flags_from_the_index_equal_the_full_builds(cached: dict[str, str]) -> None:
    warmed(cached)
    index = command_index.load(cached)
    assert index is not None
    section = platform_index.load(index.platforms)
    assert section is not None
    full = declared_flags(make_cli_hooks().platforms())
    from_index = {d["flag"]: FlagDeclaration.from_json(d) for d in section.flags}
    assert list(from_index) == list(full)
    assert from_index == full
    ctx = click.Context(click.Command("post"))
    for flag, declaration in full.items():
        cached_option, built = from_index[flag].option(), declaration.option()
        assert cached_option.to_info_dict() == built.to_info_dict()
        assert cached_option.get_help_record(ctx) == built.get_help_record(ctx)


def test_post_help_from_the_index_is_the_full_builds(cached: dict[str, str]) -> None:
    cold, _ = run(cached, "post", "--help")
    assert cold.exit_code == 0
    warm, warm_state = run(cached, "post", "--help")
    assert warm.exit_code == 0
    assert cli.lazy
    assert not warm_state.has_hooks()  # no plugin was loaded to show the flags
    assert warm.output == cold.output == uncached(cached, "post", "--help").output
    assert "--privacy" in warm.output
    assert "--visibility" in warm.output


# -- loading only the targeted platforms -------------------------------------------------------


def test_a_post_registers_only_the_targeted_platforms_plugin(env: dict[str, str], tiktok: CliRunner,
                                                            cached: dict[str, str]) -> None:
    cached = {**env, "XDG_CACHE_HOME": cached["XDG_CACHE_HOME"]}  # the emulator's, and the account
    warmed(cached)
    args = ("--json", "post", "--to", "tiktok:main", "--video", VIDEO, "--privacy", "SELF_ONLY",
            "--no-allow-comment", "--no-allow-duet", "--no-allow-stitch", "--dry-run")
    done, cli_state = run(cached, *args)
    assert done.exit_code == 0, done.output
    names = registered(cli_state)
    assert "tiktok" in names
    assert not names & set(UNTARGETED)
    assert {"s3host", "puthost"} <= names  # media hosts may serve any post: always loaded
    full = uncached(cached, *args)
    assert done.output == full.output


def test_the_recorded_entry_points_register_in_the_full_builds_order(cached: dict[str, str]) -> None:
    warmed(cached)
    args = ("post", "--to", "tiktok:main", "--video", VIDEO, "--dry-run")
    _, cli_state = run(cached, *args)
    _, full_state = run({**cached, command_index.DISABLE_ENV: "1"}, *args)
    full = [name for name, plugin in full_state.hooks().pm.list_name_plugin() if plugin is not None]
    warm = [name for name, plugin in cli_state.hooks().pm.list_name_plugin() if plugin is not None]
    assert warm == [name for name in full if name not in UNTARGETED and name != "example"]
    assert not cli_state.hooks().pm.distributions  # read from the index, not the metadata
    assert full_state.hooks().pm.distributions


def test_a_flag_of_an_untargeted_platform_is_the_same_usage_error(cached: dict[str, str]) -> None:
    warmed(cached)
    args = ("post", "--to", "tiktok:main", "--video", VIDEO, "--visibility", "public")
    refused, cli_state = run(cached, *args)
    full = uncached(cached, *args)
    assert refused.exit_code == full.exit_code == 2
    assert refused.output == full.output
    assert "--visibility sets an option of" in refused.output
    assert "mastodon" in refused.output
    assert "mastodon" not in registered(cli_state)


def test_an_unknown_platform_loads_every_plugin(cached: dict[str, str]) -> None:
    """The error lists what is installed: only the full build knows."""
    warmed(cached)
    args = ("post", "--to", "nosuch:main", "--video", VIDEO)
    refused, cli_state = run(cached, *args)
    assert refused.exit_code == 2
    assert refused.output == uncached(cached, *args).output
    assert set(UNTARGETED) <= registered(cli_state)


def test_a_request_files_targets_and_options_decide(cached: dict[str, str], tmp_path: Path) -> None:
    warmed(cached)
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"targets": ["tiktok:main"], "media": [{"type": "video", "path": VIDEO}],
                                   "target_options": {"mastodon": {"visibility": "public"}}}))
    done, cli_state = run(cached, "post", str(request), "--dry-run")
    assert done.output == uncached(cached, "post", str(request), "--dry-run").output
    names = registered(cli_state)
    assert "mastodon" in names  # named by target_options
    assert "bluesky" not in names


@pytest.mark.parametrize("how", ["stdin", "other shape"])
def test_a_request_that_cannot_be_read_ahead_loads_every_plugin(cached: dict[str, str], tmp_path: Path,
                                                               how: str) -> None:
    warmed(cached)
    body: dict[str, Any] = {"targets": ["tiktok:main"], "media": [{"type": "video", "path": VIDEO}]}
    if how == "other shape":
        body["platforms"] = [{"platform": "tiktok"}]
    request = tmp_path / "request.json"
    request.write_text(json.dumps(body))
    source, text = ("-", json.dumps(body)) if how == "stdin" else (str(request), None)
    done, cli_state = run(cached, "post", source, "--dry-run", input=text)
    assert done.output == uncached(cached, "post", source, "--dry-run", input=text).output
    assert set(UNTARGETED) <= registered(cli_state)


# -- falling back --------------------------------------------------------------------------------


def test_a_changed_platform_module_makes_the_index_stale(cached: dict[str, str]) -> None:
    warmed(cached)
    path = command_index.cache_file(cached)
    data = json.loads(path.read_text())
    recorded = [p for p in data["stamps"] if p.endswith(str(Path("mastodon", "platform.py")))]
    assert recorded  # collecting the platforms is part of the build: their modules are recorded
    data["stamps"][recorded[0]] = [1, 1]
    path.write_text(json.dumps(data))
    done, cli_state = run(cached, "post", "--to", "tiktok:main", "--video", VIDEO, "--visibility", "public")
    assert done.exit_code == 2
    assert not cli.lazy
    assert set(UNTARGETED) <= registered(cli_state)


def test_an_index_without_the_platforms_section_gets_it_from_the_first_post(cached: dict[str, str]) -> None:
    run(cached, "--help")  # a command that needs no platform writes the index without them (stays light)
    index = command_index.load(cached)
    assert index is not None
    assert index.platforms is None
    args = ("post", "--to", "tiktok:main", "--video", VIDEO, "--visibility", "public")
    done, cli_state = run(cached, *args)
    assert not cli.lazy, "the first post builds every command and plugin, as without an index"
    assert done.output == uncached(cached, *args).output
    assert set(UNTARGETED) <= registered(cli_state)
    index = command_index.load(cached)
    assert index is not None
    assert isinstance(index.platforms, dict), "and writes the platforms' section for the next posts"
    again, cli_state = run(cached, *args)
    assert cli.lazy
    assert again.output == done.output
    assert not set(UNTARGETED) & registered(cli_state)


@pytest.mark.parametrize("broken", [{"flags": "x", "plugins": {}}, {"flags": [{"flag": 1}], "plugins": {}},
                                    {"flags": [], "plugins": {"tiktok": {"platforms": "tiktok"}}},
                                    {"flags": [], "plugins": {}, "entry_points": [["tiktok"]]}])
def test_a_missing_or_malformed_section_loads_every_plugin(cached: dict[str, str], broken: object) -> None:
    warmed(cached)
    path = command_index.cache_file(cached)
    data = json.loads(path.read_text())
    data["platforms"] = broken
    path.write_text(json.dumps(data))
    args = ("post", "--to", "tiktok:main", "--video", VIDEO, "--visibility", "public")
    done, cli_state = run(cached, *args)
    assert cli.lazy  # the commands still come from the index
    assert done.output == uncached(cached, *args).output
    assert set(UNTARGETED) <= registered(cli_state)
    shown, _ = run(cached, "post", "--help")
    assert shown.output == uncached(cached, "post", "--help").output


def test_other_disabled_plugins_are_another_key(cached: dict[str, str]) -> None:
    warmed(cached)
    env = {**cached, "CROSSPOST_DISABLE_PLUGINS": "mastodon,example"}
    without, _ = run(env, "post", "--help")
    assert not cli.lazy
    assert "--visibility" not in without.output
    again, cli_state = run(env, "post", "--to", "tiktok:main", "--video", VIDEO, "--visibility", "public")
    assert cli.lazy
    assert again.output == uncached(env, "post", "--to", "tiktok:main", "--video", VIDEO, "--visibility",
                                    "public").output
    assert "No such option '--visibility'" in again.output
    assert not cli_state.has_hooks()  # refused by click from the cached flags, before any plugin loads


class _Broken:
    """A plugin whose platform registration fails (the manager logs it and goes on)."""

    @hookimpl
    def register_platforms(self, register: Any) -> None:
        raise RuntimeError("no platform today")


def test_a_failing_platform_registration_is_not_described(caplog: pytest.LogCaptureFixture) -> None:
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[_Broken()]))
    with caplog.at_level("ERROR", logger="crosspost.plugins"):
        assert platform_index.describe(hooks) is None
        assert not caplog.records  # kept quiet while describing...
        assert hooks.platforms() == {}
    assert "no platform today" in caplog.text  # ...and reported when the command collects


def test_only_plugins_with_platform_hooks_alone_are_skippable() -> None:
    section = platform_index.load(platform_index.describe(make_cli_hooks()))
    assert section is not None
    assert section.skipped({"tiktok"}) == {"mastodon", "bluesky", "example"} & set(section.plugins)
    assert section.skipped({"tiktok", "nosuch"}) is None
    assert not section.plugins["crosspost.core.cli.commands"][1]


# -- child processes: what a post imports ------------------------------------------------------


WATCHED = ("crosspost.plugins.tiktok.plugin", "crosspost.plugins.mastodon.plugin",
           "crosspost.plugins.bluesky.plugin", "crosspost.plugins.mastodon.platform",
           "crosspost.plugins.bluesky.platform", "crosspost_example.plugin", "crosspost_note", "crosspost_mood",
           "importlib.metadata")

def crosspost(env: dict[str, str], cwd: Path, *args: str) -> tuple[str, int, list[str], str]:
    """``crosspost ARGS`` in a child process: stdout, exit code, which of WATCHED it imported, and
    the rest of stderr."""
    return run_crosspost(env, cwd, *args, watched=WATCHED)


POST = ("post", "--to", "tiktok:main", "--video", VIDEO, "--privacy", "SELF_ONLY", "--dry-run")


def test_a_warm_post_imports_only_the_targeted_plugin(installed: tuple[Path, dict[str, str]],  # noqa: F811
                                                       tmp_path: Path) -> None:
    _, env = installed
    work = tmp_path / "work"
    cold = crosspost(env, work, *POST)
    assert {"crosspost_note", "crosspost.plugins.mastodon.plugin", "importlib.metadata"} <= set(cold[2])
    warm = crosspost(env, work, *POST)
    assert warm[2] == ["crosspost.plugins.tiktok.plugin"]  # nor importlib.metadata: the index has the entry points
    assert (warm[0], warm[1], warm[3]) == (cold[0], cold[1], cold[3])
    note = crosspost(env, work, "post", "--to", "note:main", "--video", VIDEO, "--privacy", "PUBLIC", "--dry-run")
    assert "crosspost_note" in note[2]
    assert not {"crosspost.plugins.mastodon.plugin", "crosspost.plugins.bluesky.plugin"} & set(note[2])


def test_a_changed_plugin_file_falls_back_and_shows_its_new_flag(installed: tuple[Path, dict[str, str]],  # noqa: F811
                                                                 tmp_path: Path) -> None:
    plugins, env = installed
    work = tmp_path / "work"
    crosspost(env, work, "post", "--help")
    assert crosspost(env, work, *POST)[2] == ["crosspost.plugins.tiktok.plugin"]
    source = plugins / "crosspost_note.py"
    source.write_text(source.read_text().replace('flag="privacy"', 'flag="audience"'))
    aged(source)
    shown, code, loaded, _ = crosspost(env, work, "post", "--help")
    assert code == 0
    assert "--audience" in shown
    assert "crosspost_note" in loaded  # the full way
    _, code, loaded, errors = crosspost(env, work, "post", "--to", "tiktok:main", "--video", VIDEO,
                                              "--audience", "PUBLIC")
    assert code == 2
    assert "--audience sets an option of note, which no --to target" in errors
    assert "crosspost_note" not in loaded  # rewritten: the index is trusted again


def test_an_added_platform_distribution_falls_back(installed: tuple[Path, dict[str, str]],  # noqa: F811
                                                   tmp_path: Path) -> None:
    plugins, env = installed
    work = tmp_path / "work"
    before, _, _, _ = crosspost(env, work, "post", "--help")
    assert "--mood" not in before
    (plugins / "crosspost_mood.py").write_text(
        (plugins / "crosspost_note.py").read_text().replace('name = "note"', 'name = "mood"')
        .replace('flag="privacy"', 'flag="mood"').replace("def hello", "def hello_mood"))
    write_distribution(plugins, "crosspost-mood", "0.1", {"mood": "crosspost_mood"})
    aged(plugins)
    after, code, loaded, _ = crosspost(env, work, "post", "--help")
    assert code == 0
    assert "--mood" in after
    assert "crosspost_mood" in loaded
    _, code, loaded, errors = crosspost(env, work, "post", "--to", "tiktok:main", "--video", VIDEO,
                                        "--mood", "PUBLIC")
    assert code == 2
    assert "--mood sets an option of mood" in errors
    assert "crosspost_mood" not in loaded
