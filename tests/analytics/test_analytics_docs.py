"""docs/analytics.md lists every metric the TikTok plugin declares (the docs cannot drift)."""

from __future__ import annotations

from pathlib import Path

from crosspost.core.metrics import SNAPSHOT_AFTER
from crosspost.core.metrics_report import step_label
from crosspost.plugins.tiktok import analytics

DOC = (Path(__file__).resolve().parents[2] / "docs" / "analytics.md").read_text(encoding="utf-8")


def test_every_tiktok_metric_and_its_field_is_documented() -> None:
    for name, wire in (("views", "view_count"), ("likes", "like_count"), ("comments", "comment_count"),
                       ("shares", "share_count")):
        assert f"| `{name}` | `{wire}` |" in DOC
    assert {m.name for m in analytics.METRICS} == {"views", "likes", "comments", "shares"}
    for spec in analytics.ACCOUNT_METRICS:
        assert f"`{spec.name}`" in DOC


def test_the_documented_schedule_is_the_one_the_engine_uses() -> None:
    assert [step_label(i) for i in range(len(SNAPSHOT_AFTER))] == ["1h", "6h", "24h", "3d", "7d", "30d"]
    assert "**1 h, 6 h,\n24 h, 3 days, 7 days and 30 days**" in DOC
