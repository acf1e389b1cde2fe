"""TikTok's per-token, per-endpoint "one minute sliding window", on the injected clock.

A sliding *log* (timestamps of admitted requests), not a leaky bucket: RELIABILITY.md measured
that ``aiolimiter.AsyncLimiter(6, 60)`` admits 11 calls inside one 60 s window, and the emulator
has to catch exactly that kind of client. Refused requests are not logged, so a client that
backs off recovers as soon as the oldest admitted request leaves the window.

A request counts from the moment it arrives (the handler runs before the body is read), on the
emulator's own clock, as TikTok counts: a client pacing by its own send times, with no margin,
is caught when its requests arrive closer together than they left.
"""

from __future__ import annotations

from collections import deque

WINDOW_S = 60.0

DEFAULT_LIMITS: dict[str, int] = {
    "video_init": 6,
    "inbox_init": 6,
    "content_init": 6,
    "creator_info": 20,
    "status": 30,
    "user_info": 600,
    "video_query": 600,
    "video_list": 600,
}
"""Requests per minute per access token (tiktok-api.md §6); cancel has no documented limit."""


class SlidingWindows:
    """One timestamp log per (route, token fingerprint)."""

    def __init__(self, limits: dict[str, int], *, window_s: float = WINDOW_S) -> None:
        self.limits = dict(limits)
        self.window_s = window_s
        self._logs: dict[tuple[str, str], deque[float]] = {}

    def admit(self, route: str, token_key: str, now: float) -> float | None:
        """Record the request and return None, or return seconds until it would be admitted."""
        limit = self.limits.get(route)
        if limit is None:
            return None
        log = self._logs.setdefault((route, token_key), deque())
        while log and log[0] <= now - self.window_s:
            log.popleft()
        if len(log) >= limit:
            return log[0] + self.window_s - now
        log.append(now)
        return None

    def clear(self) -> None:
        self._logs.clear()
