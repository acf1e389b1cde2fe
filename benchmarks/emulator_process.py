"""The TikTok emulator in a process of its own, so a client's CPU time can be told from the server's.

``python benchmarks/emulator_process.py --creators 50`` starts crosspost's bundled emulator on a
free loopback port with rate limits off, no daily or pending-share caps, and publishes that
finish as soon as their bytes arrived (``processing_polls=0``: the first status call answers
PUBLISH_COMPLETE). It prints one JSON line (base URL, client credentials, the creators with
their tokens), serves until its stdin closes, then prints a second line with its own CPU
seconds and the requests it answered, by route and status. ``--rate-limits`` keeps TikTok's
per-token limits (6 inits a minute...) and daily cap on, ``--speed S`` runs its clock S times
faster than the wall (``fanout.py`` uses both). Loopback only: the tokens it prints are emulator
tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

NO_CAP = 10**9


class ScaledClock:
    """The wall clock running ``speed`` times faster from ``epoch`` (a crosspost ``Clock``). Every
    process of a run shares the epoch (``FANOUT_EPOCH``), so they agree on what time it is."""

    def __init__(self, speed: float, epoch: float | None = None) -> None:
        self.speed = speed
        self._wall0 = float(os.environ.get("FANOUT_EPOCH", time.time())) if epoch is None else epoch
        self._mono0 = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.time() - self._wall0) * self.speed
        return datetime.fromtimestamp(self._wall0, UTC) + timedelta(seconds=elapsed)

    def monotonic(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


async def serve(creators: int, *, rate_limits: bool = False, speed: float = 1.0, mastodon: int = 0) -> None:
    """Serve ``creators``; with ``rate_limits`` TikTok's per-token limits and daily cap hold, on a
    clock running ``speed`` times faster than the wall (so a minute's window passes sooner).
    ``mastodon``: also a Mastodon instance (its emulator, its own rate window: 300 requests per
    5 minutes per token) with that many accounts, on the same clock."""
    started = float(os.environ.get("FANOUT_EPOCH", time.time()))  # fanout.py's shared epoch
    state = EmulatorState(rate_limits=rate_limits, daily_post_cap=15 if rate_limits else NO_CAP,
                          pending_share_cap=NO_CAP, processing_polls=0,
                          clock=lambda: started + (time.time() - started) * speed)
    made = [state.add_creator(username=f"bench{i:03d}", nickname=f"Bench {i}") for i in range(creators)]
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(EmulatorServer(state))
        instance = await _mastodon(stack, mastodon, ScaledClock(speed, started)) if mastodon else None
        ready = {
            "base_url": server.base_url, "client_key": state.client_key, "client_secret": state.client_secret,
            "creators": [{"open_id": c.open_id, "username": c.username, "access_token": c.access_token,
                          "refresh_token": c.refresh_token, "scopes": list(c.scopes)} for c in made],
            "mastodon": instance.ready if instance else {"base_url": None, "accounts": []},
        }
        ready_cpu = time.process_time()
        _say(ready)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
        await stop.wait()
        loop.remove_reader(sys.stdin.fileno())
        routes = collections.Counter(f"{r.route} {r.status}" for r in state.requests)
        asked_at: dict[str, list[float]] = {}
        for record in state.requests:  # when each request of each route started, in order
            asked_at.setdefault(record.route, []).append(record.time)
        published = collections.Counter(p.status for p in state.published)
        _say({"cpu_s": time.process_time(), "ready_cpu_s": ready_cpu, "requests": len(state.requests),
              "routes": dict(routes), "publishes": dict(published), **(instance.final() if instance else {}),
              "asked_at": {route: sorted(times) for route, times in asked_at.items()}})


class _Instance:
    """The Mastodon emulator of a run: its accounts, and the 429s its rate window answered."""

    def __init__(self, state: Any, base_url: str, accounts: int) -> None:
        self.state = state
        users = [state.add_account(username=f"bench{i:03d}") for i in range(accounts)]
        self.ready = {"base_url": base_url, "accounts": [{"username": u.username, "token": u.token} for u in users]}
        self.refused = 0
        count = state.count_request

        def counted(token: str) -> Any:
            answer = count(token)
            self.refused += not answer[0]
            return answer

        state.count_request = counted

    def final(self) -> dict[str, Any]:
        routes = collections.Counter(f"{method} {re.sub(r'/[0-9]+', '/ID', path)}"
                                     for method, path in self.state.requests)
        return {"mastodon_routes": dict(routes), "mastodon_statuses": len(self.state.statuses),
                "mastodon_refused": self.refused}


async def _mastodon(stack: contextlib.AsyncExitStack, accounts: int, clock: ScaledClock) -> _Instance:
    """A Mastodon instance with ``accounts`` accounts on ``clock``, served until ``stack`` closes."""
    from crosspost.plugins.mastodon.emulator import EmulatorServer as MastodonServer
    from crosspost.plugins.mastodon.emulator import EmulatorState as MastodonState

    server = await stack.enter_async_context(MastodonServer(MastodonState(clock=clock)))
    return _Instance(server.state, server.base_url, accounts)


def _say(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


class EmulatorProcess:
    """Runs this script as a child; ``info`` once entered, ``final`` (CPU, requests) after exit."""

    def __init__(self, creators: int, *, rate_limits: bool = False, speed: float = 1.0, mastodon: int = 0) -> None:
        self.creators = creators
        self.options = [*(["--rate-limits"] if rate_limits else []), "--speed", str(speed),
                        *(["--mastodon", str(mastodon)] if mastodon else [])]
        self.info: dict[str, Any] = {}
        self.final: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmulatorProcess:
        self._proc = subprocess.Popen([sys.executable, str(Path(__file__)), "--creators", str(self.creators),
                                       *self.options],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.kill()
            self._proc.wait()
            raise RuntimeError("the emulator process did not start")
        self.info = json.loads(line)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.close()
        try:
            rest = proc.stdout.read()
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return
        finally:
            proc.stdout.close()
        lines = [line for line in rest.decode().splitlines() if line.strip()]
        if lines:
            self.final = json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="crosspost's TikTok emulator, benchmark settings, own process.")
    parser.add_argument("--creators", type=int, default=1)
    parser.add_argument("--rate-limits", action="store_true", help="enforce TikTok's per-token limits and daily cap")
    parser.add_argument("--speed", type=float, default=1.0, help="the emulator's clock runs this many times faster")
    parser.add_argument("--mastodon", type=int, default=0, help="also serve a Mastodon instance with N accounts")
    args = parser.parse_args()
    asyncio.run(serve(args.creators, rate_limits=args.rate_limits, speed=args.speed, mastodon=args.mastodon))


if __name__ == "__main__":
    main()
