"""A browser login from a terminal, for any platform that ``supports_login``: core runs the
redirect server on ``http://127.0.0.1:PORT/callback/``, the platform builds the URL and
exchanges the code (:meth:`Hub.start_login` / :meth:`Hub.finish_login`).

What a caller may rely on:

- The answer is the first redirect (or pasted URL) carrying this login's ``state``. A redirect or
  paste with another ``state`` (a stale tab, a wrong URL) is refused *and the wait goes on*; an
  empty paste or end of input only stops reading the terminal: the browser may still answer, so
  neither the callback nor the paste can abort the other.
- A busy ``--port`` and a wait longer than ``timeout`` are :class:`LoginProblem` messages with
  the fix, never crashes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from crosspost.core.errors import CrosspostError

if TYPE_CHECKING:
    from crosspost.core.accounts import Account
    from crosspost.core.hub import Hub

CALLBACK_PATH = "/callback/"
HOST = "127.0.0.1"


class LoginProblem(CrosspostError):
    """An expected failure of a terminal login (busy port, nobody answered in time)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def callback_query(url_or_query: str) -> dict[str, str]:
    """The query parameters of a pasted redirect URL (or of a bare query string)."""
    text = url_or_query.strip()
    query = urlsplit(text).query if "?" in text else text.lstrip("?")
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


class _Answer:
    """The first answer carrying ``state``; answers for another login are refused, not final."""

    def __init__(self) -> None:
        self.state = ""
        self.future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    def offer(self, query: dict[str, str]) -> bool:
        if not self.state or query.get("state") != self.state:
            return False
        if not self.future.done():
            self.future.set_result(query)
        return True


async def login_in_browser(hub: Hub, platform: str, name: str, values: dict[str, str], *, port: int,
                           timeout: float, show: Callable[[str], None],  # noqa: ASYNC109 - a user-facing limit
                           open_browser: Callable[[str], None] | None = None,
                           read_paste: Callable[[], Awaitable[str]] | None = None,
                           refused: Callable[[str], None] | None = None) -> Account:
    """Log ``platform:name`` in through the browser (or a pasted redirect URL) and store it."""
    from aiohttp import web

    answer = _Answer()

    async def on_callback(request: web.Request) -> web.Response:
        if answer.offer(callback_query(request.rel_url.raw_query_string)):
            return web.Response(text="crosspost received the login. You can close this tab.")
        return web.Response(status=400, text="This is not the login crosspost is waiting for (an old tab?). "
                                             "Use the newest login link.")

    app = web.Application()
    app.router.add_get(CALLBACK_PATH, on_callback)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    paste: asyncio.Task[None] | None = None
    try:
        try:
            await web.TCPSite(runner, HOST, port).start()
        except OSError as exc:
            raise LoginProblem(f"cannot listen on {HOST}:{port} for the login redirect ({exc.strerror}): pick "
                               "another port with --port, or --port 0 for a free one", code="port_busy") from None
        redirect_uri = f"http://{HOST}:{runner.addresses[0][1]}{CALLBACK_PATH}"
        start = await hub.start_login(platform, name, values, redirect_uri=redirect_uri)
        answer.state = start.state
        show(start.url)
        if open_browser is not None:
            open_browser(start.url)
        if read_paste is not None:
            paste = asyncio.create_task(_read_pastes(answer, read_paste, refused))
        try:
            async with asyncio.timeout(timeout):
                query = await answer.future
        except TimeoutError:
            raise LoginProblem(f"no login answer within {timeout:g} s; run the command again (and approve in "
                               "the browser sooner), or give --timeout more seconds", code="login_timeout") from None
    finally:
        if paste is not None:
            paste.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await paste
        await runner.cleanup()
    return await hub.finish_login(query)


async def _read_pastes(answer: _Answer, read_paste: Callable[[], Awaitable[str]],
                       refused: Callable[[str], None] | None) -> None:
    """Offer each pasted line until one is this login's; an empty line or EOF stops reading."""
    while not answer.future.done():
        line = (await read_paste()).strip()
        if not line:
            return
        if not answer.offer(callback_query(line)) and refused is not None:
            refused("That URL does not belong to this login (its state differs); paste the URL of the newest "
                    "redirect, or keep waiting for the browser.")
