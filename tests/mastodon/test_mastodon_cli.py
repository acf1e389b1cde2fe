"""``crosspost mastodon emulator`` (added through ``register_commands``): serves on loopback, prints
its URL and a ready token, stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

from click.testing import CliRunner

from crosspost.core.cli.app import cli

SERVE = "import sys; from crosspost.core.cli import main; sys.argv[0] = 'crosspost'; main()"


def test_the_emulator_command_prints_its_url_and_a_token_that_works() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "mastodon", "emulator", "--port", "0",
                             "--max-characters", "900", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        shown = json.loads(proc.stdout.readline())
        assert shown["url"].startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{shown['url']}/api/v2/instance", timeout=10) as resp:
            assert json.load(resp)["configuration"]["statuses"]["max_characters"] == 900
        request = urllib.request.Request(f"{shown['url']}/api/v1/accounts/verify_credentials",
                                         headers={"Authorization": f"Bearer {shown['access_token']}"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert json.load(resp)["username"] == "crosspost_demo"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Emulator stopped." in err


def test_the_emulator_refuses_a_non_loopback_host() -> None:
    result = CliRunner().invoke(cli, ["mastodon", "emulator", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "loopback" in result.output
