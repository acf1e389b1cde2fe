"""The hook implementations crosspost calls; the entry point ``example`` names this module.

A plugin is any module or object with ``@hookimpl`` functions named after the hooks in
``crosspost.core.hookspecs``. A misspelled name is an error when crosspost starts, not silence.
Keep this module light: every ``crosspost`` command (``--help`` included) imports it, so the
platform (and aiohttp with it) is imported inside the hook.
"""

from __future__ import annotations

from crosspost.core import hookimpl
from crosspost.core.platform import RegisterPlatform


@hookimpl
def register_platforms(register: RegisterPlatform) -> None:
    """Contribute the Example platform (one instance serves every job)."""
    from crosspost_example.platform import ExamplePlatform

    register(ExamplePlatform())
