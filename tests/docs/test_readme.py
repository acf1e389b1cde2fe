"""README.md's "Embed it in a bot" block, run as written against the bundled emulators.

The block is taken from the markdown itself and run in a subprocess whose environment points
crosspost at the TikTok and Mastodon emulators (the settings each platform's ``emulator()`` says
to use), with ``main`` connected on both through ``Hub.connect_account`` and a real
``sunset.mp4`` in its working folder. It must publish to both, once each.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_python() -> str:
    text = README.read_text()
    start = text.index("## Embed it in a bot")
    [block] = re.findall(r"```python\n(.*?)```", text[start:text.index("\n## ", start + 5)], flags=re.S)
    return block


async def test_the_readmes_bot_block_cross_posts_to_tiktok_and_mastodon(tmp_path: Path) -> None:
    from crosspost.core.hub import Hub
    from crosspost.core.plugins import Hooks, make_plugin_manager
    from crosspost.core.secrets import generate_key
    from crosspost.core.settings import Settings
    from crosspost.testing.media import make_video

    hooks = Hooks(make_plugin_manager())
    running = {}
    for name in ("tiktok", "mastodon"):
        emulator = hooks.platform(name).emulator()
        assert emulator is not None
        running[name] = await emulator.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_")}
        env.update({"CROSSPOST_DB": str(tmp_path / "bot.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
                    "CROSSPOST_SECRET_KEY": generate_key()})
        for emulator in running.values():
            env.update(emulator.env)
        async with Hub.open(Settings.from_env(env)) as hub:
            for name, emulator in running.items():
                await hub.connect_account(name, "main", emulator.account)
        make_video(tmp_path / "sunset.mp4")
        (tmp_path / "bot.py").write_text(readme_python())
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "bot.py", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    finally:
        for emulator in running.values():
            await emulator.stop()
    lines = out.decode().splitlines()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert sum(line.startswith("posted: ") for line in lines) == 2, lines
    assert lines[-1] == "published", lines
    tiktok, mastodon = (running[name].handle for name in ("tiktok", "mastodon"))
    assert len(tiktok.state.published) == 1
    [status] = mastodon.state.statuses.values()
    assert (status.text, status.visibility) == ("Sunset over the bay, from the pier #sunset", "unlisted")
    assert len(status.media_ids) == 1, "the video went with the Mastodon post"
