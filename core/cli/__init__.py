"""The ``crosspost`` command line, built on the library's :class:`~crosspost.core.hub.Hub`.

``main`` is the console script. Commands live in modules split by what they hold (``post``,
``jobs``, ``accounts``, ...); each module imports only click and light core modules at import
time, so ``crosspost --help`` stays fast and heavy dependencies load with the command that
needs them.
"""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``crosspost`` console script."""
    from crosspost.core.cli.app import cli

    cli(prog_name="crosspost")


__all__ = ["main"]
