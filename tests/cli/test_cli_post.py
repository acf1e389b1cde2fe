"""``crosspost post`` against the emulator: publishing, exit codes, the JSON contract, dry runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from tests.cli.cli_support import ASSETS, ThreadedEmulator, invoke, video_post

CONTRACT_KEYS = {"id", "status", "targets"}
TARGET_KEYS = {"target", "status", "publish_id", "post_url", "warnings", "error"}
INIT_ROUTES = {"video_init", "inbox_init", "content_init", "upload_put"}


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_post_publishes_and_json_output_matches_the_contract(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    result = invoke(tiktok, "post", str(write(tmp_path / "post.json", video_post())), "--json")
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)  # stdout holds the one JSON object and nothing else
    assert set(output) == CONTRACT_KEYS
    assert output["status"] == "published"
    (target,) = output["targets"]
    assert set(target) == TARGET_KEYS
    assert target["target"] == "tiktok:main"
    assert target["status"] == "published"
    assert target["error"] is None
    assert target["publish_id"] == emulator.state.published[0].publish_id


def test_failed_target_exits_1_with_the_platforms_reason(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    emulator.state.fail_next_publish("frame_rate_check_failed")
    result = invoke(tiktok, "post", str(write(tmp_path / "post.json", video_post())), "--json")
    assert result.exit_code == 1
    (target,) = json.loads(result.stdout)["targets"]
    assert target["status"] == "failed"
    assert target["error"]["code"] == "frame_rate_check_failed"
    assert target["error"]["message"]
    status = invoke(tiktok, "status", json.loads(result.stdout)["id"])
    assert status.exit_code == 1  # status exits like post: a failed target is 1


def test_failed_target_paragraph_shows_code_and_message(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    emulator.state.fail_next_publish("frame_rate_check_failed")
    result = invoke(tiktok, "post", str(write(tmp_path / "post.json", video_post())))
    assert result.exit_code == 1
    assert "failed" in result.stdout
    assert "frame_rate_check_failed:" in result.stdout


def test_privacy_not_offered_exits_2_listing_the_creators_options(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    request = write(tmp_path / "post.json", video_post(privacy_level="FOLLOWER_OF_CREATOR"))
    result = invoke(tiktok, "post", str(request), "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert set(error) == {"code", "problems"}
    assert error["code"] == "invalid"
    fields = {p["field"]: p["message"] for p in error["problems"]}
    assert "PUBLIC_TO_EVERYONE" in fields["target_options.tiktok.privacy_level"]
    assert not INIT_ROUTES & set(emulator.routes())  # nothing was uploaded


def test_shorthand_flags_publish_and_name_flags_in_problems(
        tiktok: CliRunner, emulator: ThreadedEmulator) -> None:
    video = str(ASSETS / "sample.mp4")
    missing = invoke(tiktok, "post", "--to", "tiktok:main", "--video", video, "--privacy", "SELF_ONLY")
    assert missing.exit_code == 2
    assert "(flag --allow-comment/--no-allow-comment)" in missing.stderr
    result = invoke(tiktok, "post", "--to", "tiktok:main", "--video", video, "--caption", "flags #cli",
                    "--privacy", "SELF_ONLY", "--no-allow-comment", "--no-allow-duet", "--allow-stitch",
                    "--ai-generated", "--cover-ms", "500", "--json")
    assert result.exit_code == 0, result.output
    body = emulator.state.published[0].request_body
    assert body["post_info"]["title"] == "flags #cli"
    assert body["post_info"]["disable_comment"] is True
    assert body["post_info"]["disable_stitch"] is False
    assert body["post_info"]["is_aigc"] is True
    assert body["post_info"]["video_cover_timestamp_ms"] == 500


def test_draft_flag_sends_to_the_inbox(tiktok: CliRunner, emulator: ThreadedEmulator) -> None:
    result = invoke(tiktok, "post", "--to", "tiktok:main", "--video", str(ASSETS / "sample.mp4"), "--draft",
                    "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["targets"][0]["status"] == "inbox"
    assert "inbox_init" in emulator.routes()


def test_photos_from_urls_with_image_flags(tiktok: CliRunner, emulator: ThreadedEmulator) -> None:
    result = invoke(tiktok, "post", "--to", "tiktok:main", "--image", "https://example.com/a.jpg",
                    "--image", "https://example.com/b.jpg", "--privacy", "SELF_ONLY", "--no-allow-comment",
                    "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    (target,) = json.loads(result.stdout)["targets"]
    init = next(r for r in target["requests"] if r["url"].endswith("/content/init/"))
    images = init["body"]["source_info"]["photo_images"]  # unverified URLs are fetched and re-hosted
    assert [("example.com/a.jpg" in url, "example.com/b.jpg" in url) for url in images] == [
        (True, False), (False, True)]


def test_dry_run_sends_no_init_and_prints_the_chunk_plan(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    from crosspost.testing.media import make_video

    video = make_video(tmp_path / "big.mp4", pad_to=70_000_123)
    result = invoke(tiktok, "post", "--to", "tiktok:main", "--video", str(video), "--privacy", "SELF_ONLY",
                    "--no-allow-comment", "--no-allow-duet", "--no-allow-stitch", "--dry-run")
    assert result.exit_code == 0, result.output
    assert '"total_chunk_count": 7' in result.stdout
    assert "bytes 60000000-70000122/70000123" in result.stdout
    assert not INIT_ROUTES & set(emulator.routes())
    assert emulator.state.published == []


def test_dry_run_json_is_one_object(tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    result = invoke(tiktok, "post", str(write(tmp_path / "post.json", video_post())), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["dry_run"] is True
    methods = [r["method"] for r in plan["targets"][0]["requests"]]
    assert "PUT" in methods
    assert not INIT_ROUTES & set(emulator.routes())


def test_relative_media_paths_resolve_against_the_request_folder(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    folder = tmp_path / "requests"
    folder.mkdir()
    shutil.copy(ASSETS / "sample.mp4", folder / "clip.mp4")
    data = video_post()
    data["media"] = [{"type": "video", "path": "clip.mp4"}]
    result = invoke(tiktok, "post", str(write(folder / "post.json", data)), "--json")
    assert result.exit_code == 0, result.output
    assert emulator.state.published[0].transferred_bytes == (ASSETS / "sample.mp4").stat().st_size


def test_request_from_stdin(tiktok: CliRunner) -> None:
    result = invoke(tiktok, "post", "-", "--json", input=json.dumps(video_post()))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "published"


def test_hosted_service_payload_is_imported(tiktok: CliRunner, tmp_path: Path) -> None:
    payload = {"content": "from another service #crosspost",
               "mediaItems": [{"type": "video", "url": "https://cdn.example.com/v.mp4"}],
               "platforms": [{"platform": "tiktok", "accountId": "acc_1"}],
               "tiktokSettings": {"privacy_level": "SELF_ONLY", "allow_comment": False, "allow_duet": False,
                                  "allow_stitch": False},
               "publishNow": True}
    result = invoke(tiktok, "post", str(write(tmp_path / "zernio.json", payload)), "--dry-run", "--json")
    # The importer read the shape: any problem now is about TikTok's rules, not unknown keys.
    output = json.loads(result.stdout)
    problems = output.get("error", {}).get("problems", [])
    assert not [p for p in problems if "unknown key" in p["message"]], problems
    human = invoke(tiktok, "post", str(tmp_path / "zernio.json"), "--dry-run")
    assert "note: read as a Zernio/SocialSyncerAPI request" in human.stdout


def test_no_wait_stores_the_post_and_the_worker_publishes_it(
        tiktok: CliRunner, tmp_path: Path, emulator: ThreadedEmulator) -> None:
    stored = invoke(tiktok, "post", str(write(tmp_path / "post.json", video_post())), "--no-wait", "--json")
    assert stored.exit_code == 0, stored.output
    post = json.loads(stored.stdout)
    assert post["status"] == "queued"
    assert emulator.state.published == []
    worker = invoke(tiktok, "worker", "--until-idle")
    assert worker.exit_code == 0, worker.output
    status = invoke(tiktok, "status", post["id"], "--json")
    assert json.loads(status.stdout)["status"] == "published"
    assert len(emulator.state.published) == 1


def test_brand_flag_keeps_its_spelling_and_combines_values(tiktok: CliRunner, emulator: ThreadedEmulator) -> None:
    result = invoke(tiktok, "post", "--to", "tiktok:main", "--video", str(ASSETS / "sample.mp4"), "--privacy",
                    "PUBLIC_TO_EVERYONE", "--allow-comment", "--no-allow-duet", "--no-allow-stitch",
                    "--brand", "organic", "--brand", "content", "--json")
    assert result.exit_code == 0, result.output
    info = emulator.state.published[0].request_body["post_info"]
    assert (info["brand_organic_toggle"], info["brand_content_toggle"]) == (True, True)


def test_the_announcement_comes_from_the_platform_and_only_after_validation(tiktok: CliRunner) -> None:
    video = str(ASSETS / "sample.mp4")
    invalid = invoke(tiktok, "post", "--to", "tiktok:main", "--video", video, "--privacy", "NOBODY")
    assert invalid.exit_code == 2
    assert "Publishing to" not in invalid.stdout
    assert "posts as" not in invalid.stdout
    valid = invoke(tiktok, "post", "--to", "tiktok:main", "--video", video, "--privacy", "SELF_ONLY",
                   "--allow-comment", "--no-allow-duet", "--no-allow-stitch")
    assert valid.exit_code == 0, valid.output
    lines = valid.stdout.splitlines()
    assert lines.index("tiktok:main posts as CLI Tester (@cli.tester)") < lines.index("Publishing to tiktok:main...")
    assert "By posting, you agree to TikTok's Music Usage Confirmation." in lines


def test_a_missing_request_file_is_invalid_input_not_a_crash(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "post", str(tmp_path / "nowhere.json"))
    assert result.exit_code == 2
    assert "no request file" in result.stderr
    assert "please report" not in result.stderr


def test_caption_help_is_right_for_photos(runner: CliRunner) -> None:
    shown = " ".join(invoke(runner, "post", "--help").stdout.split())
    assert "--caption TEXT The post's text: a video's caption, a photo post's description" in shown
