"""``crosspost retry ID``: the failed targets run again; a post with nothing failed is refused."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.cli.cli_support import ThreadedEmulator, invoke, video_post


def test_retry_runs_a_failed_target_again_and_then_has_nothing_to_retry(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    emulator.state.faults.add(route="video_init", kind="status", status=400, code="invalid_params", times=1)
    request = tmp_path / "post.json"
    request.write_text(json.dumps(video_post()))
    failed = invoke(tiktok, "post", str(request), "--json")
    assert failed.exit_code == 1, failed.output
    post_id = json.loads(failed.stdout)["id"]
    assert json.loads(failed.stdout)["targets"][0]["status"] == "failed"

    retried = invoke(tiktok, "retry", post_id, "--json")
    assert retried.exit_code == 0, retried.output
    data = json.loads(retried.stdout)
    assert data["status"] == "published"
    assert len(emulator.state.published) == 1

    again = invoke(tiktok, "retry", post_id)
    assert again.exit_code != 0
    assert "nothing to retry" in again.output
