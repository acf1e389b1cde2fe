"""Moving crosspost's data between databases (SQLite to PostgreSQL): one JSON Lines file.

:func:`export_to` reads any backend through the :class:`~crosspost.storage.base.Storage`
contract; :func:`import_from` writes into a backend that can store rows exactly as exported
(:class:`BulkImporter`; PostgreSQL). The file holds a header line, then one line per account,
post (with all its jobs: states, attempts, checkpoints, publish ids, leases) and event::

    {"format": "crosspost-export", "version": 1, "backend": "sqlite", ...}
    {"kind": "account", "row": {...}}
    {"kind": "post", "row": {...}}
    {"kind": "event", "row": {...}}

Account secrets travel as stored: encrypted (base64 of the ciphertext). The target needs the
same secret key (``CROSSPOST_SECRET_KEY``, or the key file that sat beside the SQLite database)
to read them. Stop the workers before exporting: a job running during the export is exported
with its lease, and after the import it waits for that lease to expire before another worker
resumes it from its checkpoint. Importing twice is harmless: rows that exist are skipped.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import cattrs
from cattrs.preconf.json import make_converter

from crosspost.core.convert import post_from_dict, post_to_dict
from crosspost.core.errors import ConfigError
from crosspost.core.models import Post, Target
from crosspost.storage.base import RUNNING, AccountRow, EventRow, PostRow, Storage

FORMAT = "crosspost-export"
VERSION = 1
_ALL = 2**62
"""``limit`` that means everything (the contract's list methods have no paging)."""
_EVENT_BATCH = 1000


@runtime_checkable
class BulkImporter(Protocol):
    """What a backend needs to receive an import (rows stored exactly as given)."""

    async def import_post(self, row: PostRow) -> bool:
        """Store the post and its jobs as they are; False when it exists already."""
        ...

    async def import_events(self, rows: Sequence[EventRow]) -> None:
        """Store the events with their ids, skipping ids that exist."""
        ...


@attrs.frozen(kw_only=True)
class TransferSummary:
    """What an export wrote or an import stored (``skipped``: rows the target already had)."""

    accounts: int = 0
    posts: int = 0
    jobs: int = 0
    events: int = 0
    skipped_accounts: int = 0
    skipped_posts: int = 0
    running_jobs: int = 0
    """Jobs under a lease when exported: a worker was still running (see the module docstring)."""


def row_converter() -> cattrs.Converter:
    """JSON-ready dicts for the storage row models (times ISO 8601, secrets base64)."""
    conv = make_converter(forbid_extra_keys=True)
    conv.register_unstructure_hook(Post, post_to_dict)
    conv.register_structure_hook(Post, lambda value, _: post_from_dict(value))
    conv.register_unstructure_hook(Target, str)
    conv.register_structure_hook(Target, lambda value, _: Target.parse(value))
    conv.register_unstructure_hook(bytes, lambda value: base64.b64encode(value).decode("ascii"))
    conv.register_structure_hook(bytes, lambda value, _: base64.b64decode(value))
    conv.register_unstructure_hook(datetime, lambda value: value.isoformat())
    conv.register_structure_hook(datetime, lambda value, _: datetime.fromisoformat(value))
    return conv


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


async def export_to(storage: Storage, path: str | Path) -> TransferSummary:
    """Write every account, post (with jobs) and event of ``storage`` to ``path`` (JSON Lines).

    The file appears complete or not at all (written beside it, then renamed).
    """
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    conv = row_converter()
    accounts = await storage.list_accounts()
    posts = list(reversed(await storage.list_posts(limit=_ALL)))
    events = await storage.list_events(limit=_ALL)
    header = {"format": FORMAT, "version": VERSION, "backend": storage.backend,
              "exported_at": datetime.now(UTC).isoformat()}
    with partial.open("w", encoding="utf-8") as out:
        out.write(_line(header))
        for kind, rows in (("account", accounts), ("post", posts), ("event", events)):
            for row in rows:
                out.write(_line({"kind": kind, "row": conv.unstructure(row)}))
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, target)
    return TransferSummary(accounts=len(accounts), posts=len(posts), jobs=sum(len(p.jobs) for p in posts),
                           events=len(events),
                           running_jobs=sum(j.status in RUNNING for p in posts for j in p.jobs))


def _read(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as source:
        for number, text in enumerate(source, start=1):
            if text.strip():
                yield number, json.loads(text)


def _check_header(path: Path, header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a crosspost export (its first line has no \"format\": \"{FORMAT}\")")
    if header.get("version") != VERSION:
        raise ConfigError(f"{path} is export format version {header.get('version')!r}; this crosspost reads "
                          f"version {VERSION} only: import it with the crosspost version that wrote it")


async def import_from(storage: Storage, path: str | Path) -> TransferSummary:
    """Store the contents of an export file in ``storage`` (migrated, ideally empty).

    Raises :class:`ConfigError` when ``storage`` cannot take an import or the file is not an
    export this version reads (naming the line of a malformed row).
    """
    if not isinstance(storage, BulkImporter):
        raise ConfigError(f"the {storage.backend} backend cannot receive an import; import into PostgreSQL "
                          "(CROSSPOST_DB=postgresql://…) or copy the SQLite file with its .backup command")
    source = Path(path)
    conv = row_converter()
    counts = dict.fromkeys(attrs.fields_dict(TransferSummary), 0)
    events: list[EventRow] = []
    lines = _read(source)
    first = next(lines, None)
    if first is None:
        raise ConfigError(f"{source} is empty; it is not a crosspost export")
    _check_header(source, first[1])
    for number, item in lines:
        try:
            kind, data = item["kind"], item["row"]
            if kind == "account":
                stored = await storage.insert_account(conv.structure(data, AccountRow))
                counts["accounts" if stored else "skipped_accounts"] += 1
            elif kind == "post":
                post = conv.structure(data, PostRow)
                stored = await storage.import_post(post)
                counts["posts" if stored else "skipped_posts"] += 1
                counts["jobs"] += len(post.jobs) if stored else 0
            elif kind == "event":
                events.append(conv.structure(data, EventRow))
                counts["events"] += 1
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (KeyError, TypeError, ValueError, cattrs.BaseValidationError) as exc:
            raise ConfigError(f"{source}, line {number}: not a valid export row ({exc})") from None
        if len(events) >= _EVENT_BATCH:
            await storage.import_events(events)
            events = []
    await storage.import_events(events)
    return TransferSummary(**counts)
