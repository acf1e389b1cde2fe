"""docs/tiktok.md's admin-API table names every route the emulator's /_emulator/ index lists."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from crosspost.plugins.tiktok.emulator import EmulatorServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "tiktok.md"


def documented_routes() -> set[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## The emulator's admin API"):]
    section = section[:section.find("\n## ", 10) if "\n## " in section[10:] else None]
    return set(re.findall(r"`(GET|POST|PUT|DELETE) (/_emulator/[^` ]*)", section))


async def test_every_admin_route_is_documented_and_every_documented_one_exists() -> None:
    async with EmulatorServer() as emu, aiohttp.ClientSession() as http:
        index = await http.get(emu.base_url + "/_emulator/")
        served = {(r["method"], r["path"]) for r in (await index.json())["routes"]}

    assert documented_routes() == served
