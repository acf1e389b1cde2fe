"""``GET /v1/analytics?post_id=``: a post's stored metric readings, as JSON.

Answers from the snapshot rows only (no platform call), in the document
:func:`~crosspost.core.metrics_report.post_metrics_json` builds, the same one
``crosspost stats ID --json`` prints. Authentication is the mounting app's job (``crosspost
serve``'s API keys; ``crosspost dashboard`` checks its own key).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from crosspost.core.engine.jobs import PostNotFound
from crosspost.core.hub import Hub
from crosspost.core.metrics_report import post_metrics_json


def _error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    body: dict[str, object] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


def analytics_handler(hub: Hub) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        post_id = request.query.get("post_id", "").strip()
        if not post_id:
            return _error(400, "invalid", "post_id is required, e.g. /v1/analytics?post_id=3f2a…", "post_id")
        try:
            targets = await hub.post_metrics(post_id)
        except PostNotFound as exc:
            return _error(404, "not_found", str(exc), "post_id")
        return web.json_response(post_metrics_json(post_id, targets))

    return handle


def analytics_routes(hub: Hub) -> list[web.RouteDef]:
    """Routes to add to a REST app: ``app.add_routes(analytics_routes(hub))``."""
    return [web.get("/v1/analytics", analytics_handler(hub), name="analytics")]
