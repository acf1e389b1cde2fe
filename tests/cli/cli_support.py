"""Helpers shared by the CLI tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crosspost.core.cli.app import cli
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

CHUNK_SIZE = 10_000_000
ASSETS = Path(__file__).resolve().parents[2] / "plugins" / "tiktok" / "assets"


class ThreadedEmulator:
    """An :class:`EmulatorServer` running on its own event loop in a daemon thread."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.loop = asyncio.new_event_loop()
        self.server = EmulatorServer(state)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self) -> None:
        self._thread.start()
        self.call(self.server.start())

    def stop(self) -> None:
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def routes(self) -> list[str]:
        return [r.route for r in self.state.requests]


def invoke(runner: CliRunner, *args: str, input: str | None = None) -> Result:
    """Run the CLI in-process; exceptions are rendered by the CLI, never raised into the test."""
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def video_post(**options: Any) -> dict[str, Any]:
    """A valid request for ``tiktok:main`` with the sample video."""
    tiktok: dict[str, Any] = {"privacy_level": "SELF_ONLY", "allow_comment": True, "allow_duet": False,
                              "allow_stitch": False, **options}
    return {"content": "hello from the CLI tests #crosspost", "targets": ["tiktok:main"],
            "media": [{"type": "video", "path": str(ASSETS / "sample.mp4")}],
            "target_options": {"tiktok": tiktok}}


def subprocess_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for running ``crosspost`` as a child process with ``env``'s settings."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}
    return {**keep, **env, "PYTHONUNBUFFERED": "1"}


CROSSPOST = [sys.executable, "-c", "from crosspost.core.cli import main; main()"]
"""The console script, run with this interpreter (works without the venv's bin on PATH)."""


@pytest.fixture(name="emulator")
def threaded_emulator() -> Iterator[ThreadedEmulator]:
    """A threaded emulator that settles posts at once (shared by the CLI and secret-scan tests)."""
    server = ThreadedEmulator(EmulatorState(processing_polls=0))
    server.start()
    yield server
    server.stop()
