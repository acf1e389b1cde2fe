"""docs/quickstart.md section 3, followed literally: its shell commands, run as written.

The commands are taken from the markdown itself. Terminal 1's command starts the emulator (with
``--port 0``, as the doc says); in terminal 2's block each line marked ``# as printed`` stands
for what the emulator printed, and is replaced by exactly those printed lines (so the doc and the
banner cannot drift apart: the variables the doc names must be the ones printed). Everything
runs in a fresh temporary HOME with no CROSSPOST_* setting inherited, through the installed
``crosspost`` console script, and must post a video, a carousel of a JPEG, a PNG and a WebP, and
a draft.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import stat
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "docs" / "quickstart.md"
SECTION = "## 3. Try the CLI against the emulator"
AS_PRINTED = "# as printed"
BIN = Path(sys.executable).parent


def section_blocks(text: str, heading: str) -> list[str]:
    """The ```bash blocks under ``heading``, up to the next level-2 heading."""
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    body = text[start:end if end != -1 else None]
    return re.findall(r"```bash\n(.*?)```", body, flags=re.S)


def shell_lines(block: str) -> list[str]:
    """Commands of a block, with backslash continuations joined."""
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def exported_names(line: str) -> list[str]:
    return re.findall(r"\b(CROSSPOST_[A-Z_]+)=", line.split("#", 1)[0])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


@pytest.fixture
def shell_env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_") and k != "PYTHONPATH"}
    return {**keep, "HOME": str(home), "PATH": f"{BIN}{os.pathsep}{keep.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"}


class Terminal1:
    """Terminal 1's command, running; its printed lines are collected as they come."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(shlex.split(command), env=env, cwd=cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def printed_until(self, marker: str, timeout: float = 60.0) -> list[str]:
        seen: list[str] = []
        while not any(marker in line for line in seen):
            try:
                seen.append(self.lines.get(timeout=timeout))
            except queue.Empty:
                pytest.fail(f"the emulator never printed {marker!r}; it printed: {seen}")
        return seen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


@pytest.fixture
def emulator_cmd(shell_env: dict[str, str], home: Path) -> Iterator[tuple[Terminal1, str]]:
    first, _second = section_blocks(QUICKSTART.read_text(encoding="utf-8"), SECTION)
    [command] = shell_lines(first)
    assert "--port 0" in command, "the quickstart must not hard-code a port that may be taken"
    terminal = Terminal1(command, shell_env, home)
    try:
        yield terminal, command
    finally:
        terminal.stop()


def test_the_quickstart_posts_a_video_a_jpeg_png_webp_carousel_and_a_draft_on_the_emulator(
        emulator_cmd: tuple[Terminal1, str], shell_env: dict[str, str], home: Path) -> None:
    terminal, _ = emulator_cmd
    printed = [line.strip() for line in terminal.printed_until("crosspost accounts add")]
    exports = [line for line in printed if line.startswith("export CROSSPOST_")]
    add_account = next(line for line in printed if line.startswith("crosspost accounts add"))
    api_base = next(line for line in exports if "CROSSPOST_TIKTOK_API_BASE=" in line).split("=", 1)[1]

    _, second = section_blocks(QUICKSTART.read_text(encoding="utf-8"), SECTION)
    lines = shell_lines(second)
    placeholders = [line for line in lines if line.rstrip().endswith(AS_PRINTED)]
    doc_names = sorted(n for line in placeholders for n in exported_names(line))
    assert doc_names == sorted(n for line in exports for n in exported_names(line)), (
        "the quickstart's `# as printed` lines must name exactly what `crosspost emulator` prints")
    script, pasted = ["set -euo pipefail"], False
    for line in lines:
        if line.rstrip().endswith(AS_PRINTED):
            if not pasted:
                script += [*exports, add_account]
                pasted = True
            continue
        script.append(line)
    ran = subprocess.run(["bash", "-c", "\n".join(script)], env=shell_env, cwd=home, capture_output=True,
                         text=True, timeout=300)
    assert ran.returncode == 0, f"stdout:\n{ran.stdout}\nstderr:\n{ran.stderr}"

    with urllib.request.urlopen(api_base + "/_emulator/published", timeout=10) as answer:
        published = json.load(answer)
    videos = [p for p in published if p["media_type"] == "VIDEO" and p["mode"] != "inbox"]
    photos = [p for p in published if p["media_type"] == "PHOTO"]
    drafts = [p for p in published if p["mode"] == "inbox"]
    assert [p["status"] for p in videos] == ["PUBLISH_COMPLETE"]
    assert [p["status"] for p in drafts] == ["SEND_TO_USER_INBOX"]
    [carousel] = photos
    assert carousel["status"] == "PUBLISH_COMPLETE"
    assert [i["content_type"] for i in carousel["items"]] == ["image/jpeg", "image/jpeg", "image/webp"]
    assert all(i["recognised_format"] for i in carousel["items"]), "the PNG reached TikTok as a JPEG"
    assert "published" in ran.stdout
    assert "inbox" in ran.stdout

    data_dir = home / ".crosspost-emulator"
    key = data_dir / "crosspost.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not stat.S_IMODE(data_dir.stat().st_mode) & 0o002
