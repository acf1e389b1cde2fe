"""``crosspost emulator [PLATFORM]``: a platform's bundled emulator on a loopback port.

Any platform whose ``emulator()`` returns one can be started here; without PLATFORM the first
platform offering an emulator is started (and the output says which, and which others exist).
A platform may add its own command with more options (``crosspost <platform> emulator``) and
reuse :func:`serve_emulator`.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import click

from crosspost.core.cli.context import global_options, run, state, stop_on_signals
from crosspost.core.errors import CrosspostError
from crosspost.core.options import did_you_mean

if TYPE_CHECKING:
    from crosspost.core.cli.output import Output
    from crosspost.core.emulators import Emulator, RunningEmulator
    from crosspost.core.plugins import Hooks


class PortBusy(CrosspostError):
    """A server could not listen on the port asked for."""

    code = "port_busy"


def port_busy(what: str, host: str, port: int, exc: OSError) -> PortBusy:
    return PortBusy(f"cannot start {what} on {host}:{port} ({exc.strerror or exc}): another program uses the "
                    "port. Pick another with --port, or --port 0 for a free one (the chosen port is printed).")


def loopback_host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Click callback: an emulator hands out tokens to anyone who asks, so loopback only."""
    try:
        loopback = ipaddress.ip_address(value).is_loopback
    except ValueError:
        loopback = value == "localhost"
    if not loopback:
        raise click.BadParameter("the emulator hands out tokens to anyone who asks: keep it on loopback "
                                 "(127.0.0.1, ::1 or localhost)")
    return value


def emulator_platforms(hooks: Hooks) -> dict[str, Emulator]:
    """Every loaded platform's emulator, by platform name, in registration order."""
    found: dict[str, Emulator] = {}
    for name, platform in hooks.platforms().items():
        emulator = platform.emulator()
        if emulator is not None:
            found[name] = emulator
    return found


def account_command(platform: str, running: RunningEmulator) -> str:
    """The ``crosspost accounts add`` line that connects the emulator's demo account."""
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in running.account.items())
    return f"crosspost accounts add {platform} demo {flags}".rstrip()


def show_running(out: Output, platform: str, running: RunningEmulator) -> None:
    if out.json:
        out.data({"platform": platform, "url": running.url, "env": dict(running.env),
                  "account": dict(running.account), "admin_url": running.admin_url})
        return
    out.result(f"{platform} emulator listening on {running.url} (Ctrl-C stops it)\n")
    out.result("Point crosspost (or any client) at it:")
    for name, value in running.env.items():
        out.result(f"  export {name}={value}")
    out.result("\nA demo account is ready; add it with:")
    out.result(f"  {account_command(platform, running)}")
    out.result(f"Then: crosspost accounts info {platform}:demo, and crosspost post --to {platform}:demo ...")
    out.result("\nThese are the emulator's credentials, not the platform's."
               + (f" Admin API: {running.admin_url}" if running.admin_url else ""))


async def serve_emulator(platform: str, emulator: Emulator, *, host: str, port: int) -> None:
    """Run ``emulator`` until SIGINT/SIGTERM, printing how to use it; a busy port is a message."""
    out = state().output
    with stop_on_signals() as stop:
        try:
            running = await emulator.start(host=host, port=port)
        except OSError as exc:
            raise port_busy(f"the {platform} emulator", host, port, exc) from None
        try:
            show_running(out, platform, running)
            await stop.wait()
        finally:
            await running.stop()
    out.step("Emulator stopped.")


def pick(emulators: dict[str, Emulator], platform: str | None) -> tuple[str, Emulator, str]:
    """(platform, emulator, a note for the user) for ``crosspost emulator [PLATFORM]``."""
    if not emulators:
        raise CrosspostError("no loaded platform bundles an emulator")
    if platform is None:
        name = next(iter(emulators))
        others = [n for n in emulators if n != name]
        note = f"starting {name}'s emulator; others: {', '.join(others)} (name one)" if others else ""
        return name, emulators[name], note
    if platform not in emulators:
        raise click.BadParameter(f"{platform!r} has no emulator;{did_you_mean(platform, emulators)} "
                                 f"platforms with one: {', '.join(emulators)}", param_hint="PLATFORM")
    return platform, emulators[platform], ""


@click.command()
@click.argument("platform", required=False, metavar="[PLATFORM]")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (0 picks a free one, printed on start).")
@click.option("--host", default="127.0.0.1", show_default=True, callback=loopback_host,
              help="Loopback address to listen on.")
@global_options()
def emulator(platform: str | None, port: int, host: str) -> None:
    """Run a platform's bundled emulator: its API, strict, on your machine.

    Prints the environment variables that point crosspost (or any client) at it and the command
    that adds its ready demo account. Without PLATFORM, the first platform bundling an emulator
    is started. Nothing leaves loopback.
    """
    name, chosen, note = pick(emulator_platforms(state().hooks()), platform)
    if note:
        state().output.step(note)
    run(lambda: serve_emulator(name, chosen, host=host, port=port))


COMMANDS = [emulator]
