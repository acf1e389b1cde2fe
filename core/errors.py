"""Typed errors shared by core, storage and every platform plugin.

Every error a user can meet says *what* failed, *which field* (when there is one), *what would
be accepted* and *what to do*, and never carries a secret. The engine decides what to do with a
failure from the type alone: ``retryable`` errors are tried again with backoff, the rest end the
job with their message. Plugins raise these (or subclasses) instead of library exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with a post, located by its JSON path (``media[1].type``)."""

    field: str
    """JSON path of the offending value, e.g. ``target_options.tiktok.privacy_level``."""
    message: str
    """What is wrong and what would be accepted."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def one_per_field(general: Iterable[Problem], specific: Iterable[Problem]) -> list[Problem]:
    """The problems of two checks of one post, one check's answer per field.

    ``general`` comes first (a declaration's type and name checks, hooks); a field that
    ``specific`` also reports (a platform's check against live account settings) gets the
    specific problems instead, in the general one's place: they say what *this* account accepts,
    where the general check can only list every value the declaration allows. The remaining
    specific problems follow in their order.
    """
    pending: dict[str, list[Problem]] = {}
    for problem in specific:
        pending.setdefault(problem.field, []).append(problem)
    claimed = set(pending)
    merged: list[Problem] = []
    for problem in general:
        if problem.field in claimed:
            merged.extend(pending.pop(problem.field, ()))
        else:
            merged.append(problem)
    for problems in pending.values():
        merged.extend(problems)
    return merged


class CrosspostError(Exception):
    """Base of every error crosspost raises on purpose."""

    code: str = "error"

    def to_dict(self) -> dict[str, object]:
        """JSON form used by ``--json`` output and stored job results."""
        return {"code": self.code, "message": str(self)}


class InvalidPost(CrosspostError):
    """The post cannot be published as given. Raised before any byte is uploaded.

    Carries *every* problem found, never just the first, so a user fixes them in one go.
    """

    code = "invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid post")

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": str(self),
            "problems": [{"field": p.field, "message": p.message} for p in self.problems],
        }


class ConfigError(CrosspostError):
    """Crosspost itself is misconfigured (missing setting, unknown account, bad key)."""

    code = "config"


class PluginError(CrosspostError):
    """A plugin misbehaved (raised, registered a duplicate name, misspelled a hook)."""

    code = "plugin"

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class PlatformError(CrosspostError):
    """A platform refused or failed a request.

    ``code`` is the platform's own error code (e.g. TikTok's ``privacy_level_option_mismatch``),
    ``retryable`` says whether trying the same request again can succeed, and ``hint`` tells the
    user what to do. Subclasses fix ``retryable`` for whole families of failures.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str = "platform_error",
        hint: str = "",
        field: str | None = None,
        retryable: bool | None = None,
        platform: str = "",
        log_id: str | None = None,
    ) -> None:
        self.code = code
        self.hint = hint
        self.field = field
        self.platform = platform
        self.log_id = log_id
        if retryable is not None:
            self.retryable = retryable
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} {self.hint}".strip() if self.hint else text

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"code": self.code, "message": str(self)}
        if self.field:
            data["field"] = self.field
        data["retryable"] = self.retryable
        if self.log_id:
            data["log_id"] = self.log_id
        return data


class TransientError(PlatformError):
    """Worth retrying: 5xx, dropped connections, timeouts, a platform that is briefly down."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class RateLimited(TransientError):
    """The platform said *too many requests*; retry after its window, not in a tight loop."""


class StillProcessing(TransientError):
    """The platform holds the post and is still working on it: look again after ``retry_after``.

    Not a failed attempt: the engine hands the job back without spending one of its retries (a
    long moderation must not run out the budget meant for errors and end a live post
    ``failed``). The platform bounds the wait itself (TikTok: its 24 h window, then
    :class:`UncertainOutcome`).
    """


class PermanentError(PlatformError):
    """Retrying the same request cannot help: the post or the account must change first."""

    retryable = False


class AuthError(PermanentError):
    """The account's credentials are invalid, expired beyond refresh, or lack a scope.

    ``needs_login`` marks the account so its jobs wait instead of failing one by one.
    """

    def __init__(self, message: str, *, needs_login: bool = False, **kw: object) -> None:
        self.needs_login = needs_login
        super().__init__(message, **kw)  # type: ignore[arg-type]


class DailyCapReached(PlatformError):
    """The account hit the platform's rolling posting cap; the job waits until ``not_before``."""

    retryable = False

    def __init__(self, message: str, *, not_before: datetime | None = None, **kw: object) -> None:
        self.not_before = not_before
        super().__init__(message, **kw)  # type: ignore[arg-type]


class UncertainOutcome(PlatformError):
    """A request that may have started a post got no answer; retrying could post twice.

    The job is parked for reconciliation instead of retried, and the message says how to check.
    """

    retryable = False
    code = "uncertain"


class Cancelled(CrosspostError):
    """The job was cancelled by the user while it ran."""

    code = "cancelled"
