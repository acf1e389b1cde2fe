"""docs/operations.md names the tests that prove its crash table: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_named_in_the_operations_guide_exists() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(test_[a-z0-9_]+)(?:\[[^\]]*\])?`", doc))
    assert len(named) >= 25
    defined = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        defined.update(re.findall(r"^(?:async )?def (test_[a-z0-9_]+)", path.read_text(encoding="utf-8"), re.M))
    assert sorted(named - defined) == []
