"""docs/tiktok.md keeps up with TikTok's declarations: every option and every setting the platform
declares (the same declarations the CLI flags, validation and ``crosspost config`` read) is
named in the doc."""

from __future__ import annotations

from pathlib import Path

from crosspost.plugins.tiktok.platform import TikTokPlatform

DOC = (Path(__file__).resolve().parents[3] / "docs" / "tiktok.md").read_text()


def test_every_declared_option_is_in_the_options_doc() -> None:
    options = DOC[DOC.index("## Options (`target_options.tiktok`)"):DOC.index("## Limits checked")]
    missing = [o.name for o in TikTokPlatform.options if f"`{o.name}`" not in options]
    assert not missing, f"docs/tiktok.md's options section lacks {missing}"


def test_every_declared_setting_is_in_the_settings_table() -> None:
    settings = DOC[DOC.index("## Settings"):DOC.index("## Photo carousels")]
    missing = [s.env_name("tiktok") for s in TikTokPlatform.settings if f"`{s.env_name('tiktok')}`" not in settings]
    assert not missing, f"docs/tiktok.md's settings table lacks {missing}"
