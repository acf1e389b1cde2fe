"""The CLI's frame: help, docs in sync, completion, lazy imports, input errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspost.core.cli.app import cli
from crosspost.core.cli.docs import render_markdown

REPO = Path(__file__).resolve().parents[2]


def test_help_lists_every_command(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("post", "list", "status", "reschedule", "cancel", "worker", "accounts", "plugins",
                 "creator", "demo", "emulator", "completion"):
        assert f"  {name} " in result.output


def test_every_command_has_help(runner: CliRunner) -> None:
    markdown = render_markdown()
    for title in ("crosspost post", "crosspost accounts add", "crosspost plugin new"):
        assert f"## `{title}`" in markdown
    assert "Usage: crosspost post [OPTIONS] [REQUEST.json]" in markdown


def test_docs_cli_md_matches_the_cli() -> None:
    docs = REPO / "docs" / "cli.md"
    assert docs.read_text(encoding="utf-8") == render_markdown(), (
        "docs/cli.md is out of date: run `python -m crosspost.core.cli.docs > docs/cli.md`")


def test_help_imports_nothing_heavy_with_or_without_the_command_index(tmp_path: Path) -> None:
    code = ("import sys; from crosspost.core.cli import main; sys.argv = ['crosspost', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('aiohttp', 'av', 'PIL', 'rich', 'aiosqlite', 'cryptography',"
            " 'crosspost.core.hub', 'crosspost.plugins.tiktok.emulator') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("CROSSPOST_NO_COMMAND_CACHE", None)
    for run in ("cold: builds and writes the index", "warm: reads it"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        assert "HEAVY []" in out.stdout, run
    assert list((tmp_path / "cache" / "crosspost").iterdir()), "the cold run wrote the index"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_clicks_script(runner: CliRunner, shell: str) -> None:
    result = runner.invoke(cli, ["completion", shell])
    assert result.exit_code == 0
    assert "_CROSSPOST_COMPLETE" in result.output


def test_completion_offers_commands_and_privacy_levels(runner: CliRunner) -> None:
    def complete(words: str) -> list[str]:
        env = {"_CROSSPOST_COMPLETE": "bash_complete", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
        result = runner.invoke(cli, [], env=env, prog_name="crosspost")
        return [line.split(",", 1)[1] for line in result.output.splitlines()]

    assert complete("crosspost po") == ["post"]
    assert complete("crosspost post --privacy S") == ["SELF_ONLY"]


def test_invalid_request_exits_2_with_every_problem_as_json(runner: CliRunner, tmp_path: Path) -> None:
    request = tmp_path / "post.json"
    request.write_text(json.dumps({"targets": ["tiktok:main"], "timezone": "Mars/Base",
                                   "media": [{"type": "gif", "path": "a.gif"}]}))
    result = runner.invoke(cli, ["post", str(request), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"error": {"code": "invalid", "problems": [
        {"field": "media[0].type", "message": "expected 'video' or 'image', got 'gif'"},
        {"field": "timezone",
         "message": "unknown time zone 'Mars/Base': expected an IANA name such as 'America/New_York'"},
    ]}}


def test_invalid_request_paragraph_names_field_and_fix(runner: CliRunner, tmp_path: Path) -> None:
    request = tmp_path / "post.json"
    request.write_text('{"targets": [], "media": []}')
    result = runner.invoke(cli, ["post", str(request)])
    assert result.exit_code == 2
    assert "nothing was uploaded" in result.stderr
    assert "targets: required: a non-empty list" in result.stderr
    assert "Traceback" not in result.output


def test_shorthand_flag_problems_name_the_flag(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["post", "--to", "tiktok:main", "--video", "clip.mp4", "--at", "tomorrow"])
    assert result.exit_code == 2
    assert "scheduled_at" in result.stderr
    assert "(flag --at)" in result.stderr


def test_request_that_is_not_json_is_invalid_input(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--json", "post", "-"], input="not json")
    assert result.exit_code == 2
    problems = json.loads(result.stdout)["error"]["problems"]
    assert problems[0]["message"].startswith("stdin is not valid JSON")


def test_usage_error_in_json_mode_is_one_json_object(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--json", "post"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "usage"


def test_plugins_json_lists_the_tiktok_plugin(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    plugins = json.loads(result.stdout)["plugins"]
    tiktok = next(p for p in plugins if p["name"] == "tiktok")
    assert tiktok["builtin"] is True
    assert "tiktok" in tiktok["platforms"]
    assert "register_platforms" in tiktok["hooks"]


def test_plugins_table_shows_versions(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert "tiktok (built-in)" in result.stdout


@pytest.mark.parametrize("name", ["tiktok", "crosspost.plugins.tiktok.plugin"])
def test_disabled_plugin_is_not_listed(runner: CliRunner, name: str) -> None:
    result = runner.invoke(cli, ["plugins", "--json"], env={"CROSSPOST_DISABLE_PLUGINS": name})
    assert result.exit_code == 0
    names = [p["name"] for p in json.loads(result.stdout)["plugins"]]
    assert "tiktok" not in names


def test_unexpected_errors_show_a_traceback_only_with_verbose(
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from crosspost.core.cli import plugins_cmd

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(plugins_cmd, "plugin_report", broken)
    quiet = runner.invoke(cli, ["plugins"])
    assert quiet.exit_code == 1
    assert "Unexpected error: RuntimeError: boom" in quiet.stderr
    assert "--verbose" in quiet.stderr
    assert "Traceback" not in quiet.stderr
    loud = runner.invoke(cli, ["--verbose", "plugins"])
    assert loud.exit_code == 1
    assert "Traceback" in loud.stderr
    as_json = runner.invoke(cli, ["plugins", "--json"])
    assert json.loads(as_json.stdout) == {"error": {"code": "internal", "message": "RuntimeError: boom"}}


def test_a_path_that_cannot_be_written_is_invalid_input_not_a_crash(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["export", str(tmp_path / "no-such-folder" / "dump.jsonl")])
    assert result.exit_code == 2
    assert "cannot use" in result.stderr
    assert "no-such-folder" in result.stderr
    assert "please report" not in result.stderr


def test_config_lists_core_and_platform_settings_with_their_source(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["config", "--json"], env={"CROSSPOST_TIKTOK_CLIENT_SECRET": "s3cr3t",
                                                           "CROSSPOST_CONCURRENCY": "3"})
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["settings"]}
    assert (rows["CROSSPOST_CONCURRENCY"]["value"], rows["CROSSPOST_CONCURRENCY"]["source"]) == ("3", "env")
    assert rows["CROSSPOST_TIKTOK_API_BASE"]["source"] == "default"
    assert rows["CROSSPOST_TIKTOK_CLIENT_SECRET"]["value"] == "set"
    assert "s3cr3t" not in result.stdout
    assert {"CROSSPOST_DB", "CROSSPOST_SECRET_KEY", "CROSSPOST_ALLOW_HOSTS", "CROSSPOST_DISABLE_PLUGINS"} <= set(rows)
