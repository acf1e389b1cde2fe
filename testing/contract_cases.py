"""The contract suite's tables: the cases each clause runs, built from what a platform declares.

Pure values and functions (no pytest, no I/O), so a platform's own tests may reuse them.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from crosspost.core.errors import AuthError, CrosspostError, PermanentError, RateLimited, TransientError
from crosspost.core.models import Media, MediaKind, Post
from crosspost.core.platform import Platform

CONTRACT_SECRET = "cp-contract-secret-4f9a1c7e2b"
"""The token the default contract account carries; the fake should accept only this one."""


@attrs.frozen(kw_only=True)
class InvalidCase:
    """A post that must be refused with (at least) a problem at each of ``fields``."""

    label: str
    post: Post
    fields: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ErrorCase:
    """An HTTP status the fake answers with, and the crosspost error ``publish`` must raise."""

    label: str
    status: int
    expected: type[CrosspostError]
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: Mapping[str, Any] | None = None
    retry_after: float | None = None
    """The ``retry_after`` the raised error must carry (checked when not None)."""


DEFAULT_ERROR_CASES: tuple[ErrorCase, ...] = (
    ErrorCase(label="400 bad request", status=400, expected=PermanentError),
    ErrorCase(label="401 unauthorized", status=401, expected=AuthError),
    ErrorCase(label="403 forbidden", status=403, expected=PermanentError),
    ErrorCase(label="404 not found", status=404, expected=PermanentError),
    ErrorCase(label="422 unprocessable", status=422, expected=PermanentError),
    ErrorCase(label="429 with Retry-After", status=429, expected=RateLimited,
              headers={"Retry-After": "7"}, retry_after=7.0),
    ErrorCase(label="500 server error", status=500, expected=TransientError),
    ErrorCase(label="502 bad gateway", status=502, expected=TransientError),
    ErrorCase(label="503 unavailable", status=503, expected=TransientError),
)


@attrs.frozen(kw_only=True)
class LimitCase:
    """A change to a valid post that breaks one declared limit, and the field that must say so."""

    label: str
    changes: Mapping[str, Any]
    field: str


def limit_cases(platform: Platform, base: Post) -> list[LimitCase]:
    """One case per limit ``platform`` declares, each built from the valid post ``base``."""
    name = platform.name
    sample = base.media[0] if base.media else Media(type=min(platform.media_kinds), url="https://media.invalid/a")
    cases: list[LimitCase] = []
    excluded = sorted(set(MediaKind) - platform.media_kinds)
    if excluded:
        wrong = attrs.evolve(sample, type=excluded[0])
        cases.append(LimitCase(label=f"{excluded[0].value} not taken", changes={"media": (wrong,)},
                               field="media[0].type"))
    if platform.max_media is not None:
        cases.append(LimitCase(label=f"more than {platform.max_media} media",
                               changes={"media": (sample,) * (platform.max_media + 1)}, field="media"))
    if platform.min_media > 0:
        cases.append(LimitCase(label=f"fewer than {platform.min_media} media", changes={"media": ()},
                               field="media"))
    if platform.caption_limit is not None:
        cases.append(LimitCase(label=f"caption over {platform.caption_limit}",
                               changes={"content": "x" * (platform.caption_limit + 1)}, field="content"))
    if platform.option_names is not None:
        options = {**base.target_options, name: {**base.options_for(name), "contract_unknown_option": 1}}
        cases.append(LimitCase(label="unknown option", changes={"target_options": options},
                               field=f"target_options.{name}.contract_unknown_option"))
    return cases


def combined_case(base: Post, cases: Sequence[LimitCase]) -> InvalidCase | None:
    """One post breaking several limits that touch different parts of the post, or None."""
    changes: dict[str, Any] = {}
    fields: list[str] = []
    for case in cases:
        if changes.keys().isdisjoint(case.changes):
            changes.update(case.changes)
            fields.append(case.field)
    if len(fields) < 2:
        return None
    return InvalidCase(label=" + ".join(fields), post=attrs.evolve(base, **changes), fields=tuple(fields))


def exception_texts(exc: BaseException) -> Iterator[str]:
    """Everything an exception could show: its traceback with the whole chain, reprs, args, JSON."""
    yield "".join(traceback.format_exception(exc))
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield repr(current)
        yield repr(current.args)
        if isinstance(current, CrosspostError):
            yield repr(current.to_dict())
        current = current.__cause__ or current.__context__


def masked(text: str, secret: str) -> str:
    """The text around the first occurrence of ``secret``, with the secret itself masked."""
    at = text.index(secret)
    return text[max(0, at - 80):at + len(secret) + 40].replace(secret, "<SECRET>")
