"""The hook implementations crosspost calls; the entry point ``example`` names this module.

A plugin is any module or object with ``@hookimpl`` functions named after the hooks in
``crosspost.core.hookspecs``. A misspelled name is an error when crosspost starts, not silence.
"""

from __future__ import annotations

from crosspost.core import hookimpl
from crosspost.core.platform import RegisterPlatform

from crosspost_example.platform import ExamplePlatform


@hookimpl
def register_platforms(register: RegisterPlatform) -> None:
    """Contribute the Example platform (one instance serves every job)."""
    register(ExamplePlatform())
