"""Long-running commands: ``emulator``, ``webhooks serve``; and ``migrate``. Busy ports are
messages with the fix, never crashes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspost.core.accounts import Account
from crosspost.core.cli.webhooks_cmd import describe
from crosspost.core.hub import Hub
from crosspost.core.webhooks import EventKind, PlatformEvent
from crosspost.plugins.tiktok.emulator import sign_webhook
from tests.cli.cli_support import CROSSPOST, invoke, subprocess_env


def read_json_object(child: subprocess.Popen[str]) -> dict[str, object]:
    assert child.stdout is not None
    text = ""
    for line in child.stdout:
        text += line
        if line.rstrip() == "}":  # the end of the one JSON object
            break
    return dict(json.loads(text))


@pytest.fixture
def emulator_process(base_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], dict[str, object]]]:
    child = subprocess.Popen([*CROSSPOST, "--json", "emulator", "--port", "0"], env=subprocess_env(base_env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield child, read_json_object(child)
    if child.poll() is None:
        child.kill()
        child.wait()


def test_emulator_without_a_platform_starts_tiktoks_and_prints_a_working_account(
        emulator_process: tuple[subprocess.Popen[str], dict[str, object]], base_env: dict[str, str]) -> None:
    child, info = emulator_process
    env = info["env"]
    account = info["account"]
    assert isinstance(env, dict)
    assert isinstance(account, dict)
    assert info["platform"] == "tiktok"
    assert env["CROSSPOST_TIKTOK_API_BASE"].startswith("http://127.0.0.1:")
    runner = CliRunner(env={**base_env, **env})
    added = invoke(runner, "accounts", "add", "tiktok", "demo", "--access-token", account["access_token"],
                   "--refresh-token", account["refresh_token"])
    assert added.exit_code == 0, added.output
    shown = json.loads(invoke(runner, "creator", "tiktok:demo", "--json").stdout)
    assert shown["creator"]["nickname"] == "Crosspost Demo"
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) == 0


def test_tiktok_emulator_command_takes_tiktoks_options(base_env: dict[str, str]) -> None:
    child = subprocess.Popen([*CROSSPOST, "--json", "tiktok", "emulator", "--port", "0", "--private"],
                             env=subprocess_env(base_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = read_json_object(child)
        env = info["env"]
        account = info["account"]
        assert isinstance(env, dict)
        assert isinstance(account, dict)
        runner = CliRunner(env={**base_env, **env})
        assert invoke(runner, "accounts", "add", "tiktok", "demo", "--access-token", account["access_token"],
                      "--refresh-token", account["refresh_token"]).exit_code == 0
        shown = json.loads(invoke(runner, "accounts", "info", "tiktok:demo", "--json").stdout)
        assert shown["facts"]["duet_disabled"] is True  # a private creator
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)


def test_emulator_names_the_platforms_that_have_one(runner: CliRunner) -> None:
    result = invoke(runner, "emulator", "tiktk")
    assert result.exit_code == 2
    assert "did you mean 'tiktok'?" in result.stderr


def test_emulator_refuses_a_non_loopback_host(runner: CliRunner) -> None:
    result = invoke(runner, "emulator", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "keep it on loopback" in result.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_emulator_on_a_busy_port_says_how_to_pick_another(runner: CliRunner, busy_port: int) -> None:
    result = invoke(runner, "emulator", "--port", str(busy_port))
    assert result.exit_code == 2, result.output
    assert "--port 0" in result.stderr
    assert "please report" not in result.stderr


def test_webhooks_serve_on_a_busy_port_says_how_to_pick_another(runner: CliRunner, busy_port: int) -> None:
    result = invoke(runner, "webhooks", "serve", "--port", str(busy_port))
    assert result.exit_code == 2, result.output
    assert "--port 0" in result.stderr
    assert "please report" not in result.stderr


def post_webhook(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"TikTok-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_webhooks_serve_mounts_tiktoks_receiver_and_refuses_forged_requests(base_env: dict[str, str]) -> None:
    env = {**base_env, "CROSSPOST_TIKTOK_CLIENT_KEY": "key", "CROSSPOST_TIKTOK_CLIENT_SECRET": "hook-secret"}
    child = subprocess.Popen([*CROSSPOST, "webhooks", "serve", "--port", "0"],
                             env=subprocess_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    first = child.stdout.readline()
    url = first.split(" at ", 1)[1].split(" ", 1)[0]
    assert url.endswith("/webhooks/tiktok")
    now = int(time.time())
    body = json.dumps({"client_key": "key", "event": "post.publish.complete", "create_time": now,
                       "user_openid": "open-1", "content": json.dumps({"publish_id": "v_pub_file~1",
                                                                       "publish_type": "DIRECT_PUBLISH"})}).encode()
    assert post_webhook(url, body, f"t={now},s={sign_webhook('hook-secret', now, body)}") == 200
    assert post_webhook(url, body, f"t={now},s={sign_webhook('wrong-secret', now, body)}") == 401
    assert post_webhook(url, body, f"t={now},s={sign_webhook('hook-secret', now, body)}") == 200  # redelivery
    assert "tiktok: published for v_pub_file~1 (no matching job)" in child.stdout.readline()
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "published for v_pub_file~1" not in out  # the redelivery was acknowledged, not applied again
    assert "hook-secret" not in out + err


def test_migrate_applies_then_reports_up_to_date(runner: CliRunner, db_path: Path) -> None:
    check = invoke(runner, "migrate", "--check")
    assert check.exit_code == 1
    assert "pending migration" in check.stdout
    applied = json.loads(invoke(runner, "migrate", "--json").stdout)
    assert applied["applied"]
    assert db_path.exists()
    assert invoke(runner, "migrate", "--check").exit_code == 0
    assert "up to date" in invoke(runner, "migrate").stdout


async def test_an_account_removed_event_marks_the_account_matching_its_open_id(crosspost_hub: Hub) -> None:
    await crosspost_hub.accounts.add(Account(platform="tiktok", name="main", profile={"open_id": "user-1"},
                                             secrets={"access_token": "a", "refresh_token": "r"}))
    await crosspost_hub.accounts.add(Account(platform="tiktok", name="other", profile={"open_id": "user-2"},
                                             secrets={"access_token": "b", "refresh_token": "s"}))
    event = PlatformEvent(kind=EventKind.ACCOUNT, event_id="e1", outcome="removed", account_ref="user-1",
                          reason="the user disconnected the app")
    [applied] = await crosspost_hub.apply_webhook_events("tiktok", [event])
    states = {a.name: a.needs_login for a in await crosspost_hub.accounts.list()}
    assert states == {"main": True, "other": False}
    assert applied.account == "tiktok:main"
    assert "run `crosspost accounts login tiktok main`" in describe("tiktok", applied)
