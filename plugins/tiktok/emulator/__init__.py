"""A TikTok open API emulator that is as strict as TikTok, served over real loopback HTTP.

Tests, ``crosspost demo``, benchmarks and users' own suites run against it instead of
open.tiktokapis.com. It answers TikTok's exact paths with TikTok's envelopes, statuses and
error codes (``/work/shared/tiktok-api.md``), enforces the rules clients most often get wrong
(the floor chunk plan, privacy options, unaudited-client refusals, per-token sliding rate
windows, daily and pending-share caps, hex PKCE), and records what it saw so tests can assert
on behaviour rather than on mocks: ``state.published`` (with the SHA-256 of the bytes that
arrived), ``state.requests`` (token fingerprints, never tokens) and ``state.events``.

Typical use::

    state = EmulatorState(clock=fake_clock.timestamp)
    creator = state.add_creator(private=True)
    async with EmulatorServer(state) as server:
        ...  # point the client at server.base_url, authenticate with creator.access_token
        state.faults.add(route="upload_put", kind="status", status=503, times=1)
"""

from __future__ import annotations

from .app import make_app
from .chunks import chunk_plan_problem
from .faults import FaultRule, Faults
from .identifiers import token_fingerprint
from .records import Creator, MediaItem, PublishRecord, RequestRecord, WebhookDelivery
from .server import EmulatorServer
from .state import EmulatorState
from .webhooks import sign_webhook

__all__ = [
    "Creator",
    "EmulatorServer",
    "EmulatorState",
    "FaultRule",
    "Faults",
    "MediaItem",
    "PublishRecord",
    "RequestRecord",
    "WebhookDelivery",
    "chunk_plan_problem",
    "make_app",
    "sign_webhook",
    "token_fingerprint",
]
