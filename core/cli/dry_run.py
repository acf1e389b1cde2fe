"""Printing a dry run: the exact requests each target would send, secrets already removed, and
every warning the real run would give (what is dropped, cut, converted or re-hosted)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from crosspost.core.cli.output import Output
from crosspost.core.models import Target
from crosspost.core.platform import PlannedRequest


def _warnings(requests: Sequence[PlannedRequest]) -> tuple[str, ...]:
    """The warnings a plan carries (``Hub.plan`` returns :class:`~crosspost.core.hub.TargetPlan`)."""
    return tuple(getattr(requests, "warnings", ()))


def plan_to_dict(plans: Mapping[Target, Sequence[PlannedRequest]]) -> dict[str, Any]:
    """``--dry-run --json``: ``{"dry_run": true, "targets": [{"target", "warnings": [...],
    "requests": [...]}]}``; ``warnings`` are the ones the real run would store with the post."""
    return {
        "dry_run": True,
        "targets": [
            {"target": str(target),
             "warnings": list(_warnings(requests)),
             "requests": [{"method": r.method, "url": r.url, "body": r.body, "note": r.note}
                          for r in requests]}
            for target, requests in plans.items()
        ],
    }


def show_plan(out: Output, plans: Mapping[Target, Sequence[PlannedRequest]]) -> None:
    """Print ``plans`` for a person (or as one JSON object with ``--json``)."""
    if out.json:
        out.data(plan_to_dict(plans))
        return
    for target, requests in plans.items():
        out.result(f"{target}: valid. A real run sends these {len(requests)} request(s); this dry run "
                   "sent only the read-only ones it needed (creator info), nothing that publishes:")
        for warning in _warnings(requests):
            out.result(f"  warning: {warning}")
        for number, request in enumerate(requests, 1):
            out.result(f"  {number}. {request.method} {request.url}")
            if request.note:
                out.result(f"     {request.note}")
            if request.body is not None:
                out.result(_indent(_body_text(request.body), "     "))


def _body_text(body: Any) -> str:
    if isinstance(body, (dict, list)):
        return json.dumps(body, indent=2, ensure_ascii=False)
    if isinstance(body, bytes):
        return f"<{len(body)} bytes>"
    return str(body)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())
