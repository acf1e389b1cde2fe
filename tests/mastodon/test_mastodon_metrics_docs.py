"""docs/analytics.md and docs/mastodon.md list every metric the Mastodon plugin declares (no drift)."""

from __future__ import annotations

from pathlib import Path

from crosspost.plugins.mastodon import metrics

DOCS = Path(__file__).resolve().parents[2] / "docs"
ANALYTICS = (DOCS / "analytics.md").read_text(encoding="utf-8")
GUIDE = (DOCS / "mastodon.md").read_text(encoding="utf-8")


def test_every_mastodon_metric_and_its_field_is_documented() -> None:
    documented = {"favourites": "favourites_count", "reblogs": "reblogs_count", "replies": "replies_count"}
    assert {m.name for m in metrics.METRICS} == set(documented)
    for name, wire in documented.items():
        assert f"| `{name}` | `{wire}` |" in ANALYTICS
    assert "**no `views`**" in ANALYTICS
    for spec in metrics.ACCOUNT_METRICS:
        assert f"`{spec.name}`" in ANALYTICS


def test_the_guide_points_to_the_metrics_and_documents_the_emulator_routes() -> None:
    assert "## Metrics" in GUIDE
    assert "analytics.md#mastodon" in GUIDE
    assert "`POST /_emulator/statuses/:id/counters`" in GUIDE
    assert "## Mastodon" in ANALYTICS
