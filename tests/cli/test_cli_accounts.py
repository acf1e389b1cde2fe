"""``accounts add/list/info/remove/login`` and ``creator``: credentials verified before anything
is stored, public facts shown, secrets never."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
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


def read_until(fd: int, marker: bytes, seen: bytearray) -> None:
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, f"no {marker!r} on the terminal; saw {bytes(seen)!r}"
        seen += os.read(fd, 4096)


def test_accounts_add_prompts_for_hidden_tokens_on_a_terminal(env: dict[str, str], creator: Creator) -> None:
    main, child_end = pty.openpty()
    child = subprocess.Popen([*CROSSPOST, "accounts", "add", "tiktok", "main"], env=subprocess_env(env),
                             stdin=child_end, stdout=child_end, stderr=child_end)
    os.close(child_end)
    seen = bytearray()
    try:
        read_until(main, b"Access token:", seen)
        os.write(main, creator.access_token.encode() + b"\n")
        read_until(main, b"Refresh token:", seen)
        os.write(main, creator.refresh_token.encode() + b"\n")
        read_until(main, b"Added tiktok:main", seen)
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
        os.close(main)
    assert creator.access_token.encode() not in seen  # typed hidden: never echoed


def test_accounts_add_without_a_terminal_names_the_missing_secret_flag(env: dict[str, str]) -> None:
    result = invoke(CliRunner(env=env), "accounts", "add", "tiktok", "main")
    assert result.exit_code == 2
    assert "--access-token is required" in result.stderr
    assert "no terminal to prompt on" in result.stderr


def test_accounts_add_help_lists_the_platforms_fields(runner: CliRunner) -> None:
    result = invoke(runner, "accounts", "add", "tiktok", "--help")
    for flag in ("--access-token", "--refresh-token", "--expires-in", "--scopes", "--replace"):
        assert flag in result.stdout


def test_accounts_add_of_an_unknown_platform_lists_the_ones_offering_it(runner: CliRunner) -> None:
    result = invoke(runner, "accounts", "add", "tiktk", "main")
    assert result.exit_code == 2
    assert "did you mean 'tiktok'?" in result.stderr


def test_accounts_add_with_bogus_tokens_stores_nothing_and_says_what_to_run(env: dict[str, str]) -> None:
    runner = CliRunner(env=env)
    result = invoke(runner, "accounts", "add", "tiktok", "main", "--access-token", "act.bogus",
                    "--refresh-token", "rft.bogus")
    assert result.exit_code == 2, result.output
    assert "nothing was stored" in result.stderr.lower()
    assert "crosspost accounts login tiktok main" in result.stderr
    assert "please report" not in result.stderr
    assert json.loads(invoke(runner, "accounts", "list", "--offline", "--json").stdout)["accounts"] == []


def test_accounts_add_with_an_expired_access_token_refreshes_then_stores_once_with_the_profile(
        env: dict[str, str], creator: Creator, emulator: ThreadedEmulator) -> None:
    emulator.state.access_tokens[creator.access_token].expires_at = 0  # expired; the refresh token still works
    runner = CliRunner(env=env)
    result = invoke(runner, "accounts", "add", "tiktok", "main", "--access-token", creator.access_token,
                    "--refresh-token", creator.refresh_token, "--json")
    assert result.exit_code == 0, result.output
    added = json.loads(result.stdout)
    assert (added["username"], added["nickname"]) == ("cli.tester", "CLI Tester")
    assert emulator.routes().count("token") == 1  # exactly one refresh
    stored = json.loads(invoke(runner, "accounts", "list", "--offline", "--json").stdout)["accounts"]
    assert [a["username"] for a in stored] == ["cli.tester"]
    posted = invoke(runner, "post", "--to", "tiktok:main", "--draft", "--video", str(ASSETS / "sample.mp4"))
    assert posted.exit_code == 0, posted.output  # the refreshed token was the one stored


def test_accounts_add_records_the_open_id_webhooks_name(env: dict[str, str], creator: Creator) -> None:
    import asyncio

    from crosspost.core.accounts import Account
    from crosspost.core.hub import Hub
    from crosspost.core.settings import Settings

    runner = CliRunner(env=env)
    assert invoke(runner, "accounts", "add", "tiktok", "main", "--access-token", creator.access_token,
                  "--refresh-token", creator.refresh_token).exit_code == 0

    async def stored() -> Account:
        async with Hub.open(Settings.from_env(env)) as hub:
            return await hub.accounts.get("tiktok", "main")

    assert asyncio.run(stored()).profile["open_id"] == creator.open_id


def test_accounts_add_twice_names_replace_and_login(tiktok: CliRunner, creator: Creator) -> None:
    args = ["accounts", "add", "tiktok", "main", "--access-token", creator.access_token,
            "--refresh-token", creator.refresh_token]
    again = invoke(tiktok, *args)
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert "--replace" in again.stderr
    assert "crosspost accounts login tiktok main" in again.stderr
    assert invoke(tiktok, *args, "--replace").exit_code == 0


def test_accounts_info_shows_the_platforms_live_facts(tiktok: CliRunner) -> None:
    data = json.loads(invoke(tiktok, "accounts", "info", "tiktok:main", "--json").stdout)
    assert (data["username"], data["display_name"]) == ("cli.tester", "CLI Tester")
    assert data["facts"]["privacy_level_options"][-1] == "SELF_ONLY"
    human = invoke(tiktok, "accounts", "info", "tiktok:main").stdout
    assert "privacy level options: PUBLIC_TO_EVERYONE" in human


def test_accounts_list_shows_live_profile_scopes_and_expiry(tiktok: CliRunner, creator: Creator) -> None:
    result = invoke(tiktok, "accounts", "list", "--json")
    assert result.exit_code == 0, result.output
    (account,) = json.loads(result.stdout)["accounts"]
    assert account["target"] == "tiktok:main"
    assert account["username"] == "cli.tester"
    assert account["nickname"] == "CLI Tester"
    assert account["profile_source"] == "live"
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


def login(env: dict[str, str], *, paste_first: str | None = None,
          extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``accounts login --no-browser`` and play the user's browser: open the printed URL
    (after pasting ``paste_first`` into the terminal, when given)."""
    child = subprocess.Popen([*CROSSPOST, "accounts", "login", "tiktok", "phone", "--no-browser", "--json", *extra],
                             env=subprocess_env(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    assert child.stdin is not None
    lines = []
    while not (url := next((line.strip() for line in lines if line.strip().startswith("http")), "")):
        line = child.stderr.readline()
        assert line, "the login command ended before printing the authorize URL"
        lines.append(line)
    if paste_first is not None:
        child.stdin.write(paste_first + "\n")
        child.stdin.flush()
        while "does not belong to this login" not in (line := child.stderr.readline()):
            assert line, "the login command ended instead of refusing the pasted URL"
            lines.append(line)
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
    assert account["username"] == "phone.user"
    assert creator.access_token not in done.stdout + done.stderr
    assert "token" in emulator.routes()


def test_accounts_login_names_a_scope_tiktok_did_not_grant(
        env: dict[str, str], emulator: ThreadedEmulator) -> None:
    emulator.state.add_creator(username="partial", scopes=("user.info.basic", "video.upload"))
    done = login(env)
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "scope_not_granted"
    assert "video.publish" in error["message"]


def test_accounts_login_keeps_waiting_when_a_wrong_url_is_pasted_and_the_browser_answers(
        env: dict[str, str], emulator: ThreadedEmulator) -> None:
    # The race of the last closing note: the terminal's answer must never abort the login the
    # browser is finishing (an empty paste, end of input, or a URL of another login).
    emulator.state.add_creator(username="phone.user", nickname="Phone User")
    done = login(env, paste_first="http://127.0.0.1:1/callback/?code=old&state=not-this-login")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["username"] == "phone.user"


def test_accounts_login_timeout_is_a_message_with_the_fix(env: dict[str, str]) -> None:
    done = subprocess.run([*CROSSPOST, "accounts", "login", "tiktok", "phone", "--timeout", "1"],
                          env={**subprocess_env(env), "BROWSER": "true"}, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert "no login answer within 1 s" in done.stderr
    assert "--timeout" in done.stderr
    assert "please report" not in done.stderr


def test_accounts_login_on_a_busy_port_says_how_to_pick_another(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke(CliRunner(env=env), "accounts", "login", "tiktok", "phone", "--port", str(port))
    assert result.exit_code == 2
    assert "--port 0" in result.stderr


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
