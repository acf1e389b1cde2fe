"""Scripted HTTP faults for aiohttp fakes: "request N answers 503", "the answer to request N is lost".

A :class:`FaultPlan` counts every request an aiohttp app receives and, through its
:meth:`~FaultPlan.middleware`, answers chosen requests with a scripted status instead of the real
handler. The platform contract suite (:mod:`crosspost.testing.contract`) drives faults this way,
so any fake HTTP API that installs the middleware can be checked for error mapping and for
idempotent retries without knowing anything about its routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


@attrs.frozen(kw_only=True)
class Fault:
    """What a faulted request gets instead of its real answer."""

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: Mapping[str, Any] | None = None
    """JSON body; None sends ``{"error": {"code": "injected_fault", "message": …}}``."""
    after_handling: bool = False
    """Run the real handler first (its side effects happen), then answer with the fault: the
    response was lost on its way back, so the client cannot know the request worked."""

    def response(self) -> web.Response:
        body = self.body if self.body is not None else {
            "error": {"code": "injected_fault", "message": f"scripted HTTP {self.status}"}}
        return web.json_response(dict(body), status=self.status, headers=dict(self.headers))


@attrs.define(kw_only=True)
class _Rule:
    start: int
    fault: Fault
    times: int | None
    fired: int = 0

    def matches(self, index: int) -> bool:
        return index >= self.start and (self.times is None or self.fired < self.times)


class FaultPlan:
    """Counts requests (from 0) and answers the scripted ones with a :class:`Fault`.

    Rules are checked in the order they were added; the first that matches a request wins.
    """

    def __init__(self) -> None:
        self.requests_seen = 0
        """How many requests reached the app so far (faulted ones included)."""
        self.faulted: list[int] = []
        """Indexes of the requests that were answered with a fault."""
        self._rules: list[_Rule] = []

    def fail_from(
        self,
        index: int,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        after_handling: bool = False,
        times: int | None = None,
    ) -> None:
        """Answer request ``index`` and every later one (or the next ``times``) with ``status``."""
        fault = Fault(status=status, headers=dict(headers or {}), body=body, after_handling=after_handling)
        self._rules.append(_Rule(start=index, fault=fault, times=times))

    def fail_next(self, status: int, *, times: int = 1, **kwargs: Any) -> None:
        """Answer the next ``times`` requests with ``status`` (see :meth:`fail_from`)."""
        self.fail_from(self.requests_seen, status, times=times, **kwargs)

    def heal(self) -> None:
        """Drop every rule: from now on every request reaches its handler and its answer arrives."""
        self._rules.clear()

    def take(self) -> Fault | None:
        """Count one request and return the fault it gets, if any."""
        index = self.requests_seen
        self.requests_seen += 1
        for rule in self._rules:
            if rule.matches(index):
                rule.fired += 1
                self.faulted.append(index)
                return rule.fault
        return None

    def middleware(self) -> Middleware:
        """An aiohttp middleware applying this plan; add it to the fake's ``web.Application``."""

        @web.middleware
        async def apply_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
            fault = self.take()
            if fault is None:
                return await handler(request)
            if fault.after_handling:
                await handler(request)
            else:
                # Read the body the client is sending, so it receives our answer rather than a
                # connection reset halfway through an upload.
                while await request.content.readany():
                    pass
            return fault.response()

        return apply_faults
