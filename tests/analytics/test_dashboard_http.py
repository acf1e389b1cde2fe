"""The dashboard and ``GET /v1/analytics`` over HTTP (aiohttp's test client, no browser)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from crosspost.core.clock import FakeClock
from crosspost.core.dashboard.standalone import make_standalone_app, single_key
from crosspost.plugins.tiktok.emulator import Creator, EmulatorState
from tests.analytics.conftest import HubFactory, Scenario, build_scenario

KEY = "dash-key-for-tests"


@pytest.fixture
async def site(open_hub: HubFactory, creator: Creator, clock: FakeClock,
               emulator_state: EmulatorState) -> AsyncIterator[tuple[TestClient[object, object], Scenario]]:
    async with open_hub() as hub:
        scenario = await build_scenario(hub, creator, clock, emulator_state)
        app = make_standalone_app(hub, check_key=single_key(KEY))
        async with TestClient(TestServer(app)) as client:
            yield client, scenario


async def signed_in(client: TestClient[object, object]) -> None:
    response = await client.post("/ui/login", data={"key": KEY, "next": "/ui/calendar"}, allow_redirects=False)
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert KEY not in cookie  # a session token, never the key


async def test_pages_need_a_key_and_a_wrong_one_is_refused(site: tuple[TestClient[object, object], Scenario]) -> None:
    client, _ = site
    response = await client.get("/ui/calendar", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/ui/login?next=")
    wrong = await client.post("/ui/login", data={"key": "nope"})
    assert wrong.status == 401
    assert 'role="alert"' in await wrong.text()
    bearer = await client.get("/ui/calendar", headers={"Authorization": f"Bearer {KEY}"})
    assert bearer.status == 200


async def test_login_refuses_to_redirect_off_the_dashboard(site: tuple[TestClient[object, object], Scenario]) -> None:
    client, _ = site
    response = await client.post("/ui/login", data={"key": KEY, "next": "https://evil.example/"},
                                 allow_redirects=False)
    assert response.headers["Location"] == "/ui/calendar"


async def test_calendar_shows_the_scheduled_post_on_its_day(site: tuple[TestClient[object, object], Scenario]) -> None:
    client, scenario = site
    await signed_in(client)
    for view in ("week", "month"):
        page = await (await client.get("/ui/calendar", params={"view": view, "date": scenario.scheduled_day})).text()
        cell = re.search(rf'<td class="[^"]*" data-date="{scenario.scheduled_day}".*?</td>', page, re.S)
        assert cell is not None
        assert f'data-post="{scenario.scheduled}"' in cell.group(0)
        assert "entry-scheduled" in cell.group(0)
        assert "15:30" in cell.group(0)


async def test_failed_post_page_shows_its_error_and_fix(site: tuple[TestClient[object, object], Scenario]) -> None:
    client, scenario = site
    await signed_in(client)
    page = await (await client.get(f"/ui/posts/{scenario.failed}")).text()
    assert "frame_rate_check_failed" in page
    assert 'class="error" role="alert"' in page
    assert "status-failed" in page
    assert "<main id=\"main\"" in page


async def test_published_post_page_has_a_chart_point_per_reading(
        site: tuple[TestClient[object, object], Scenario]) -> None:
    client, scenario = site
    await signed_in(client)
    page = await (await client.get(f"/ui/posts/{scenario.published}")).text()
    charts = re.findall(r'<svg class="chart".*?</svg>', page, re.S)
    assert len(charts) == 4  # views, likes, comments, shares
    assert all(chart.count('<circle class="point"') == 3 for chart in charts)
    assert "https://www.tiktok.com/@week.creator/video/" in page
    assert "<strong>metrics</strong>" in page  # the readings are in the timeline too


async def test_unknown_post_and_bad_queries_are_explained(site: tuple[TestClient[object, object], Scenario]) -> None:
    client, _ = site
    await signed_in(client)
    assert (await client.get("/ui/posts/nope")).status == 404
    bad = await client.get("/ui/calendar", params={"view": "year"})
    assert bad.status == 400
    assert "view must be one of week, month" in await bad.text()
    assert (await client.get("/ui/calendar", params={"date": "12/03"})).status == 400


async def test_rest_analytics_answers_from_stored_readings(site: tuple[TestClient[object, object], Scenario]) -> None:
    client, scenario = site
    assert (await client.get("/v1/analytics", params={"post_id": scenario.published})).status == 401
    auth = {"Authorization": f"Bearer {KEY}"}
    response = await client.get("/v1/analytics", params={"post_id": scenario.published}, headers=auth)
    assert response.status == 200
    raw = await response.text()
    doc = await response.json()
    [target] = doc["targets"]
    assert len(target["snapshots"]) == 3
    assert f'"platform_post_id": "{target["platform_post_id"]}"' in raw or \
        f'"platform_post_id":"{target["platform_post_id"]}"' in raw
    missing = await client.get("/v1/analytics", headers=auth)
    assert missing.status == 400
    assert (await missing.json())["error"]["field"] == "post_id"
    assert (await client.get("/v1/analytics", params={"post_id": "nope"}, headers=auth)).status == 404


async def test_pages_carry_a_strict_content_security_policy(site: tuple[TestClient[object, object], Scenario]) -> None:
    client, _ = site
    response = await client.get("/ui/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    css = await client.get("/ui/static/dashboard.css")
    assert css.status == 200
