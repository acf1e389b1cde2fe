"""What every engine part shares in one process: storage, hooks, clock, HTTP session, tunables."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

import attrs

from crosspost.core.account_store import AccountStore
from crosspost.core.clock import Clock
from crosspost.core.engine.progress import Broadcaster
from crosspost.core.engine.ratelimit import StorageRateGate
from crosspost.core.engine.retry import RetryPolicy
from crosspost.core.plugins import Hooks
from crosspost.core.settings import Settings
from crosspost.storage.base import Storage

if TYPE_CHECKING:
    import aiohttp


class ChangeSignal:
    """Wakes everyone waiting for *some* job to change (``hub.wait`` in this process)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        """The event the next :meth:`notify` sets. Take it *before* reading state, then wait on
        it, so a change between the read and the wait is not missed."""
        return self._event


@attrs.frozen(kw_only=True)
class Timing:
    """Engine tunables, in seconds. Tests shrink them; the defaults suit real use."""

    lease: float = 60.0
    """How long a claim lasts without a heartbeat; a dead worker's jobs return after this."""
    heartbeat: float = 15.0
    """Wall-clock seconds between lease renewals while a job runs."""
    poll: float = 1.0
    """Longest a worker waits before looking for due jobs again."""
    idle_horizon: float = 60.0
    """``until_idle`` workers keep going while a job is due within this many seconds."""
    shutdown_grace: float = 5.0
    """On a stop request, wall-clock seconds running jobs get to finish before being released."""


@attrs.frozen(kw_only=True)
class Runtime:
    """The shared parts, built once by :class:`~crosspost.core.hub.Hub`."""

    settings: Settings
    storage: Storage
    hooks: Hooks
    http: aiohttp.ClientSession
    clock: Clock
    accounts: AccountStore
    rate: StorageRateGate
    progress: Broadcaster
    changes: ChangeSignal
    retry: RetryPolicy
    timing: Timing
    rng: random.Random
    owner: str
    """This process's worker identity in leases (host, pid and a random part)."""
