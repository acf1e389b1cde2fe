"""Running ``crosspost serve``: the application, in-process workers and the webhook outbox together.

Shutdown (SIGINT/SIGTERM sets ``stop``): the listener closes first (no new requests), in-flight
requests finish, then the workers stop at a safe point and hand their running jobs back with
their checkpoints (the engine's own shutdown), so every job resumes where it was, in this server
or in any ``crosspost worker`` on the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from crosspost.core.errors import ConfigError
from crosspost.core.hub import Hub
from crosspost.core.netguard import AllowList
from crosspost.core.serve.api import Api, Dialect
from crosspost.core.serve.app import dashboard, make_app
from crosspost.core.serve.config import ServeConfig
from crosspost.core.serve.dialects import all_dialects
from crosspost.core.serve.posts import PostService
from crosspost.core.serve.webhooks import Outbox, webhook_session
from crosspost.storage.serve_tables import serve_store


@contextlib.asynccontextmanager
async def open_api(hub: Hub, config: ServeConfig, *, webhook_http: Any = None,
                   dialects: dict[str, Dialect] | None = None) -> AsyncIterator[tuple[Api, dict[str, Dialect]]]:
    """The handlers' :class:`Api` over ``hub``; closes what it opened."""
    dialects = dialects or all_dialects()
    store = serve_store(hub.storage)
    media_dir = config.media_dir or Path(hub.settings.data_dir) / "serve-media"
    media_dir.mkdir(parents=True, exist_ok=True)
    posts = PostService(hub, store, media_dir=media_dir)
    async with contextlib.AsyncExitStack() as stack:
        if webhook_http is None:
            webhook_http = webhook_session(allow=AllowList.from_settings(hub.settings),
                                           allow_private=config.allow_private_webhooks)
            stack.push_async_callback(webhook_http.close)
        api_holder: dict[str, Api] = {}
        outbox = Outbox(store=store, posts=posts, dialects=dialects, http=webhook_http, clock=hub.clock,
                        unseal=lambda row: api_holder["api"].unseal(row),
                        allow=AllowList.from_settings(hub.settings), allow_private=config.allow_private_webhooks)
        api = Api(hub=hub, store=store, posts=posts, outbox=outbox, config=config)
        api_holder["api"] = api
        # A job changed state in this process: fan its event out now instead of at the next poll.
        stack.callback(hub.subscribe(lambda _event: outbox.wake.set()))
        yield api, dialects


async def run(hub: Hub, config: ServeConfig, stop: asyncio.Event, *,
              on_ready: Callable[[str], None] | None = None, ui: web.Application | None = None) -> None:
    """Serve until ``stop`` is set, with ``config.workers`` worker loops and the webhook outbox; the
    dashboard at ``/ui`` unless another ``ui`` sub-application is given."""
    async with open_api(hub, config) as (api, dialects):
        app = make_app(api, dialects, ui=ui if ui is not None else dashboard(api))
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=10.0)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"port {config.port} on {config.host} is in use: stop what holds it or pass "
                                  "--port with a free one") from None
            raise ConfigError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
        port = runner.addresses[0][1] if runner.addresses else config.port
        work_stop = asyncio.Event()
        tasks = [asyncio.create_task(hub.run_worker(stop=work_stop), name=f"serve-worker-{n}")
                 for n in range(config.workers)]
        tasks.append(asyncio.create_task(api.outbox.run(work_stop, poll=config.webhook_poll), name="serve-outbox"))
        if on_ready is not None:
            on_ready(f"http://{config.host}:{port}")
        try:
            await stop.wait()
        finally:
            await runner.cleanup()  # no new requests; in-flight ones finish
            work_stop.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    raise result
