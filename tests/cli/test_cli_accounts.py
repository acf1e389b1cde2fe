"""``accounts add/list/remove/login`` and ``creator``: public facts shown, secrets never."""

from __future__ import annotations

import json
import subprocess
import urllib.request

from click.testing import CliRunner

from crosspost.plugins.tiktok.emulator import Creator
from tests.cli.cli_support import ASSETS, CROSSPOST, ThreadedEmulator, invoke, subprocess_env


def test_accounts_add_reads_the_profile_and_prints_no_secret(
        env: dict[str, str], creator: Creator) -> None:
    runner = CliRunner(env=env)
    result = invoke(runner, "accounts", "add", "tiktok", "main", "--access-token", creator.access_token,
                    "--refresh-token", creator.refresh_token, "--expires-in", "86400")
    assert result.exit_code == 0, result.output
    assert "Added tiktok:main (@cli.tester, CLI Tester)" in result.stdout
    assert creator.access_token not in result.output
    assert creator.refresh_token not in result.output


def test_accounts_add_prompts_for_hidden_tokens(env: dict[str, str], creator: Creator) -> None:
    runner = CliRunner(env=env)
    result = invoke(runner, "accounts", "add", "tiktok", "main", "--json",
                    input=f"{creator.access_token}\n{creator.refresh_token}\n")
    assert result.exit_code == 0, result.output
    assert creator.access_token not in result.output


def test_accounts_add_twice_needs_replace(tiktok: CliRunner, creator: Creator) -> None:
    args = ["accounts", "add", "tiktok", "main", "--access-token", creator.access_token,
            "--refresh-token", creator.refresh_token]
    again = invoke(tiktok, *args)
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert invoke(tiktok, *args, "--replace").exit_code == 0


def test_accounts_list_shows_live_profile_scopes_and_expiry(tiktok: CliRunner, creator: Creator) -> None:
    result = invoke(tiktok, "accounts", "list", "--json")
    assert result.exit_code == 0, result.output
    (account,) = json.loads(result.stdout)["accounts"]
    assert account["target"] == "tiktok:main"
    assert account["username"] == "cli.tester"
    assert account["nickname"] == "CLI Tester"
    assert account["profile_source"] == "creator_info"
    assert "video.publish" in account["scopes"]
    assert account["access_expires_at"] is not None
    assert account["needs_login"] is False
    assert creator.access_token not in result.stdout
    table = invoke(tiktok, "accounts", "list")
    assert "tiktok:main" in table.stdout
    assert "in 24 h" in table.stdout


def test_accounts_list_offline_uses_the_stored_profile(tiktok: CliRunner, emulator: ThreadedEmulator) -> None:
    before = len(emulator.state.requests)
    (account,) = json.loads(invoke(tiktok, "accounts", "list", "--offline", "--json").stdout)["accounts"]
    assert account["profile_source"] == "stored"
    assert account["username"] == "cli.tester"  # remembered when the account was added
    assert len(emulator.state.requests) == before


def test_accounts_remove_revokes_at_tiktok_then_deletes(
        tiktok: CliRunner, creator: Creator, emulator: ThreadedEmulator) -> None:
    result = invoke(tiktok, "accounts", "remove", "main", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"removed": "tiktok:main", "revoked": True}
    assert "revoke" in emulator.routes()
    assert emulator.state.valid_access_token(creator.access_token) is None
    assert json.loads(invoke(tiktok, "accounts", "list", "--json").stdout)["accounts"] == []


def test_accounts_remove_keeps_the_account_when_revoking_fails(
        tiktok: CliRunner, emulator: ThreadedEmulator) -> None:
    emulator.state.faults.add(route="revoke", kind="status", status=400, code="invalid_request", times=5)
    result = invoke(tiktok, "accounts", "remove", "tiktok:main")
    assert result.exit_code == 1
    assert "NOT deleted" in result.stderr
    assert "--no-revoke" in result.stderr
    assert len(json.loads(invoke(tiktok, "accounts", "list", "--json", "--offline").stdout)["accounts"]) == 1
    local = invoke(tiktok, "accounts", "remove", "main", "--no-revoke")
    assert local.exit_code == 0
    assert "not revoked" in local.stdout


def test_accounts_remove_unknown_name_is_invalid_input(runner: CliRunner) -> None:
    result = invoke(runner, "accounts", "remove", "ghost")
    assert result.exit_code == 2
    assert "crosspost accounts list" in result.stderr


def test_creator_shows_what_tiktok_requires_before_posting(tiktok: CliRunner) -> None:
    human = invoke(tiktok, "creator", "tiktok:main")
    assert human.exit_code == 0, human.output
    assert "CLI Tester (@cli.tester)" in human.stdout
    assert "PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY" in human.stdout
    assert "Music Usage Confirmation" in human.stdout
    data = json.loads(invoke(tiktok, "creator", "tiktok", "--json").stdout)
    assert data["creator"]["max_video_post_duration_sec"] == 600
    assert data["creator"]["privacy_level_options"][-1] == "SELF_ONLY"


def test_creator_of_a_private_account_shows_disabled_interactions(
        env: dict[str, str], emulator: ThreadedEmulator) -> None:
    private = emulator.state.add_creator(username="quiet", nickname="Quiet", private=True)
    runner = CliRunner(env=env)
    invoke(runner, "accounts", "add", "tiktok", "quiet", "--access-token", private.access_token,
           "--refresh-token", private.refresh_token)
    result = invoke(runner, "creator", "tiktok:quiet")
    assert "Duet:     off: the creator turned it off" in result.stdout
    assert "FOLLOWER_OF_CREATOR" in result.stdout


def test_creator_without_an_account_says_how_to_add_one(env: dict[str, str]) -> None:
    result = invoke(CliRunner(env=env), "creator", "tiktok:main")
    assert result.exit_code == 2
    assert "crosspost accounts add tiktok NAME" in result.stderr


def login(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``accounts login --no-browser`` and play the user's browser: open the printed URL."""
    child = subprocess.Popen([*CROSSPOST, "accounts", "login", "tiktok", "phone", "--no-browser", "--json"],
                             env=subprocess_env(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    lines = []
    while not (url := next((line.strip() for line in lines if line.strip().startswith("http")), "")):
        line = child.stderr.readline()
        assert line, "the login command ended before printing the authorize URL"
        lines.append(line)
    with urllib.request.urlopen(url, timeout=30) as answer:  # follows the redirect to the callback
        assert answer.status == 200
    out, err = child.communicate(timeout=30)
    return subprocess.CompletedProcess(child.args, child.returncode, out, "".join(lines) + err)


def test_accounts_login_through_the_loopback_redirect(env: dict[str, str], emulator: ThreadedEmulator) -> None:
    creator = emulator.state.add_creator(username="phone.user", nickname="Phone User")
    done = login(env)
    assert done.returncode == 0, done.stderr
    account = json.loads(done.stdout)
    assert account["target"] == "tiktok:phone"
    assert account["missing_scopes"] == []
    assert account["username"] == "phone.user"
    assert creator.access_token not in done.stdout + done.stderr
    assert "token" in emulator.routes()


def test_accounts_login_names_a_scope_tiktok_did_not_grant(
        env: dict[str, str], emulator: ThreadedEmulator) -> None:
    emulator.state.add_creator(username="partial", scopes=("user.info.basic", "video.upload"))
    done = login(env)
    assert done.returncode == 1
    assert json.loads(done.stdout)["missing_scopes"] == ["video.publish"]


def test_verbose_shows_crosspost_logs_but_never_a_token(
        tiktok: CliRunner, env: dict[str, str], creator: Creator) -> None:
    done = subprocess.run([*CROSSPOST, "--verbose", "post", "--to", "tiktok:main", "--draft", "--video",
                           str(ASSETS / "sample.mp4")], env=subprocess_env(env), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "DEBUG crosspost." in done.stderr
    assert "aiosqlite" not in done.stderr
    for secret in (creator.access_token, creator.refresh_token, "upload_token="):
        assert secret not in done.stdout + done.stderr
