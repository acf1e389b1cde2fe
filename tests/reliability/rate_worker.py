"""A worker process of the rate-limit test (run as a script, not collected by pytest).

Usage: ``python rate_worker.py``, configured by the environment: the usual ``CROSSPOST_*``
variables (database, secret key, the emulator's base URL, client key and secret) plus
``RATE_TEST_WINDOW``, the length in seconds of the rate window both the emulator (started by the
test) and this process use instead of TikTok's 60 s, so the test runs in seconds. The limits
themselves are TikTok's (6 inits, 20 creator-info, 30 status calls per window per token) and the
margin keeps TikTok's proportion (3 s of 60 s). Only the daily cap is lifted here (20 posts to
one account is more than TikTok's ~15 a day; the test is about the per-minute window).
"""

from __future__ import annotations

import asyncio
import json
import os

from crosspost.core.engine import Timing
from crosspost.core.hub import Hub
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok import client, publish
from crosspost.plugins.tiktok.demo import fast_polling_tiktok

WINDOW_ENV = "RATE_TEST_WINDOW"
TIMING = Timing(lease=30.0, heartbeat=2.0, poll=0.05, idle_horizon=30.0, shutdown_grace=0.0)


def scale_endpoint_limits(window: float) -> None:
    """TikTok's limits over ``window`` seconds instead of 60, with the same relative margin."""
    for name in ("CREATOR_INFO_LIMIT", "INIT_LIMIT", "STATUS_LIMIT"):
        limit = getattr(client, name)
        scaled = client.EndpointLimit(name=limit.name, limit=limit.limit, window=window,
                                      margin=client.RATE_MARGIN * window / limit.window)
        setattr(client, name, scaled)
    publish.DAILY_POST_CAP = 10_000


async def main() -> None:
    scale_endpoint_limits(float(os.environ[WINDOW_ENV]))
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[fast_polling_tiktok()]))
    async with Hub.open(Settings.from_env(), hooks=hooks, timing=TIMING) as hub:
        await hub.run_worker(until_idle=True)
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    asyncio.run(main())
