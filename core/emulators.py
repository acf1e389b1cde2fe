"""Bundled platform emulators, neutral: what ``crosspost demo``, ``crosspost emulator`` and the
test fixtures start for a platform without naming it.

A platform's :meth:`~crosspost.core.platform.Platform.emulator` returns an :class:`Emulator`;
``start`` runs it on loopback and returns a :class:`RunningEmulator` saying which settings point
crosspost at it and which account values connect a demo account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

DEMO_ACCOUNT = "demo"
"""The account name ``crosspost demo`` connects on every emulator; demo posts target it."""


@attrs.frozen(kw_only=True)
class DemoPost:
    """One post ``crosspost demo`` makes on an emulator (a request in crosspost's shape)."""

    title: str
    request: Mapping[str, Any]
    """Targets name the platform's demo account; media paths are absolute."""
    schedule_in: float | None = None
    """Scheduled this many seconds after the demo reaches it, then published by a worker."""
    chunk_size: int | None = None
    """The upload chunk size, when the platform uploads in chunks (for progress lines)."""
    report: Callable[[Sequence[str]], Sequence[str]] | None = attrs.field(default=None, eq=False)
    """Lines to print after publishing, given the targets' publish ids (what the emulator saw)."""


@attrs.frozen(kw_only=True)
class CrossPostPart:
    """A platform's share of the one post ``crosspost demo`` sends to every emulator at once."""

    options: Mapping[str, Any]
    """The platform's ``target_options.<platform>`` block: its own ``content`` override (when
    the platform takes one) and any option it requires."""
    photo: str | None = None
    """A sample photo this platform ships, usable as the shared post's one image (the demo
    takes the first platform's); None when it ships none."""


@attrs.frozen(kw_only=True)
class RunningEmulator:
    """An emulator serving on ``url`` until ``stop`` is awaited."""

    url: str
    env: Mapping[str, str]
    """``CROSSPOST_*`` variables that point the platform at this emulator."""
    account: Mapping[str, str]
    """Values for ``connect_account`` that connect a demo account (tokens the emulator accepts)."""
    admin_url: str | None = None
    """The emulator's admin API (documented in the platform's docs), if it has one."""
    plugins: tuple[object, ...] = attrs.field(default=(), repr=False, eq=False)
    """Plugin objects a hub talking to this emulator registers (e.g. a loopback media host the
    emulator trusts), so ``crosspost demo`` needs no platform-specific wiring."""
    handle: Any = attrs.field(default=None, repr=False, eq=False)
    """The server object, for tests that script faults."""

    stopper: Any = attrs.field(default=None, repr=False, eq=False)
    """An async callable that stops everything ``start`` started (else ``handle.stop``)."""

    async def stop(self) -> None:
        stop = self.stopper or getattr(self.handle, "stop", None)
        if stop is not None:
            await stop()


class Emulator(Protocol):
    """A platform's stand-in server.

    It may also define ``cross_post(media_dir) -> CrossPostPart`` (optional, read through
    :func:`cross_post_part`): its share of the one post the demo sends to every platform.
    """

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
        """Serve on ``host:port`` (0 picks a free port) and say how to reach it."""
        ...

    def demo_posts(self, media_dir: str) -> Sequence[DemoPost]:
        """What ``crosspost demo`` publishes on this platform (``media_dir`` holds the samples)."""
        ...


def cross_post_part(emulator: Emulator, media_dir: str) -> CrossPostPart | None:
    """The emulator's share of the demo's cross-post, or None when it offers none: the method
    ``cross_post(media_dir) -> CrossPostPart`` is optional, so emulators written before it
    still start and show their own posts."""
    offer = getattr(emulator, "cross_post", None)
    part = offer(media_dir) if callable(offer) else None
    return part if isinstance(part, CrossPostPart) else None
