"""The server's contract: auth, errors in each dialect's shape, idempotency, validation, OpenAPI."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crosspost.core.serve.openapi import document
from tests.serve.conftest import Served

RELAY_BODY: dict[str, Any] = {
    "content": "Check out this amazing sunset! #sunset #nature", "targets": ["tiktok"],
    "media": [{"url": "https://cdn.example.com/sunset.mp4", "type": "video"}], "scheduled_at": "now",
    "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                  "allow_duet": True, "allow_stitch": True}},
}
ZERNIO_BODY: dict[str, Any] = {
    "content": "Check out this amazing sunset! #sunset #nature",
    "mediaItems": [{"type": "video", "url": "https://cdn.example.com/sunset-video.mp4"}],
    "platforms": [{"platform": "tiktok", "accountId": "tiktok:main"}],
    "tiktokSettings": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": True,
                       "allow_stitch": True, "content_preview_confirmed": True, "express_consent_given": True},
    "publishNow": True,
}


async def stored_posts(served: Served) -> int:
    return await served.api.store.count_posts()


@pytest.mark.parametrize(("path", "shape"), [
    ("/v1/posts", lambda b: b["error"]["code"] == "UNAUTHORIZED"),
    ("/relay/v1/posts", lambda b: b["error"]["code"] == "UNAUTHORIZED"),
    ("/zernio/api/v1/posts", lambda b: isinstance(b["error"], str) and b["code"] == "AUTH_MISSING_KEY"),
    ("/late/api/v1/posts", lambda b: isinstance(b["error"], str) and "code" not in b),
    ("/socialsyncer/v1/posts", lambda b: b["code"] == "AUTH_MISSING_KEY"),
    ("/postpost/api/v1/list-posts", lambda b: b["success"] is False and "x-api-key" in b["error"]),
])
async def test_a_request_without_a_key_gets_401_in_the_dialects_shape(served: Served, path: str, shape: Any) -> None:
    resp = await served.client.get(path)
    assert resp.status == 401
    assert shape(await resp.json())


async def test_a_wrong_or_revoked_key_gets_401(served: Served) -> None:
    resp = await served.client.get("/zernio/api/v1/posts", headers={"Authorization": "Bearer sk_nope"})
    assert resp.status == 401
    assert (await resp.json())["code"] == "AUTH_INVALID_KEY"
    rows = await served.api.store.list_api_keys()
    await served.api.store.revoke_api_key(rows[0].name, now=served.clock.now())
    resp = await served.client.get("/v1/posts", headers=served.headers("native"))
    assert resp.status == 401


async def test_malformed_json_is_400_naming_the_body_and_stores_nothing(served: Served) -> None:
    resp = await served.client.post("/relay/v1/posts", data=b"{not json", headers={
        **served.headers("relay"), "Content-Type": "application/json"})
    assert resp.status == 400
    body = await resp.json()
    assert body["error"]["code"] == "MALFORMED_JSON"
    assert body["error"]["details"]["issues"][0]["path"] == "body"
    assert await stored_posts(served) == 0


async def test_wrong_types_and_unknown_platforms_name_the_field_and_store_nothing(served: Served) -> None:
    bad = {**ZERNIO_BODY, "publishNow": "yes", "platforms": [{"platform": "myspace", "accountId": "x"}]}
    resp = await served.client.post("/zernio/api/v1/posts", headers=served.headers("zernio"), json=bad)
    assert resp.status == 400
    body = await resp.json()
    fields = {f["field"] for f in body["details"]["fields"]}
    assert "publishNow" in fields
    assert "platforms[0].accountId" in fields
    assert "myspace" in body["error"]
    assert await stored_posts(served) == 0


async def test_platform_checks_fail_with_422_naming_the_option(served: Served) -> None:
    body = {**RELAY_BODY, "target_options": {"tiktok": {**RELAY_BODY["target_options"]["tiktok"],
                                                        "privacy_level": "EVERYONE_PLEASE"}}}
    resp = await served.client.post("/relay/v1/posts", headers=served.headers("relay"), json=body)
    assert resp.status == 422
    issues = (await resp.json())["error"]["details"]["issues"]
    assert any("privacy_level" in (i["path"] or "") for i in issues)
    assert await stored_posts(served) == 0


async def test_an_oversized_body_is_413_in_the_dialects_shape(served: Served) -> None:
    big = {**RELAY_BODY, "content": "x" * (served.api.config.max_body + 10)}
    resp = await served.client.post("/relay/v1/posts", headers=served.headers("relay"), json=big)
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_same_idempotency_key_and_body_replays_the_response(served: Served) -> None:
    headers = served.headers("relay", **{"Idempotency-Key": "create-1"})
    first = await served.client.post("/relay/v1/posts", headers=headers, json=RELAY_BODY)
    second = await served.client.post("/relay/v1/posts", headers=headers, json=RELAY_BODY)
    assert first.status == second.status == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert (await first.json())["id"] == (await second.json())["id"]
    assert await stored_posts(served) == 1


async def test_same_idempotency_key_with_another_body_is_422(served: Served) -> None:
    headers = served.headers("relay", **{"Idempotency-Key": "create-2"})
    await served.client.post("/relay/v1/posts", headers=headers, json=RELAY_BODY)
    other = await served.client.post("/relay/v1/posts", headers=headers, json={**RELAY_BODY, "content": "other"})
    assert other.status == 422
    assert (await other.json())["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await stored_posts(served) == 1


async def test_a_key_still_in_flight_is_409_with_retry_after(served: Served) -> None:
    import hashlib
    import json
    from datetime import timedelta

    key_row = (await served.api.store.list_api_keys())[0]
    raw = json.dumps(RELAY_BODY).encode()
    scope = f"{key_row.id}:relay:POST:/relay/v1/posts"
    now = served.clock.now()
    state, _ = await served.api.store.claim_idempotency(scope, "busy", hashlib.sha256(raw).hexdigest(), now=now,
                                                        until=now + timedelta(seconds=30))
    assert state == "claimed"  # as a request still running in another process would hold it
    resp = await served.client.post("/relay/v1/posts", data=raw, headers={
        **served.headers("relay", **{"Idempotency-Key": "busy"}), "Content-Type": "application/json"})
    assert resp.status == 409
    assert resp.headers["Retry-After"] == "1"
    assert (await resp.json())["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    served.clock.advance(31)  # the holder died: the next attempt takes the key over
    resp = await served.client.post("/relay/v1/posts", data=raw, headers={
        **served.headers("relay", **{"Idempotency-Key": "busy"}), "Content-Type": "application/json"})
    assert resp.status == 201


async def test_zernio_x_request_id_replays_as_200_with_the_existing_post(served: Served) -> None:
    headers = served.headers("zernio", **{"x-request-id": "5b2f1f8e-1d7e-4b9a-9d55-7f0e5b5e0a11"})
    first = await served.client.post("/zernio/api/v1/posts", headers=headers, json=ZERNIO_BODY)
    second = await served.client.post("/zernio/api/v1/posts", headers=headers, json=ZERNIO_BODY)
    assert first.status == 201
    assert second.status == 200
    again = await second.json()
    assert again["existingPost"] is True
    assert again["post"]["_id"] == (await first.json())["post"]["_id"]
    assert await stored_posts(served) == 1


async def test_a_create_never_waits_for_the_publish(served: Served) -> None:
    resp = await served.client.post("/v1/posts", headers=served.headers("native"), json=RELAY_BODY)
    body = await resp.json()
    assert resp.status == 201, body
    assert body["status"] == "publishing"
    assert served.emulator.state.published == []  # nothing sent yet: the worker does that
    await served.work()
    after = await (await served.client.get(f"/v1/posts/{body['id']}", headers=served.headers("native"))).json()
    assert after["status"] == "published"
    account = after["targets"]["tiktok:main"]["accounts"][0]
    assert account["delivery_state"] == "succeeded"
    assert account["url"].startswith("https://www.tiktok.com/@sunset.creator/video/")


async def test_validate_runs_the_checks_and_stores_nothing(served: Served) -> None:
    bad = {**RELAY_BODY, "target_options": {"tiktok": {"privacy_level": "SELF_ONLY"}}}
    resp = await served.client.post("/v1/tools/validate/post", headers=served.headers("native"), json=bad)
    body = await resp.json()
    assert resp.status == 200
    assert body["valid"] is False
    assert any("allow_comment" in (e["field"] or "") for e in body["errors"])
    good = await served.client.post("/zernio/api/v1/tools/validate/post", headers=served.headers("zernio"),
                                    json=ZERNIO_BODY)
    assert (await good.json())["valid"] is True
    assert await stored_posts(served) == 0
    assert served.emulator.state.published == []


async def test_drafts_list_and_pagination_in_each_shape(served: Served) -> None:
    headers = served.headers("zernio")
    for n in range(3):
        draft = {**ZERNIO_BODY, "content": f"draft {n}", "isDraft": True}
        draft.pop("publishNow")
        assert (await served.client.post("/zernio/api/v1/posts", headers=headers, json=draft)).status == 201
    page = await (await served.client.get("/zernio/api/v1/posts?page=1&limit=2", headers=headers)).json()
    assert [p["status"] for p in page["posts"]] == ["draft", "draft"]
    assert page["pagination"] == {"page": 1, "limit": 2, "total": 3, "pages": 2}
    relay = await (await served.client.get("/relay/v1/posts?limit=2", headers=served.headers("relay"))).json()
    assert relay["has_more"] is True
    assert relay["next_cursor"] == "2"
    pp = await (await served.client.get("/postpost/api/v1/list-posts?limit=2&page=2",
                                        headers=served.headers("postpost"))).json()
    assert pp["pagination"]["hasPrevPage"] is True
    assert pp["pagination"]["hasNextPage"] is False
    too_big = await served.client.get("/zernio/api/v1/posts?limit=501", headers=headers)
    assert too_big.status == 400
    assert (await too_big.json())["param"] == "limit"
    assert served.emulator.state.published == []


async def test_retry_queues_failed_targets_again(served: Served) -> None:
    resp = await served.client.post("/v1/posts", headers=served.headers("native"), json=RELAY_BODY)
    post_id = (await resp.json())["id"]
    # Fail the job as a worker would after a permanent platform error.
    from crosspost.core.models import JobStatus

    row = await served.hub.storage.find_post_by_key(f"serve:{post_id.removeprefix('post_')}")
    assert row is not None
    job = row.jobs[0]
    from datetime import timedelta

    now = served.clock.now()
    claimed = await served.hub.storage.claim_job("test", now=now, lease_until=now + timedelta(seconds=60))
    assert claimed is not None
    assert claimed.id == job.id
    assert claimed.lease is not None
    from crosspost.core.models import ErrorInfo

    await served.hub.storage.finish_job(claimed.lease, status=JobStatus.FAILED, now=now,
                                        error=ErrorInfo(code="platform_error", message="TikTok said no"))
    failed = await (await served.client.get(f"/v1/posts/{post_id}", headers=served.headers("native"))).json()
    assert failed["status"] == "failed"
    retried = await served.client.post(f"/v1/posts/{post_id}/retry", headers=served.headers("native"))
    assert retried.status == 200, await retried.text()
    await served.work()
    after = await (await served.client.get(f"/v1/posts/{post_id}", headers=served.headers("native"))).json()
    assert after["status"] == "published"
    assert len(served.emulator.state.published) == 1
    again = await served.client.post(f"/v1/posts/{post_id}/retry", headers=served.headers("native"))
    assert again.status == 409


async def test_accounts_and_health_in_each_shape(served: Served) -> None:
    zernio = await (await served.client.get("/zernio/api/v1/accounts", headers=served.headers("zernio"))).json()
    assert zernio["accounts"][0]["_id"] == "tiktok:main"
    syncer = await (await served.client.get("/socialsyncer/v1/accounts/health",
                                            headers=served.headers("socialsyncer"))).json()
    assert syncer["accounts"][0]["health"] == "healthy"
    pp = await (await served.client.get("/postpost/api/v1/platform-connections",
                                        headers=served.headers("postpost"))).json()
    assert pp["connections"][0]["platformId"] == "tiktok-main"
    native = await (await served.client.get("/v1/accounts/tiktok:main", headers=served.headers("native"))).json()
    assert native["username"] == "sunset.creator"
    missing = await served.client.get("/v1/accounts/tiktok:nobody", headers=served.headers("native"))
    assert missing.status == 404


async def test_unknown_paths_are_404_in_the_dialects_shape(served: Served) -> None:
    resp = await served.client.get("/postpost/api/v1/no-such-thing", headers=served.headers("postpost"))
    assert resp.status == 404
    assert (await resp.json())["success"] is False


async def test_media_presign_put_and_the_size_limit(served: Served, cdn: Any) -> None:
    headers = served.headers("zernio")
    resp = await served.client.post("/zernio/api/v1/media/presign", headers=headers,
                                    json={"filename": "clip.mp4", "contentType": "video/mp4", "size": 10})
    ticket = await resp.json()
    path = "/" + ticket["uploadUrl"].split("/", 3)[3]
    too_big = await served.client.put(path, data=b"x" * 11)
    assert too_big.status == 413
    resp = await served.client.post("/zernio/api/v1/media/presign", headers=headers,
                                    json={"filename": "clip.mp4", "contentType": "text/html"})
    assert resp.status == 400
    assert (await resp.json())["param"] == "contentType"


async def test_health_and_readiness(served: Served) -> None:
    assert (await (await served.client.get("/healthz")).json()) == {"status": "ok"}
    ready = await served.client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["storage"] == "sqlite"


async def test_every_mounted_route_is_in_its_dialects_openapi_document_and_back(served: Served) -> None:
    mounted: dict[str, set[tuple[str, str]]] = {name: set() for name in served.dialects}
    for resource in served.client.app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        for route in resource:
            if route.method == "HEAD" or route.name is None or "." not in route.name:
                continue
            dialect = route.name.split(".", 1)[0]
            if dialect in mounted and not route.name.endswith(".openapi"):
                mounted[dialect].add((route.method, str(path)))
    for name, dialect in served.dialects.items():
        doc_path = "/openapi.json" if name == "native" else f"/{name}/openapi.json"
        served_doc = await (await served.client.get(doc_path)).json()
        assert served_doc == document(dialect)
        documented = {(m.upper(), dialect.base + p) for p, ops in served_doc["paths"].items() for m in ops}
        assert documented == mounted[name], name
        for p in served_doc["paths"]:
            for op in served_doc["paths"][p].values():
                assert {x["name"] for x in op["parameters"] if x["in"] == "path"} == set(re.findall(r"\{(\w+)\}", p))


async def test_the_dashboard_is_mounted_at_ui_behind_the_same_api_keys(served: Served) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from crosspost.core.serve.app import dashboard, make_app

    app = make_app(served.api, served.dialects, ui=dashboard(served.api))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        anonymous = await client.get("/ui/calendar", allow_redirects=False)
        assert anonymous.status in (302, 303, 401)
        wrong = await client.get("/ui/calendar", headers={"Authorization": "Bearer sk_nope"}, allow_redirects=False)
        assert wrong.status in (302, 303, 401)
        signed = await client.get("/ui/calendar", headers=served.headers("native"))
        assert signed.status == 200
