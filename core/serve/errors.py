"""Errors the API answers with, before each dialect renders them in its own shape.

Handlers raise :class:`ApiError` (or let crosspost's own errors out: :func:`from_exception`
maps them), and the dialect's ``render_error`` writes the body: Zernio ``{error, code?, ...}``,
RelayAPI ``{error: {code, message, details}}``, PostPost ``{success: false, error}`` and so on.
Codes are RelayAPI's vocabulary, the richest of the five.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crosspost.core.errors import AuthError, ConfigError, CrosspostError, InvalidPost, Problem


@attrs.frozen(kw_only=True)
class ApiError(Exception):
    """One failed request: HTTP status, a stable code, a message, and the fields at fault."""

    status: int
    code: str
    message: str
    problems: Sequence[Problem] = ()
    headers: Mapping[str, str] = attrs.field(factory=dict)
    details: Mapping[str, Any] = attrs.field(factory=dict)

    def __str__(self) -> str:
        return self.message

    @property
    def field(self) -> str | None:
        return self.problems[0].field if self.problems else None


def invalid(problems: Sequence[Problem], *, status: int = 400) -> ApiError:
    """A request whose fields are wrong; the message names every field and what is accepted."""
    text = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
    return ApiError(status=status, code="VALIDATION_ERROR", message=text or "the request is not valid",
                    problems=tuple(problems))


def not_found(what: str) -> ApiError:
    return ApiError(status=404, code="NOT_FOUND", message=f"{what} not found")


def conflict(message: str, code: str = "CONFLICT", **headers: str) -> ApiError:
    return ApiError(status=409, code=code, message=message, headers=headers)


def from_exception(exc: Exception) -> ApiError:
    """crosspost's errors as API errors (anything else is a 500 that says nothing secret)."""
    from crosspost.core.engine.jobs import PostNotFound, PostStateError

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidPost):
        return invalid(exc.problems, status=422)
    if isinstance(exc, PostNotFound):
        return not_found("post")
    if isinstance(exc, PostStateError):
        return conflict(str(exc))
    if isinstance(exc, AuthError):
        return ApiError(status=400, code="AUTH_FAILED", message=str(exc))
    if isinstance(exc, ConfigError):
        return ApiError(status=422, code="UNSUPPORTED_FEATURE", message=str(exc))
    if isinstance(exc, CrosspostError):
        status = {"not_found": 404, "conflict": 409}.get(exc.code, 502)
        return ApiError(status=status, code=exc.code.upper(), message=str(exc))
    return ApiError(status=500, code="INTERNAL_ERROR", message="internal error; the server log has the details")
