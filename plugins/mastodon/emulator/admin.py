"""The emulator's admin API (``/_emulator``), for tests and curious users; documented in docs/mastodon.md.

``GET /_emulator/state`` everything stored; ``PATCH /_emulator/config`` change the instance's
configuration (any :class:`InstanceConfig` field); ``POST /_emulator/accounts`` a new account and
its token; ``POST /_emulator/faults`` script a route fault; ``DELETE /_emulator/faults`` clear
them; ``PUT /_emulator/rate`` the per-token window (``limit``, ``window`` seconds);
``POST /_emulator/statuses/{id}/counters`` add to a status's counters (``{"favourites_count": 5}``);
``PATCH /_emulator/accounts/{id}`` set ``followers``/``following``.
"""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from crosspost.plugins.mastodon.emulator.app import STATE, fault_from_json
from crosspost.plugins.mastodon.emulator.state import InstanceConfig


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/_emulator/state", state_view)
    app.router.add_patch("/_emulator/config", patch_config)
    app.router.add_post("/_emulator/accounts", add_account)
    app.router.add_post("/_emulator/faults", add_fault)
    app.router.add_delete("/_emulator/faults", clear_faults)
    app.router.add_put("/_emulator/rate", set_rate)
    app.router.add_post("/_emulator/statuses/{id}/counters", boost_counters)
    app.router.add_patch("/_emulator/accounts/{id}", patch_account)


async def state_view(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({
        "config": attrs.asdict(state.config),
        "accounts": [{"id": a.id, "username": a.username} for a in state.accounts.values()],
        "statuses": [{**attrs.asdict(s), "created_at": s.created_at.isoformat(), **state.counters(s)}
                     for s in state.statuses.values()],
        "media": [{"id": m.id, "kind": m.kind, "mime": m.mime, "size": m.size, "description": m.description,
                   "ready": state.media_ready(m), "attached": m.attached} for m in state.media.values()],
        "requests": [f"{method} {path}" for method, path in state.requests],
        "faults": [attrs.asdict(f) for f in state.faults if f.times > 0],
    })


async def patch_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data: Any = await request.json()
    fields = {f.name for f in attrs.fields(InstanceConfig)}
    if not isinstance(data, dict) or not set(data) <= fields:
        return web.json_response({"error": f"config fields: {sorted(fields)}"}, status=400)
    state.config = attrs.evolve(state.config, **data)
    return web.json_response(attrs.asdict(state.config))


async def add_account(request: web.Request) -> web.Response:
    data: Any = await request.json() if request.can_read_body else {}
    account = request.app[STATE].add_account(username=str(data.get("username") or "demo"),
                                             display_name=str(data.get("display_name") or "Crosspost Demo"))
    return web.json_response({"id": account.id, "username": account.username, "access_token": account.token})


async def add_fault(request: web.Request) -> web.Response:
    fault = fault_from_json(await request.json())
    request.app[STATE].faults.append(fault)
    return web.json_response(attrs.asdict(fault))


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return web.json_response({"faults": []})


async def set_rate(request: web.Request) -> web.Response:
    data: Any = await request.json()
    state = request.app[STATE]
    state.rate.limit = int(data.get("limit", state.rate.limit))
    state.rate.window = float(data.get("window", state.rate.window))
    return web.json_response({"limit": state.rate.limit, "window": state.rate.window})


_COUNTERS = ("favourites_count", "reblogs_count", "replies_count")


async def boost_counters(request: web.Request) -> web.Response:
    state = request.app[STATE]
    status = state.statuses.get(request.match_info["id"])
    data: Any = await request.json()
    if status is None:
        return web.json_response({"error": "no such status"}, status=404)
    if not isinstance(data, dict) or not set(data) <= set(_COUNTERS) or \
            not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in data.values()):
        return web.json_response({"error": f"counters: {list(_COUNTERS)}, non-negative integers"}, status=400)
    for name, count in data.items():
        status.boost[name] = status.boost.get(name, 0) + count
    return web.json_response(state.counters(status))


async def patch_account(request: web.Request) -> web.Response:
    state = request.app[STATE]
    account = next((a for a in state.accounts.values() if a.id == request.match_info["id"]), None)
    data: Any = await request.json()
    if account is None:
        return web.json_response({"error": "no such account"}, status=404)
    if not isinstance(data, dict) or not set(data) <= {"followers", "following"} or \
            not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in data.values()):
        return web.json_response({"error": "fields: followers, following (non-negative integers)"}, status=400)
    account.followers = int(data.get("followers", account.followers))
    account.following = int(data.get("following", account.following))
    return web.json_response(state.account_counts(account))
