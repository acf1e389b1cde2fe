"""``crosspost demo`` as a newcomer runs it: no configuration, no terminal, exit 0."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.cli.cli_support import CROSSPOST


def clean_env(tmp: str) -> dict[str, str]:
    """The user's environment without any crosspost setting, and a home that holds nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}
    return {**env, "HOME": tmp, "XDG_DATA_HOME": tmp, "PYTHONUNBUFFERED": "1"}


@pytest.mark.slow
def test_demo_publishes_every_kind_of_post_and_exits_0(tmp_path: os.PathLike[str]) -> None:
    done = subprocess.run([*CROSSPOST, "demo"], env=clean_env(str(tmp_path)), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Account info (tiktok asks apps to show this before posting)" in out
    assert "Music Usage Confirmation" in out
    assert "(chunk 7/7 sent)" in out
    assert "SHA-256 matches the file" in out
    assert "https://www.tiktok.com/@crosspost.demo/video/" in out
    assert "https://www.tiktok.com/@crosspost.demo/photo/" in out
    assert ": inbox" in out
    assert "a worker publishes it when due" in out
    assert "Cross-post: ONE post to tiktok:demo, mastodon:demo, bluesky:demo, each with its own text" in out
    for target, text in (("tiktok:demo", "TikTok's own title"), ("mastodon:demo", "the Mastodon status"),
                         ("bluesky:demo", "the Bluesky post")):
        sent = [line for line in out.splitlines() if line.strip().startswith(f"{target} was sent: ")]
        assert len(sent) == 1, sent
        assert text in sent[0], sent
    assert "What next" in out
    assert "Traceback" not in done.stderr
    assert os.listdir(tmp_path) == []  # nothing left behind in the user's home


@pytest.mark.slow
def test_demo_json_is_one_object_listing_every_post(tmp_path: os.PathLike[str]) -> None:
    done = subprocess.run([*CROSSPOST, "demo", "--json"], env=clean_env(str(tmp_path)), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    by_platform: dict[str, list[str]] = {}
    *own, shared = summary["posts"]
    assert shared["step"].startswith("Cross-post: ONE post to ")
    assert shared["status"] == "published"
    assert {t["target"]: t["status"] for t in shared["targets"]} == {
        f"{name}:demo": "published" for name in ("tiktok", "mastodon", "bluesky")}
    assert all(t["post_url"] and not t["warnings"] for t in shared["targets"]), shared["targets"]
    for post in own:
        assert len(post["targets"]) == 1, post
        target = post["targets"][0]
        by_platform.setdefault(target["target"].split(":")[0], []).append(target["status"])
    assert by_platform["tiktok"] == ["published", "published", "inbox", "published"]
    # every bundled platform's emulator shows its own posts beside TikTok's
    assert by_platform["bluesky"] == ["published"] * 4
    assert by_platform["mastodon"] == ["published", "published"]
