"""``list``, ``status``, ``reschedule``, ``cancel`` and ``worker`` on stored posts."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from click.testing import CliRunner

from tests.cli.cli_support import CROSSPOST, ThreadedEmulator, invoke, subprocess_env, video_post

LATER = "2099-06-01T09:30:00"


def schedule(runner: CliRunner, tmp_path: Path, when: str = LATER, timezone: str = "Europe/Paris") -> str:
    request = tmp_path / "scheduled.json"
    request.write_text(json.dumps({**video_post(), "scheduled_at": when, "timezone": timezone}))
    result = invoke(runner, "post", str(request), "--json")
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["status"] == "scheduled"
    return str(output["id"])


def test_post_scheduled_later_is_stored_not_published(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    schedule(tiktok, tmp_path)
    assert emulator.state.published == []


def test_list_shows_posts_as_table_and_json(tiktok: CliRunner, tmp_path: Path) -> None:
    post_id = schedule(tiktok, tmp_path)
    table = invoke(tiktok, "list")
    assert table.exit_code == 0
    assert post_id in table.stdout
    assert "scheduled" in table.stdout
    listed = json.loads(invoke(tiktok, "list", "--json", "--status", "scheduled").stdout)["posts"]
    assert [p["id"] for p in listed] == [post_id]
    assert listed[0]["run_at"].startswith("2099-06-01T07:30:00")  # 09:30 in Paris, summer time
    assert json.loads(invoke(tiktok, "list", "--json", "--status", "published").stdout)["posts"] == []


def test_list_when_empty_says_what_to_try(runner: CliRunner) -> None:
    result = invoke(runner, "list")
    assert result.exit_code == 0
    assert "crosspost demo" in result.stdout


def test_list_with_a_status_no_post_has_does_not_say_no_posts_yet(tiktok: CliRunner, tmp_path: Path) -> None:
    schedule(tiktok, tmp_path)
    result = invoke(tiktok, "list", "--status", "failed")
    assert result.exit_code == 0
    assert "No posts yet" not in result.stdout
    assert "No post has a target failed" in result.stdout


def test_status_shows_targets_and_json(tiktok: CliRunner, tmp_path: Path) -> None:
    post_id = schedule(tiktok, tmp_path)
    human = invoke(tiktok, "status", post_id)
    assert human.exit_code == 0
    assert "tiktok:main" in human.stdout
    assert f"crosspost cancel {post_id}" in human.stdout
    data = json.loads(invoke(tiktok, "status", post_id, "--json").stdout)
    assert data["id"] == post_id
    assert data["targets"][0]["status"] == "scheduled"


def test_status_of_unknown_post_exits_2_naming_the_fix(runner: CliRunner) -> None:
    result = invoke(runner, "status", "nope")
    assert result.exit_code == 2
    assert "no post 'nope'" in result.stderr
    assert "crosspost list" in result.stderr
    as_json = invoke(runner, "--json", "status", "nope")
    assert json.loads(as_json.stdout)["error"]["code"] == "not_found"


def test_reschedule_moves_the_post(tiktok: CliRunner, tmp_path: Path) -> None:
    post_id = schedule(tiktok, tmp_path)
    result = invoke(tiktok, "reschedule", post_id, "--at", "2099-07-01T12:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_at"].startswith("2099-07-01T12:00:00")


def test_reschedule_with_a_bad_time_is_invalid_input(tiktok: CliRunner, tmp_path: Path) -> None:
    post_id = schedule(tiktok, tmp_path)
    result = invoke(tiktok, "reschedule", post_id, "--at", "soon", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["problems"][0]["field"] == "scheduled_at"


def test_cancel_then_reschedule_is_refused(tiktok: CliRunner, tmp_path: Path) -> None:
    post_id = schedule(tiktok, tmp_path)
    cancelled = invoke(tiktok, "cancel", post_id, "--json")
    assert cancelled.exit_code == 0
    assert json.loads(cancelled.stdout)["targets"][0]["status"] == "cancelled"
    again = invoke(tiktok, "reschedule", post_id, "--at", LATER)
    assert again.exit_code == 2
    assert "nothing to reschedule" in again.stderr


def test_worker_publishes_a_post_rescheduled_to_now(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    post_id = schedule(tiktok, tmp_path)
    assert invoke(tiktok, "reschedule", post_id, "--at", "now").exit_code == 0
    worker = invoke(tiktok, "worker", "--until-idle", "--concurrency", "2")
    assert worker.exit_code == 0, worker.output
    assert "Nothing left to do" in worker.stdout
    assert f"tiktok:main (post {post_id}) published" in worker.stdout  # a worker's lines say which post
    assert json.loads(invoke(tiktok, "status", post_id, "--json").stdout)["status"] == "published"
    assert len(emulator.state.published) == 1


def test_worker_stops_cleanly_on_sigterm(env: dict[str, str], tmp_path: Path) -> None:
    worker = subprocess.Popen([*CROSSPOST, "worker"], env=subprocess_env(env), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    assert "Worker running" in worker.stdout.readline()
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "Worker stopped" in out
