"""The CLI in a real terminal (a pseudo-terminal): progress bars, colours, NO_COLOR, Ctrl-C."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.cli_support import CHUNK_SIZE, CROSSPOST, ThreadedEmulator, invoke, subprocess_env

COLOUR = re.compile(r"\x1b\[[0-9;]*m")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
VIDEO_SIZE = 70_000_123
SHORTHAND = ["--privacy", "SELF_ONLY", "--no-allow-comment", "--no-allow-duet", "--no-allow-stitch"]


def run_in_pty(args: Sequence[str], env: dict[str, str], *, deadline_s: float = 120) -> tuple[int, str]:
    """Run ``args`` with a 120x40 pseudo-terminal as stdin/stdout/stderr; return (exit code, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    child = subprocess.Popen(list(args), env={**env, "TERM": "xterm-256color"}, stdin=slave, stdout=slave,
                             stderr=slave, close_fds=True)
    os.close(slave)
    output = bytearray()
    end = time.monotonic() + deadline_s
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            output += data
    finally:
        os.close(master)
    code = child.wait(timeout=30)
    return code, output.decode("utf-8", "replace")


@pytest.fixture
def big_video(tmp_path: Path) -> Path:
    """A real video padded (sparsely) to 70 MB: seven 10 MB chunks."""
    from crosspost.testing.media import make_video

    return make_video(tmp_path / "big.mp4", pad_to=VIDEO_SIZE)


def test_post_in_a_terminal_draws_a_progress_bar(
        tiktok: CliRunner, env: dict[str, str], big_video: Path, emulator: ThreadedEmulator) -> None:
    code, output = run_in_pty([*CROSSPOST, "post", "--to", "tiktok:main", "--video", str(big_video),
                               "--caption", "pty #test", *SHORTHAND], subprocess_env(env))
    assert code == 0, output
    text = ANSI.sub("", output)
    assert "━" in text  # rich's bar
    assert "70.0/70.0 MB" in text  # bytes column
    assert "published" in text
    assert COLOUR.search(output), "a terminal gets colours"
    assert sum(1 for r in emulator.state.requests if r.route == "upload_put") == 7


def test_post_json_in_a_terminal_is_only_json(
        tiktok: CliRunner, env: dict[str, str], big_video: Path) -> None:
    code, output = run_in_pty([*CROSSPOST, "post", "--to", "tiktok:main", "--video", str(big_video), *SHORTHAND,
                               "--json"], subprocess_env(env))
    assert code == 0, output
    data = json.loads(output.replace("\r\n", "\n"))
    assert data["targets"][0]["status"] == "published"


def test_no_color_turns_colours_off_in_a_terminal(base_env: dict[str, str], tmp_path: Path) -> None:
    request = tmp_path / "bad.json"
    request.write_text('{"targets": ["tiktok:main"], "media": [{"type": "gif", "path": "x.gif"}]}')
    env = subprocess_env(base_env)
    env.pop("NO_COLOR", None)
    code, coloured = run_in_pty([*CROSSPOST, "post", str(request)], env)
    assert code == 2
    assert COLOUR.search(coloured)
    code, plain = run_in_pty([*CROSSPOST, "post", str(request)], {**env, "NO_COLOR": "1"})
    assert code == 2
    assert "media[0].type" in plain
    assert not COLOUR.search(plain)


def test_output_to_a_pipe_has_no_colours_or_bars(tiktok: CliRunner) -> None:
    result = invoke(tiktok, "post", "--to", "tiktok:main", "--video", str(Path(__file__).resolve().parents[2]
                    / "plugins" / "tiktok" / "assets" / "sample.mp4"), *SHORTHAND)
    assert result.exit_code == 0, result.output
    assert not ANSI.search(result.output)
    assert "tiktok:main uploading" in result.stdout  # plain progress lines instead of bars


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def test_ctrl_c_during_an_upload_leaves_it_resumable(
        tiktok: CliRunner, env: dict[str, str], big_video: Path, emulator: ThreadedEmulator) -> None:
    emulator.state.faults.add(route="upload_put", kind="delay", delay_s=0.0, times=1)
    stalled = emulator.state.faults.add(route="upload_put", kind="delay", delay_s=2.0, times=1)
    child = subprocess.Popen([*CROSSPOST, "post", "--to", "tiktok:main", "--video", str(big_video), *SHORTHAND],
                             env=subprocess_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while stalled.fired == 0 and child.poll() is None and time.monotonic() < end:
        time.sleep(0.02)  # until the second chunk's PUT hangs at the emulator
    assert stalled.fired == 1
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130
    (post_id,) = re.findall(r"`crosspost status (\w+)`", err)
    assert "crosspost worker" in err
    assert "Traceback" not in err

    worker = invoke(tiktok, "worker", "--until-idle")
    assert worker.exit_code == 0, worker.output
    assert json.loads(invoke(tiktok, "status", post_id, "--json").stdout)["status"] == "published"
    (publish,) = emulator.state.published  # one init: the upload resumed on the same upload URL
    assert publish.status == "PUBLISH_COMPLETE"
    assert publish.sha256 == sha256(big_video)
    acknowledged = [r for r in emulator.state.requests if r.route == "upload_put" and r.status in (201, 206)]
    assert len(acknowledged) == VIDEO_SIZE // CHUNK_SIZE  # no acknowledged chunk was sent twice
