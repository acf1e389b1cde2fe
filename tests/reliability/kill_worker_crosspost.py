"""The worker process of the cross-post kill test (run as a script, not collected by pytest).

Configured by the environment the test hands it (database, secret key, the TikTok emulator's base
URL and client credentials). It opens a Hub with the real TikTok platform (fast status polling)
and the real Mastodon platform, runs ``hub.run_worker(until_idle=True)`` and prints
``{"done": true}``; it prints ``ready`` once the hub is open, and the test SIGKILLs it at a random
point after that (so a slow start on a loaded machine does not make every kill land in imports).

As in ``kill_worker.py``, TikTok's per-token endpoint limits are raised in this process only:
crosspost's own pacing would make the run take minutes of waiting, which is not what is measured.
Mastodon's limits are left as shipped (the run stays far inside them). Leases are short: a job
held by a killed worker is claimed again about 2 s later.
"""

from __future__ import annotations

import asyncio
import json

from crosspost.core.engine import Timing
from crosspost.core.hookspecs import hookimpl
from crosspost.core.hub import Hub
from crosspost.core.platform import RegisterPlatform
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.settings import Settings
from crosspost.plugins.mastodon import plugin as mastodon_plugin
from crosspost.plugins.tiktok import client
from crosspost.plugins.tiktok.config import PollPolicy
from crosspost.plugins.tiktok.platform import TikTokPlatform

LIFTED = 10**6
TIMING = Timing(lease=2.0, heartbeat=0.3, poll=0.2, idle_horizon=60.0, shutdown_grace=0.0)


class FastPollingTikTok:
    """The real TikTok platform, polling status every 0.3 s (the emulator finishes at once)."""

    @hookimpl
    def register_platforms(self, register: RegisterPlatform) -> None:
        register(TikTokPlatform(poll=PollPolicy(first=0.3, factor=1.0, longest=0.3)))


def lift_endpoint_limits() -> None:
    for name in ("CREATOR_INFO_LIMIT", "INIT_LIMIT", "STATUS_LIMIT"):
        limit = getattr(client, name)
        setattr(client, name, client.EndpointLimit(name=limit.name, limit=LIFTED, window=limit.window))


def hooks() -> Hooks:
    return Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[FastPollingTikTok(), mastodon_plugin]))


async def main() -> None:
    lift_endpoint_limits()
    async with Hub.open(Settings.from_env(), hooks=hooks(), timing=TIMING) as hub:
        print("ready", flush=True)  # the test times its kill from here, not from process start
        await hub.run_worker(until_idle=True)
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    asyncio.run(main())
