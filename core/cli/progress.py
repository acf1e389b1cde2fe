"""Upload progress from the hub's events: rich bars on a terminal, plain lines elsewhere.

On a terminal each target gets a bar with bytes sent, rate and time left. Without one (CI, a
pipe) each phase change is one line, so logs still show what happened. ``--json`` and
``--quiet`` show neither.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from crosspost.core.cli.context import state

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from crosspost.core.cli.output import Output
    from crosspost.core.hub import ProgressEvent

BYTE_PHASES = frozenset({"uploading"})
"""Phases whose ``done``/``total`` count bytes (the others count steps or nothing)."""
PHASE_NOTES = {"processing": "the platform is processing it, which can take a few minutes"}
"""Said once when a job enters the phase (TikTok asks apps to tell users processing takes time)."""


class ProgressView:
    """A listener for ``hub.subscribe``/``progress=`` that draws what each job is doing."""

    def __init__(self, output: Output, *, chunk_size: int | None = None, show_post: bool = False) -> None:
        self.output = output
        self.chunk_size = chunk_size
        self.show_post = show_post
        """Name the post in each line (a worker runs many posts at once)."""
        """When known, plain-line mode reports each chunk sent; else every quarter of the bytes."""
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._last: dict[str, tuple[str, str, int]] = {}

    def __enter__(self) -> ProgressView:
        if self.output.live:
            self._progress = _make_progress(self.output)
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.post_id:
            state().post_id = event.post_id
        key = f"{event.job_id}"
        phase = str(getattr(event.phase, "value", event.phase))
        if self._progress is not None:
            self._draw(key, event, phase)
        elif self.output.chatty:
            self._line(key, event, phase)

    def _draw(self, key: str, event: ProgressEvent, phase: str) -> None:
        assert self._progress is not None
        post = f" (post {event.post_id})" if self.show_post and event.post_id else ""
        label = f"{event.target}{post} {phase}"
        if event.message or phase in PHASE_NOTES:
            label += f": {event.message or PHASE_NOTES[phase]}"
        fields: dict[str, Any] = {"description": label}
        if phase in BYTE_PHASES and event.total:
            fields.update(total=event.total, completed=event.done)
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(label, total=fields.get("total"))
        self._progress.update(self._tasks[key], **fields)

    def _line(self, key: str, event: ProgressEvent, phase: str) -> None:
        message = event.message or PHASE_NOTES.get(phase, "")
        step = -1
        if phase in BYTE_PHASES:
            step = self._step(event) if event.total else 0
        if self._last.get(key) == (phase, message, step):
            return  # byte counts change constantly: one line per phase, message or milestone
        self._last[key] = (phase, message, step)
        amount = ""
        if step >= 0 and event.total:
            amount = f" {_mb(event.done)} of {_mb(event.total)}"
            if self.chunk_size and step > 0:
                chunks = self._chunks(event.total)
                amount += f" (chunk {min(step, chunks)}/{chunks} sent)"
        post = f" (post {event.post_id})" if self.show_post and event.post_id else ""
        self.output.step(f"   {event.target}{post} {phase}{amount}{': ' + message if message else ''}")

    def _chunks(self, total: int) -> int:
        assert self.chunk_size
        return max(1, total // self.chunk_size)  # TikTok's floor rule: the tail joins the last chunk

    def _chunks_done(self, event: ProgressEvent) -> int:
        assert self.chunk_size
        assert event.total
        return min(event.done // self.chunk_size, self._chunks(event.total))

    def _step(self, event: ProgressEvent) -> int:
        """Which milestone the bytes reached: chunks when the chunk size is known, else quarters."""
        assert event.total
        if event.done >= event.total:
            return 1_000_000
        if event.done == 0:
            return 0
        if self.chunk_size:
            return self._chunks_done(event)
        return event.done * 4 // event.total


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def _make_progress(output: Output) -> Progress:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=output.console,
    )
