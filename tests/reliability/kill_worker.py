"""The worker process of the kill test (run as a script, not collected by pytest).

Usage: ``python kill_worker.py``, configured by the environment the test hands it: the usual
``CROSSPOST_*`` variables (database, secret key, the emulator's base URL, client key and secret,
chunk size, verified URL prefix) plus ``KILL_TEST_HOST_DIR`` and ``KILL_TEST_HOST_PREFIX``, the
folder and URL prefix of the loopback media host the *test* process serves (TikTok takes photos
only by URL). It opens a :class:`~crosspost.core.hub.Hub` with the real TikTok platform (fast
status polling, as ``crosspost demo`` does) and a ``host_media`` plugin that links files into that
folder, runs ``hub.run_worker(until_idle=True)`` and prints ``{"done": true}``. The test kills it
with SIGKILL at random points and starts it again.

Client-side limits: crosspost paces TikTok's per-token limits itself (6 inits, 20 creator-info,
30 status calls a minute). At that pace 50 posts over 5 accounts would take minutes of real
waiting, which is not what this test measures, so this process raises those three endpoint
limits (module constants of ``crosspost.plugins.tiktok.client``, patched here only, as
``benchmarks/engine_overhead.py`` does). The daily cap (15 direct posts per creator) is kept as
shipped: the test stays under it with 10 posts per account.

Leases are short (:data:`TIMING`): a job held by a killed worker is claimed again about 2 s later.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from crosspost.core.engine import Timing
from crosspost.core.hub import Hub
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok import client
from crosspost.plugins.tiktok.demo import LoopbackMediaHost, fast_polling_tiktok

LIFTED = 10**6
TIMING = Timing(lease=2.0, heartbeat=0.3, poll=0.2, idle_horizon=60.0, shutdown_grace=0.0)
"""Seconds of the system clock: a dead worker's jobs return after 2 s; heartbeats every 0.3 s."""
HOST_DIR_ENV = "KILL_TEST_HOST_DIR"
HOST_PREFIX_ENV = "KILL_TEST_HOST_PREFIX"


def lift_endpoint_limits() -> None:
    """Raise the per-token endpoint limits in this process only (see the module docstring)."""
    for name in ("CREATOR_INFO_LIMIT", "INIT_LIMIT", "STATUS_LIMIT"):
        limit = getattr(client, name)
        setattr(client, name, client.EndpointLimit(name=limit.name, limit=LIFTED, window=limit.window))


def media_host() -> LoopbackMediaHost:
    """A ``host_media`` plugin writing into the folder the test process serves (not started here)."""
    host = LoopbackMediaHost(Path(os.environ[HOST_DIR_ENV]))
    host.base_url = os.environ[HOST_PREFIX_ENV].removesuffix("/media/")
    return host


async def main() -> None:
    lift_endpoint_limits()
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[fast_polling_tiktok(), media_host()]))
    async with Hub.open(Settings.from_env(), hooks=hooks, timing=TIMING) as hub:
        await hub.run_worker(until_idle=True)
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    asyncio.run(main())
