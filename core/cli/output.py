"""Everything the CLI prints: steps, tables, progress bars, JSON, and post results.

One rule holds throughout: with ``--json`` stdout carries exactly one JSON object and nothing
else (steps and warnings go nowhere, errors become the JSON object). Colours follow rich's own
detection: off when ``NO_COLOR`` is set or stdout is not a terminal; progress bars only on a
terminal, never with ``--json`` or ``--quiet``. rich is imported on first use, not at start-up.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from crosspost.core.models import JobStatus, TargetResult

if TYPE_CHECKING:
    from rich.console import Console

    from crosspost.core.hub import PostRecord

STATUS_STYLE: Mapping[str, str] = {
    "published": "green", "inbox": "green", "scheduled": "cyan", "queued": "cyan",
    "deferred": "yellow", "uncertain": "yellow", "failed": "red", "cancelled": "dim",
    "partial": "yellow",
}


class Output:
    """Where and how one command invocation prints."""

    def __init__(self, *, json: bool = False, quiet: bool = False, verbose: bool = False) -> None:
        self.json = json
        self.quiet = quiet
        self.verbose = verbose

    @functools.cached_property
    def console(self) -> Console:
        return _console(sys.stdout)

    @functools.cached_property
    def err_console(self) -> Console:
        return _console(sys.stderr)

    @property
    def chatty(self) -> bool:
        """Whether step-by-step lines are wanted (not with ``--json`` or ``--quiet``)."""
        return not (self.json or self.quiet)

    @property
    def live(self) -> bool:
        """Whether live progress bars can be drawn: a terminal, and neither ``--json`` nor ``--quiet``."""
        return self.chatty and self.console.is_terminal

    # -- plain lines --------------------------------------------------------------------------

    def step(self, text: str, *, style: str = "") -> None:
        """One step of what is happening (hidden by ``--json`` and ``--quiet``)."""
        if self.chatty:
            self.console.print(text, style=style or None, markup=False)

    def rich(self, markup: str) -> None:
        """Like :meth:`step`, with rich markup (callers escape user text)."""
        if self.chatty:
            self.console.print(markup)

    def result(self, text: str) -> None:
        """A result line: shown with ``--quiet`` too, but never with ``--json``."""
        if not self.json:
            self.console.print(text, markup=False)

    def warn(self, text: str) -> None:
        if self.chatty:
            self.err_console.print(f"warning: {text}", style="yellow", markup=False)

    def data(self, obj: Any) -> None:
        """The single JSON object of ``--json`` mode, on stdout."""
        click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))

    def error(self, text: str) -> None:
        self.err_console.print(text, style="red", markup=False)

    # -- tables -------------------------------------------------------------------------------

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[str]], *,
              title: str | None = None, empty: str = "nothing to show") -> None:
        from rich.table import Table

        rows = list(rows)
        if not rows:
            self.result(empty)
            return
        table = Table(*columns, title=title, show_edge=False, header_style="bold")
        for row in rows:
            table.add_row(*row)
        if not self.json:
            self.console.print(table)

    # -- posts --------------------------------------------------------------------------------

    def record(self, record: PostRecord, *, heading: str = "Post", indent: str = "") -> None:
        """A post and each of its targets, human-readable."""
        from rich.markup import escape

        status = record.status.value
        when = f" for {record.run_at.isoformat()}" if record.run_at and status == "scheduled" else ""
        self.result_markup(f"{indent}{heading} [bold]{escape(record.id)}[/]: {styled(status)}{when}")
        for target in record.targets:
            self.target(target, indent=indent + "  ")

    def target(self, result: TargetResult, *, indent: str = "  ") -> None:
        from rich.markup import escape

        line = f"{indent}{escape(str(result.target))}  {styled(result.status.value)}"
        if result.post_url:
            line += f"  {escape(result.post_url)}"
        if result.publish_id:
            line += f"  [dim](publish_id {escape(result.publish_id)})[/]"
        self.result_markup(line)
        for warning in result.warnings:
            self.result_markup(f"{indent}  [yellow]warning:[/] {escape(warning)}")
        if result.error is not None:
            self.result_markup(f"{indent}  [red]{escape(result.error.code)}:[/] {escape(result.error.message)}")

    def result_markup(self, markup: str) -> None:
        if not self.json:
            self.console.print(markup)


def _console(file: Any) -> Console:
    """A rich console on ``file``. Off a terminal, lines are not wrapped at 80 columns (logs and
    pipes read better whole); colours follow rich's detection (NO_COLOR, FORCE_COLOR, TTY)."""
    from rich.console import Console

    console = Console(file=file, highlight=False, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = WIDE
    return console


WIDE = 200


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def record_to_dict(record: PostRecord) -> dict[str, Any]:
    """The ``--json`` contract: ``{"id", "status", "targets": [...]}``, nothing more."""
    from crosspost.core.convert import result_to_dict

    return {
        "id": record.id,
        "status": record.status.value,
        "targets": [result_to_dict(t) for t in record.targets],
    }


def record_details(record: PostRecord) -> dict[str, Any]:
    """The contract's object plus when the post was made and when it runs (``status``, ``list``)."""
    data = record_to_dict(record)
    data["created_at"] = record.created_at.isoformat() if record.created_at else None
    data["run_at"] = record.run_at.isoformat() if record.run_at else None
    data["content"] = record.post.content
    return data


FAILED = frozenset({JobStatus.FAILED, JobStatus.UNCERTAIN})


def exit_code(record: PostRecord) -> int:
    """1 when any target failed or needs reconciliation (``uncertain``); else 0 (published, in
    the inbox, scheduled, queued, deferred, or cancelled by the user)."""
    return 1 if any(t.status in FAILED for t in record.targets) else 0
