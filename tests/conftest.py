"""Shared test configuration.

Tests never reach the internet: everything that moves bytes talks to the bundled TikTok
emulator over loopback HTTP. Wall time is never waited on: clocks and sleeps are injected.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

# Secrets must never come from the developer's own environment during tests. CROSSPOST_TEST_*
# only say where test servers are (CROSSPOST_TEST_POSTGRES, CROSSPOST_TEST_PDS): they stay.
for _name in [n for n in os.environ if n.startswith("CROSSPOST_") and not n.startswith("CROSSPOST_TEST_")]:
    del os.environ[_name]

# The CLI caches its command index (crosspost.core.cli.command_index) under $XDG_CACHE_HOME: the
# test session gets a folder of its own (child processes inherit it), never the developer's.
_CACHE_HOME = tempfile.mkdtemp(prefix="crosspost-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def _log_redaction_left_as_found() -> Iterator[None]:
    """crosspost's log redaction is process-wide (it wraps the log record factory); a test that
    installs it, e.g. through an in-process CLI run, gets it undone so later tests see logging
    as they left it."""
    factory = logging.getLogRecordFactory()
    yield
    if logging.getLogRecordFactory() is not factory:
        from crosspost.core.secrets import uninstall_log_redaction

        uninstall_log_redaction()
