"""docs/mastodon.md stays in step with what the plugin declares (options, settings, error codes, admin API)."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from crosspost.plugins.mastodon import errors
from crosspost.plugins.mastodon.emulator import InstanceConfig
from crosspost.plugins.mastodon.options import OPTIONS, PLATFORM, VISIBILITIES
from crosspost.plugins.mastodon.platform import MastodonPlatform

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mastodon.md").read_text()


def test_every_option_has_a_row_with_its_values() -> None:
    rows = {m.group(1) for m in re.finditer(r"^\| `(\w+)` \|", DOC, re.M)}
    assert {o.name for o in OPTIONS} | {"content", "media"} <= rows
    assert all(f"`{v}`" in DOC for v in VISIBILITIES)


def test_every_setting_is_documented_with_its_default() -> None:
    for spec in MastodonPlatform.settings:
        row = next((line for line in DOC.splitlines() if line.startswith(f"| `{spec.env_name(PLATFORM)}`")), None)
        assert row is not None, spec.env_name(PLATFORM)
        assert (spec.default or "none") in row


def test_every_error_code_is_in_the_errors_table() -> None:
    codes = {code for _, _, code, _ in errors._422_RULES}
    codes |= {"invalid_token", "forbidden", "not_found", "rate_limited", "media_processing", "unprocessable",
              "bad_response", "still_processing", "connection"}
    missing = [c for c in codes if f"`{c}`" not in DOC]
    assert not missing


def test_every_emulator_config_field_is_documented() -> None:
    for field in attrs.fields(InstanceConfig):
        assert f"`{field.name}`" in DOC, field.name
