"""Scriptable failures, so clients can be tested against the errors TikTok produces in the wild.

A rule names a route (see :data:`ROUTES`), a kind and how often it fires:

- ``status``: answer with that HTTP status before the real handler runs (a TikTok envelope with
  ``internal_error`` for 5xx, ``rate_limit_exceeded`` for 429, or the rule's ``code``; a bare
  response on the upload route; an OAuth-style body on the OAuth routes).
- ``drop``: close the connection without any response, before the request is handled.
- ``drop_after``: handle the request (state changes happen) and then close the connection
  without sending the response: the "init sent, response lost" crash point of RELIABILITY.md.
- ``delay``: wait ``delay_s`` seconds of real time, then handle normally (for client timeouts).

``times=N`` fires the rule on the next N matching requests; ``probability=p`` fires it with that
chance on each, drawn from a seeded RNG so a run repeats exactly. Rules are checked in the order
they were added and the first that fires wins.
"""

from __future__ import annotations

import random
from typing import Literal

import attrs

FaultKind = Literal["status", "drop", "drop_after", "delay"]

ROUTES = frozenset({
    "creator_info", "video_init", "inbox_init", "content_init", "status", "cancel", "upload_put",
    "token", "revoke", "authorize", "user_info", "*",
})
"""Route names a rule may target; ``*`` matches every TikTok route (never the admin routes)."""


def _check_route(instance: FaultRule, attribute: attrs.Attribute[str], value: str) -> None:
    del instance, attribute
    if value not in ROUTES:
        raise ValueError(f"unknown fault route {value!r}; expected one of {sorted(ROUTES)}")


def _check_probability(instance: FaultRule, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    del attribute
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError("probability must lie in [0, 1]")
    if value is None and instance.times is None:
        raise ValueError("a fault rule needs times=N or probability=p")


@attrs.define(kw_only=True)
class FaultRule:
    """One scripted failure; ``times`` counts down as it fires."""

    route: str = attrs.field(validator=_check_route)
    kind: FaultKind = attrs.field(validator=attrs.validators.in_(("status", "drop", "drop_after", "delay")))
    status: int = 500
    code: str | None = None
    """error.code to send with ``status`` (default: internal_error / rate_limit_exceeded)."""
    times: int | None = None
    probability: float | None = attrs.field(default=None, validator=_check_probability)
    delay_s: float = 0.0
    fired: int = 0

    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class Faults:
    """The ordered list of fault rules; ``add`` returns the rule so tests can inspect ``fired``."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.rules: list[FaultRule] = []

    def add(
        self,
        *,
        route: str,
        kind: FaultKind = "status",
        status: int = 500,
        code: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        delay_s: float = 0.0,
    ) -> FaultRule:
        if times is None and probability is None:
            times = 1
        rule = FaultRule(route=route, kind=kind, status=status, code=code, times=times,
                         probability=probability, delay_s=delay_s)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def match(self, route: str) -> FaultRule | None:
        """The rule that fires for this request, if any (and count it as fired)."""
        for rule in self.rules:
            if rule.route not in (route, "*") or rule.exhausted():
                continue
            if rule.probability is not None and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            return rule
        return None
