"""Long-running commands: ``emulator``, ``webhooks serve``; and ``migrate``."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspost.core.accounts import Account
from crosspost.core.cli.output import Output
from crosspost.core.cli.webhooks_cmd import event_handler
from crosspost.core.hub import Hub
from crosspost.plugins.tiktok.emulator import sign_webhook
from crosspost.plugins.tiktok.webhooks import WebhookEvent, WebhookOutcome
from tests.cli.cli_support import CROSSPOST, invoke, subprocess_env


@pytest.fixture
def emulator_process(base_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], dict[str, object]]]:
    child = subprocess.Popen([*CROSSPOST, "--json", "emulator", "--port", "0"], env=subprocess_env(base_env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    text = ""
    for line in child.stdout:
        text += line
        if line.rstrip() == "}":  # the end of the one JSON object
            break
    yield child, json.loads(text)
    if child.poll() is None:
        child.kill()
        child.wait()


def test_emulator_prints_env_and_a_working_token(
        emulator_process: tuple[subprocess.Popen[str], dict[str, object]], base_env: dict[str, str]) -> None:
    child, info = emulator_process
    env = info["env"]
    assert isinstance(env, dict)
    assert env["CROSSPOST_TIKTOK_API_BASE"].startswith("http://127.0.0.1:")
    creator = info["creator"]
    assert isinstance(creator, dict)
    runner = CliRunner(env={**base_env, **env})
    added = invoke(runner, "accounts", "add", "tiktok", "demo", "--access-token", creator["access_token"],
                   "--refresh-token", creator["refresh_token"])
    assert added.exit_code == 0, added.output
    shown = json.loads(invoke(runner, "creator", "tiktok:demo", "--json").stdout)
    assert shown["creator"]["nickname"] == "Crosspost Demo"
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) == 0


def test_emulator_refuses_a_non_loopback_host(runner: CliRunner) -> None:
    result = invoke(runner, "emulator", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "keep it on loopback" in result.stderr


def post_webhook(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"TikTok-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_webhooks_serve_accepts_signed_events_and_refuses_forged_ones(base_env: dict[str, str]) -> None:
    env = {**base_env, "CROSSPOST_TIKTOK_CLIENT_KEY": "key", "CROSSPOST_TIKTOK_CLIENT_SECRET": "hook-secret"}
    child = subprocess.Popen([*CROSSPOST, "webhooks", "serve", "--port", "0", "--path", "/tiktok/"],
                             env=subprocess_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    first = child.stdout.readline()
    url = first.split(" at ", 1)[1].split(" ", 1)[0]
    assert url.endswith("/tiktok/")
    now = int(time.time())
    body = json.dumps({"client_key": "key", "event": "post.publish.complete", "create_time": now,
                       "user_openid": "open-1", "content": json.dumps({"publish_id": "v_pub_file~1",
                                                                       "publish_type": "DIRECT_PUBLISH"})}).encode()
    assert post_webhook(url, body, f"t={now},s={sign_webhook('hook-secret', now, body)}") == 200
    assert post_webhook(url, body, f"t={now},s={sign_webhook('wrong-secret', now, body)}") in (400, 401, 403)
    assert "post.publish.complete for v_pub_file~1" in child.stdout.readline()
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
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


async def test_authorization_removed_webhook_marks_the_account_for_login(
        crosspost_hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    await crosspost_hub.accounts.add(Account(platform="tiktok", name="main", profile={"open_id": "user-1"},
                                             secrets={"access_token": "a", "refresh_token": "r"}))
    handler = event_handler(crosspost_hub, Output())
    await handler(WebhookEvent(event="authorization.removed", outcome=WebhookOutcome.AUTHORIZATION_REMOVED,
                               client_key="key", create_time=0, user_openid="user-1",
                               reason="the user disconnected the app"))
    (account,) = await crosspost_hub.accounts.list()
    assert account.needs_login is True
    assert "crosspost accounts login tiktok main" in capsys.readouterr().out
