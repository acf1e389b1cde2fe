"""A post's one status from its targets': ``partial`` when some were delivered and others failed."""

from __future__ import annotations

import pytest

from crosspost.core.engine.jobs import aggregate_status
from crosspost.core.models import JobStatus as S


@pytest.mark.parametrize(("targets", "expected"), [
    ((S.PUBLISHED, S.FAILED), S.PARTIAL),
    ((S.INBOX, S.FAILED), S.PARTIAL),
    ((S.PUBLISHED, S.FAILED, S.UNCERTAIN), S.PARTIAL),
    ((S.FAILED, S.FAILED), S.FAILED),
    ((S.FAILED, S.CANCELLED), S.FAILED),
    ((S.PUBLISHED, S.UNCERTAIN), S.UNCERTAIN),
    ((S.PUBLISHED, S.PUBLISHED), S.PUBLISHED),
    ((S.PUBLISHED, S.QUEUED), S.QUEUED),
    ((S.FAILED, S.UPLOADING), S.UPLOADING),
])
def test_post_status_from_target_statuses(targets: tuple[S, ...], expected: S) -> None:
    assert aggregate_status(targets) is expected


def test_partial_is_never_a_jobs_state() -> None:
    assert not S.PARTIAL.terminal
    assert not S.PARTIAL.running
