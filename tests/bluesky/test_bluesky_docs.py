"""docs/bluesky.md stays in step with what the plugin declares."""

from __future__ import annotations

from pathlib import Path

from crosspost.plugins.bluesky.platform import BlueskyPlatform

DOC = (Path(__file__).resolve().parents[2] / "docs" / "bluesky.md").read_text()


def test_every_option_setting_and_account_flag_is_documented() -> None:
    platform = BlueskyPlatform()
    missing = [f"option {o.name}" for o in platform.options if f"| `{o.name}` |" not in DOC]
    missing += [f"setting {s.env_name('bluesky')}" for s in platform.settings
                if f"| `{s.env_name('bluesky')}` | `{s.default}` | {s.help} |" not in DOC]
    missing += [f"account flag {f.flag}" for f in platform.account_fields if f"| `{f.flag}` |" not in DOC]
    missing += [f"help of option {o.name}" for o in platform.options if o.help not in DOC]
    assert not missing, f"docs/bluesky.md lacks: {missing}"


def test_every_self_label_is_documented() -> None:
    from crosspost.plugins.bluesky.records import SELF_LABEL_VALUES

    assert all(f"`{v}`" in DOC for v in SELF_LABEL_VALUES)
