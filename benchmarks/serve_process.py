"""``crosspost serve`` as a separate process for the kill test (tests/serve/test_serve_kill.py) and
the load benchmark (benchmarks/serve_load.py): a script, run by path.

Configured by the environment: the usual ``CROSSPOST_*`` variables plus ``SERVE_TEST_PORT``,
``SERVE_TEST_WORKERS`` and, optionally, ``SERVE_TEST_KEY`` (an API key to store on start) and
``SERVE_TEST_LIFT_LIMITS=1`` (raise crosspost's own per-token TikTok pacing in this process only,
as benchmarks/engine_overhead.py does: the load benchmark measures the server, not TikTok's limits). Leases
are short (:data:`TIMING`) so jobs of a killed server are taken over about 2 s later, and TikTok
status polling is fast (the emulator finishes processing at once). Prints ``READY <url>`` once
listening; SIGTERM stops it gracefully.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from crosspost.core.engine import Timing
from crosspost.core.hub import Hub
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.serve import keys
from crosspost.core.serve.config import ServeConfig
from crosspost.core.serve.server import run
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.demo import fast_polling_tiktok
from crosspost.storage.serve_tables import ApiKeyRow, serve_store

TIMING = Timing(lease=2.0, heartbeat=0.3, poll=0.2, idle_horizon=60.0, shutdown_grace=0.0)


def lift_endpoint_limits() -> None:
    from crosspost.plugins.tiktok import client

    for name in ("CREATOR_INFO_LIMIT", "INIT_LIMIT", "STATUS_LIMIT"):
        limit = getattr(client, name)
        setattr(client, name, client.EndpointLimit(name=limit.name, limit=10**6, window=limit.window))


async def main() -> None:
    if os.environ.get("SERVE_TEST_LIFT_LIMITS") == "1":
        lift_endpoint_limits()
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[fast_polling_tiktok()]))
    config = ServeConfig(port=int(os.environ["SERVE_TEST_PORT"]),
                         workers=int(os.environ.get("SERVE_TEST_WORKERS", "1")), allow_private_webhooks=True)
    async with Hub.open(Settings.from_env(), hooks=hooks, timing=TIMING) as hub:
        key = os.environ.get("SERVE_TEST_KEY")
        if key:
            await serve_store(hub.storage).add_api_key(ApiKeyRow(id=key[3:15], name=f"test-{key[3:15]}",
                                                                 prefix=key[:15], hash=keys.digest(key),
                                                                 created_at=hub.clock.now()))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await run(hub, config, stop, on_ready=lambda url: print(f"READY {url}", flush=True))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
