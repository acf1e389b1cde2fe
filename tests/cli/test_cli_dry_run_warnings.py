"""``crosspost post --dry-run`` shows every warning the real run gives; past times are refused in both."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.cli.cli_support import ThreadedEmulator, invoke, video_post

DRAFT_WITH_EXTRAS = video_post(draft=True, title="ignored for videos", video_made_with_ai=True)
"""A video draft: its caption is not sent, and the title and AI label do not apply."""


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_dry_run_json_lists_the_warnings_the_real_run_stores(tiktok: CliRunner, tmp_path: Path,
                                                            emulator: ThreadedEmulator) -> None:
    request = str(write(tmp_path / "draft.json", DRAFT_WITH_EXTRAS))

    dry = invoke(tiktok, "post", request, "--dry-run", "--json")
    real = invoke(tiktok, "post", request, "--json")

    assert dry.exit_code == 0, dry.output
    assert real.exit_code == 0, real.output
    [planned] = json.loads(dry.stdout)["targets"]
    [published] = json.loads(real.stdout)["targets"]
    assert published["warnings"], "the real run warns about the dropped caption and ignored options"
    assert set(published["warnings"]) <= set(planned["warnings"])


def test_dry_run_text_prints_each_warning(tiktok: CliRunner, tmp_path: Path) -> None:
    result = invoke(tiktok, "post", str(write(tmp_path / "draft.json", DRAFT_WITH_EXTRAS)), "--dry-run")

    assert result.exit_code == 0, result.output
    assert "warning: content is not sent with a video draft" in result.stdout
    assert "warning: target_options.tiktok.title is ignored" in result.stdout


def test_a_past_time_is_refused_by_the_run_and_by_the_dry_run(tiktok: CliRunner, tmp_path: Path,
                                                              emulator: ThreadedEmulator) -> None:
    request = str(write(tmp_path / "late.json", {**video_post(), "scheduled_at": "2020-01-01T00:00:00Z"}))

    for extra in ((), ("--dry-run",)):
        result = invoke(tiktok, "post", request, *extra)
        assert result.exit_code == 2, result.output
        assert "scheduled_at" in result.output
        assert "in the past" in result.output
    assert emulator.state.published == []


def test_allow_past_publishes_at_once_and_the_dry_run_says_so(tiktok: CliRunner, tmp_path: Path) -> None:
    request = str(write(tmp_path / "late.json", {**video_post(), "scheduled_at": "2020-01-01T00:00:00Z"}))

    dry = invoke(tiktok, "post", request, "--dry-run", "--allow-past")
    real = invoke(tiktok, "post", request, "--allow-past", "--json")

    assert dry.exit_code == 0, dry.output
    assert "in the past; publishing at once" in dry.stdout
    assert real.exit_code == 0, real.output
    assert json.loads(real.stdout)["targets"][0]["status"] == "published"


def test_a_post_due_in_30_seconds_returns_scheduled_at_once(tiktok: CliRunner, tmp_path: Path,
                                                            emulator: ThreadedEmulator) -> None:
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    result = invoke(tiktok, "post", str(write(tmp_path / "soon.json", {**video_post(), "scheduled_at": soon})),
                    "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["targets"][0]["status"] == "scheduled"
    assert emulator.state.published == []


def test_an_unknown_option_and_a_privacy_typo_are_both_reported_with_suggestions(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    request = {**video_post(), "target_options": {"tiktok": {"privacy_level": "public", "alow_comment": True,
                                                             "allow_duet": False, "allow_stitch": False}}}

    result = invoke(tiktok, "post", str(write(tmp_path / "typos.json", request)), "--json")

    assert result.exit_code == 2, result.output
    problems = json.loads(result.stdout)["error"]["problems"]
    by_field = {p["field"]: p["message"] for p in problems}
    assert len(by_field) == len(problems), "one problem per field"
    assert "did you mean 'allow_comment'?" in by_field["target_options.tiktok.alow_comment"]
    assert by_field["target_options.tiktok.privacy_level"] == (
        "'public' is not a TikTok privacy level; did you mean 'PUBLIC_TO_EVERYONE'? Choose one of this creator's "
        "options: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY")
    assert emulator.state.published == []
