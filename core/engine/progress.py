"""Progress events for progress bars and bots: what each job is doing, as it happens.

Events are in-process and best effort (the durable record is the event log in storage).
Listeners may be plain functions or coroutine functions; a listener that raises is logged and
the others still get the event.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable

import attrs

from crosspost.core.models import JobStatus, Target

log = logging.getLogger("crosspost.engine.progress")


@attrs.frozen(kw_only=True)
class ProgressEvent:
    """One step of one job: a phase change, or bytes/steps done within a phase."""

    job_id: str
    post_id: str
    target: Target
    phase: JobStatus
    """The job's state; ``uploading`` events count bytes in ``done``/``total``."""
    done: int = 0
    total: int | None = None
    message: str = ""
    """Why the phase changed, when there is something to say (retry reason, deferral)."""


Listener = Callable[[ProgressEvent], "Awaitable[object] | object"]
"""``listener(event)``; may be ``async def``."""


class Broadcaster:
    """Hands every event to every subscribed listener, isolating their failures."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._pending: set[asyncio.Future[object]] = set()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; call the returned function to remove it again."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: ProgressEvent) -> None:
        """Deliver ``event`` now to sync listeners; schedule async ones. Never raises."""
        for listener in list(self._listeners):
            try:
                result = listener(event)
            except Exception:
                log.exception("progress listener %r failed; continuing", listener)
                continue
            if inspect.isawaitable(result):
                future = asyncio.ensure_future(result)
                self._pending.add(future)
                future.add_done_callback(self._finished)

    def _finished(self, future: asyncio.Future[object]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("async progress listener failed; continuing", exc_info=future.exception())

    async def drain(self) -> None:
        """Wait until every async listener scheduled so far has finished."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
