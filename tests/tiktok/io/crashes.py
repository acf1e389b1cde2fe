"""Crash simulation shared by the TikTok resume tests.

A crash is raising :class:`Crash` from ``FakeJobContext.on_save``: the checkpoint being saved is
then *not* stored, as when a process dies mid-save, and the next run starts from
``ctx.next_attempt()``, i.e. from the last stored checkpoint, as the engine does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crosspost.plugins.tiktok.emulator import EmulatorState

SMALL_CHUNKS = {"CROSSPOST_TIKTOK_CHUNK_SIZE": str(5 * 1024 * 1024)}
"""5 MiB chunks: many PUTs per video, so faults and crashes land mid-upload."""


class Crash(Exception):
    """Stands for the process dying at that moment."""


def crash_when(predicate: Callable[[Mapping[str, Any]], bool]) -> Callable[[int, Mapping[str, Any]], None]:
    """An ``on_save`` that crashes once, at the first save whose checkpoint matches ``predicate``."""
    fired = False

    def on_save(index: int, checkpoint: Mapping[str, Any]) -> None:
        nonlocal fired
        if not fired and predicate(checkpoint):
            fired = True
            raise Crash(f"crash at save {index}")

    return on_save


def routes(state: EmulatorState, route: str) -> list[int | None]:
    """The statuses the emulator answered on ``route``, in order."""
    return [r.status for r in state.requests if r.route == route]
