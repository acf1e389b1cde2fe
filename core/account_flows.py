"""How a platform connects an account, declared as data the CLI, the REST API and the Hub read.

A platform declares the fields each way of connecting needs (an imported token, an app
password, an instance URL) and implements the steps on its :class:`~crosspost.core.platform.Platform`
(``connect_account``, ``start_login``/``finish_login``, ``account_info``, ``revoke_account``).
Core turns the fields into ``crosspost accounts add|login PLATFORM NAME --flag …`` options and REST
bodies, and the Hub (``connect_account``, ``start_login``, ``finish_login``, ``account_info``,
``remove_account``) stores the result encrypted. Core never knows which platform asked.

Pure data: no I/O here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    import aiohttp

    from crosspost.core.clock import Clock
    from crosspost.core.platform import RateGate
    from crosspost.core.settings import Settings


@attrs.frozen(kw_only=True)
class AccountField:
    """One value the user gives to connect an account (``--access-token``, ``--instance``)."""

    name: str
    """Python/JSON name (``access_token``); the CLI flag is ``--access-token``."""
    help: str
    secret: bool = False
    """Prompted hidden when omitted on a terminal; never printed, logged or stored in plain."""
    required: bool = True
    default: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@attrs.frozen(kw_only=True)
class LoginStart:
    """The first half of an interactive login: send the user to ``url``.

    ``pending`` is what :meth:`Platform.finish_login` needs later (PKCE verifier, client id of a
    registered app...). It may hold secrets: core keeps it in memory only, never prints it.
    """

    url: str
    state: str
    """The OAuth ``state`` the callback must carry back (checked by core before finishing)."""
    pending: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


class ServiceContext(Protocol):
    """What a platform may use outside a job (connecting accounts, account info, webhooks)."""

    settings: Settings
    http: aiohttp.ClientSession
    clock: Clock
    rate: RateGate
    log: logging.Logger


@attrs.frozen(kw_only=True)
class AccountInfo:
    """What ``crosspost accounts info`` / ``GET …/accounts/{id}/info`` show: public facts only.

    ``facts`` is the platform's own (TikTok: the creator info it requires apps to show).
    """

    target: str
    username: str | None = None
    display_name: str | None = None
    facts: Mapping[str, Any] = attrs.field(factory=dict)
