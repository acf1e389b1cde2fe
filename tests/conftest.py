"""Shared test configuration.

Tests never reach the internet: everything that moves bytes talks to the bundled TikTok
emulator over loopback HTTP. Wall time is never waited on: clocks and sleeps are injected.
"""

from __future__ import annotations

import os

import pytest

# Secrets must never come from the developer's own environment during tests.
for _name in [n for n in os.environ if n.startswith("CROSSPOST_") and n != "CROSSPOST_TEST_POSTGRES"]:
    del os.environ[_name]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order nothing; just make the slow marker visible in -ra summaries."""
    del config, items
