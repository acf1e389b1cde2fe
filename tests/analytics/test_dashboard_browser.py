"""The dashboard in a real headless browser: Debian's chromium driven by Playwright.

Skipped, saying why, where Playwright or a chromium binary is missing (``.ci/run`` installs
both: ``apt-get install chromium`` and the ``test`` extra; never ``playwright install``).
Screenshots go to ``build/screenshots/`` (CI artefacts); ``docs/dashboard.png`` is a copy of
``calendar-month.png`` (refresh it by copying after a run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from crosspost.core.clock import FakeClock
from crosspost.core.dashboard.standalone import make_standalone_app, single_key
from crosspost.plugins.tiktok.emulator import Creator, EmulatorState
from tests.analytics.conftest import HubFactory, Scenario, build_scenario

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
KEY = "browser-test-key"
CHROMIUM = os.environ.get("CROSSPOST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright is not installed: "
                                     "pip install 'crosspost[test]' to run the browser tests")
if CHROMIUM is None:
    pytest.skip("no chromium binary (apt-get install chromium, or set CROSSPOST_CHROMIUM); browser tests skipped",
                allow_module_level=True)


@pytest.fixture
async def served(open_hub: HubFactory, creator: Creator, clock: FakeClock,
                 emulator_state: EmulatorState) -> AsyncIterator[tuple[str, Scenario]]:
    async with open_hub() as hub:
        scenario = await build_scenario(hub, creator, clock, emulator_state)
        runner = web.AppRunner(make_standalone_app(hub, check_key=single_key(KEY)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}", scenario
        finally:
            await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(page: Any, base: str, next_path: str) -> None:
    await page.goto(f"{base}{next_path}")
    await page.get_by_label("API key").fill(KEY)  # the field is found by its label
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**{next_path.split('?')[0]}*")


async def test_calendar_shows_the_scheduled_post_on_its_day(served: tuple[str, Scenario], browser: Any) -> None:
    base, scenario = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = await browser.new_page(viewport={"width": 1280, "height": 860})
    await sign_in(page, base, f"/ui/calendar?view=month&date={scenario.scheduled_day}")
    day = page.locator(f'td[data-date="{scenario.scheduled_day}"]')
    entry = day.locator(f'li[data-post="{scenario.scheduled}"]')
    assert await entry.count() == 1
    assert "Launch day teaser" in await entry.inner_text()
    assert await page.locator(f'li[data-post="{scenario.scheduled}"]').count() == 1  # on no other day
    await page.screenshot(path=str(SHOTS / "calendar-month.png"), full_page=True)
    # Keyboard: the day cells are reachable and Enter opens the post.
    await day.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/ui/posts/{scenario.scheduled}")


async def test_failed_post_page_shows_its_error(served: tuple[str, Scenario], browser: Any) -> None:
    base, scenario = served
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, base, f"/ui/posts/{scenario.failed}")
    alert = page.get_by_role("alert").first
    assert "frame_rate_check_failed" in await alert.inner_text()
    assert await page.get_by_role("main").count() == 1
    await page.screenshot(path=str(SHOTS / "failed-post.png"), full_page=True)


async def test_chart_has_a_point_per_reading_and_fits_a_phone(served: tuple[str, Scenario], browser: Any) -> None:
    base, scenario = served
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, base, f"/ui/posts/{scenario.published}")
    views = page.locator('svg.chart[data-metric="views"]')
    assert await views.locator("circle.point").count() == 3
    assert await page.locator("svg.chart").count() == 4
    await page.screenshot(path=str(SHOTS / "published-post.png"), full_page=True)

    phone = await browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    await sign_in(phone, base, f"/ui/calendar?view=week&date={scenario.scheduled_day}")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling on a phone
    assert await phone.locator(f'li[data-post="{scenario.scheduled}"]').is_visible()
    await phone.screenshot(path=str(SHOTS / "calendar-phone.png"), full_page=True)
