"""The worker loop: claim due jobs, run them under a concurrency bound, stop cleanly.

A worker never sleeps while holding a job: it claims only what is due, runs it, and waits
between claims on the injected clock (when idle) or on its running jobs (when busy). It stops
when ``stop`` is set (running jobs get ``Timing.shutdown_grace`` seconds, then are released with
their checkpoints) or, with ``until_idle``, once nothing is running and nothing is due within
``Timing.idle_horizon``. Cancelling :meth:`Worker.run` releases every running job at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from crosspost.core.engine.metrics import MetricsCollector
from crosspost.core.engine.runner import JobRunner
from crosspost.core.engine.runtime import Runtime
from crosspost.storage.base import WakesWorkers

log = logging.getLogger("crosspost.engine.worker")


class Worker:
    """Claims and runs jobs (of one post only, when ``post_id`` is given)."""

    def __init__(self, rt: Runtime, runner: JobRunner, *, concurrency: int, post_id: str | None = None,
                 metrics: MetricsCollector | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._rt = rt
        self._runner = runner
        self._concurrency = concurrency
        self._post_id = post_id
        self._tasks: set[asyncio.Task[None]] = set()
        self._metrics = metrics
        """Given to workers of every post: a metrics round between claims (see engine.metrics)."""

    async def run(self, *, until_idle: bool = False, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        stopped: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                await self._fill()
                if self._metrics is not None:
                    await self._metrics.maybe_run()
                if until_idle and not self._tasks and await self._idle():
                    return
                await self._pause(stopped)
                self._reap()
            await self._drain(self._rt.timing.shutdown_grace)
        except asyncio.CancelledError:
            await self._drain(0.0)
            raise
        finally:
            stopped.cancel()

    async def _fill(self) -> None:
        rt = self._rt
        while len(self._tasks) < self._concurrency:
            now = rt.clock.now()
            job = await rt.storage.claim_job(rt.owner, now=now, post_id=self._post_id, log_start=True,
                                             lease_until=now + timedelta(seconds=rt.timing.lease))
            if job is None:
                return
            self._tasks.add(asyncio.create_task(self._runner.run(job), name=f"crosspost-job-{job.id}"))

    async def _idle(self) -> bool:
        """Nothing due within the horizon (jobs blocked on a login do not count)."""
        rt = self._rt
        wakeup = await rt.storage.next_wakeup(post_id=self._post_id, owner=rt.owner)
        return wakeup is None or wakeup > rt.clock.now() + timedelta(seconds=rt.timing.idle_horizon)

    async def _pause(self, stopped: asyncio.Future[object]) -> None:
        rt = self._rt
        if self._tasks:
            # Busy: wake when a job finishes (a slot frees) or to look for newly due work.
            waiting: list[asyncio.Future[Any]] = [*self._tasks, stopped]
            await asyncio.wait(waiting, timeout=rt.timing.poll,
                               return_when=asyncio.FIRST_COMPLETED)
            return
        wakeup = await rt.storage.next_wakeup(post_id=self._post_id, owner=rt.owner)
        delay = rt.timing.poll
        if wakeup is not None:
            delay = min(delay, max((wakeup - rt.clock.now()).total_seconds(), 0.001))
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(rt.clock.sleep(delay))]
        if isinstance(rt.storage, WakesWorkers):
            waiters.append(asyncio.ensure_future(rt.storage.wait_for_work(delay)))
        try:
            await asyncio.wait([*waiters, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _reap(self) -> None:
        for task in [t for t in self._tasks if t.done()]:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("job task %s crashed", task.get_name(), exc_info=task.exception())

    async def _drain(self, grace: float) -> None:
        """Let running jobs finish for ``grace`` wall-clock seconds, then release the rest."""
        if self._tasks and grace > 0:
            await asyncio.wait(self._tasks, timeout=grace)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._reap()
        self._tasks.clear()
