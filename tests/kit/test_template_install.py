"""A fresh venv with only crosspost and the template installed finds the template's platform and
validates and publishes to it through the CLI (offline: nothing is downloaded)."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "plugins" / "_template"
TOKEN = "fresh-venv-token-93b1"

pytestmark = pytest.mark.slow


def run(*args: str | Path, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, timeout=600,
                          env=env, cwd=cwd)


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv (no pip of its own) where the test environment's pip installed crosspost (editable,
    from this checkout) and a copy of the template (a regular install, so the plugin can only be
    found there). Third-party dependencies come from the test environment through a .pth file,
    which adds its folder but runs none of its .pth files: the test environment's crosspost and
    any template installed there stay invisible."""
    base = tmp_path_factory.mktemp("fresh")
    venv = base / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    # Every folder the test environment imports packages from: a venv made with
    # --system-site-packages keeps its dependencies outside its own purelib.
    folders = dict.fromkeys([sysconfig.get_path("purelib"), *(p for p in sys.path if p.endswith("-packages"))])
    Path(site, "test-deps.pth").write_text("".join(f"{f}\n" for f in folders))
    template = base / "crosspost-example"
    shutil.copytree(TEMPLATE, template, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"))
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index",
        "--no-build-isolation", "-e", ROOT, template)
    return venv


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSPOST_") and k != "PYTHONPATH"}
    return {**env, "CROSSPOST_DB": str(tmp_path / "crosspost.db"), "CROSSPOST_DATA_DIR": str(tmp_path)}


def test_the_fresh_venv_lists_the_templates_plugin_and_platform(fresh_venv: Path, cli_env: dict[str, str],
                                                                tmp_path: Path) -> None:
    where = run(fresh_venv / "bin" / "python", "-c", "import crosspost_example, crosspost.core; "
                "print(crosspost_example.__file__); print(crosspost.core.__file__)", env=cli_env, cwd=tmp_path)
    report = json.loads(run(fresh_venv / "bin" / "crosspost", "plugins", "--json", env=cli_env, cwd=tmp_path).stdout)

    plugin_file, core_file = where.stdout.split()
    assert plugin_file.startswith(str(fresh_venv))
    assert core_file == str(ROOT / "core" / "__init__.py")
    [example] = [p for p in report["plugins"] if p["name"] == "example"]
    assert example == {"name": "example", "version": "0.1.0", "builtin": False,
                       "hooks": ["register_platforms"], "platforms": ["example"]}


async def crosspost(venv: Path, env: dict[str, str], *args: str) -> tuple[int, Any]:
    """Run the fresh venv's CLI without blocking the loop that serves the fake API."""
    process = await asyncio.create_subprocess_exec(str(venv / "bin" / "crosspost"), *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    try:
        return process.returncode, json.loads(out)
    except ValueError:
        raise AssertionError(f"not JSON (exit {process.returncode}): {out!r} {err.decode()[-2000:]}") from None


async def add_account(venv: Path, env: dict[str, str]) -> None:
    code, added = await crosspost(venv, env, "accounts", "add", "example", "main", "--access-token", TOKEN, "--json")
    assert code == 0, added
    assert added["username"] == "example.user"


async def test_the_fresh_venv_validates_and_publishes_to_the_template_through_the_cli(
        fresh_venv: Path, cli_env: dict[str, str], tmp_path: Path) -> None:
    sys.path.insert(0, str(TEMPLATE))
    try:  # the template's fake API, from its folder (the test environment need not install it)
        fake = importlib.import_module("crosspost_example.fake_server")
    finally:
        sys.path.remove(str(TEMPLATE))
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x07" * 10_000)
    good = {"content": "From a fresh venv", "targets": ["example:main"],
            "media": [{"path": "clip.mp4", "type": "video"}],
            "target_options": {"example": {"visibility": "unlisted"}}}
    bad = {**good, "media": [{"path": "missing.mp4", "type": "video"}],
           "target_options": {"example": {"visibility": "everyone"}}}
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    api = fake.FakeExampleAPI(tokens={TOKEN})
    async with fake.ExampleFakeServer(api) as server:
        env = {**cli_env, "CROSSPOST_EXAMPLE_URL": server.base_url, "CROSSPOST_EXAMPLE_POLL_INTERVAL": "0.05"}
        await add_account(fresh_venv, env)

        invalid_code, invalid = await crosspost(fresh_venv, env, "post", str(tmp_path / "bad.json"), "--json")
        dry_code, _ = await crosspost(fresh_venv, env, "post", str(tmp_path / "good.json"), "--dry-run", "--json")
        assert (invalid_code, dry_code, api.posts) == (2, 0, {})
        code, published = await crosspost(fresh_venv, env, "post", str(tmp_path / "good.json"), "--json")

    assert {p["field"] for p in invalid["error"]["problems"]} == {
        "media[0].path", "target_options.example.visibility"}
    assert code == 0, published
    [target] = published["targets"]
    assert (target["target"], target["status"]) == ("example:main", "published")
    [post] = api.posts.values()
    assert (post.text, post.visibility, target["publish_id"]) == ("From a fresh venv", "unlisted", post.id)


def readme_block(heading_text: str) -> str:
    """The first ```sh block after ``heading_text`` in the template's README."""
    readme = (TEMPLATE / "README.md").read_text()
    after = readme.split(heading_text, 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_readmes_try_it_block_runs_verbatim(fresh_venv: Path, cli_env: dict[str, str], tmp_path: Path) -> None:
    readme = (TEMPLATE / "README.md").read_text()
    request = readme.split("with a request such as\n\n```json\n", 1)[1].split("```", 1)[0]
    (tmp_path / "request.json").write_text(request)
    (tmp_path / "sunset.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x07" * 10_000)
    block = readme_block("Try it without a server of your own")
    env = {**cli_env, "PATH": f"{fresh_venv / 'bin'}{os.pathsep}{cli_env.get('PATH', '')}"}
    script = f"set -e\ntrap 'kill %1 2>/dev/null' EXIT\n{block}"  # the block as written; the trap stops its server
    done = subprocess.run(["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Added example:main (@example.user)" in done.stdout
    assert "example:main" in done.stdout
    assert "published" in done.stdout


def test_a_wrong_token_is_refused_before_anything_is_stored(fresh_venv: Path, cli_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    sys.path.insert(0, str(TEMPLATE))
    try:
        fake = importlib.import_module("crosspost_example.fake_server")
    finally:
        sys.path.remove(str(TEMPLATE))

    async def scenario() -> tuple[int, Any, int, Any]:
        async with fake.ExampleFakeServer(fake.FakeExampleAPI(tokens={TOKEN})) as server:
            env = {**cli_env, "CROSSPOST_EXAMPLE_URL": server.base_url}
            refused = await crosspost(fresh_venv, env, "accounts", "add", "example", "main", "--access-token",
                                      "wrong", "--json")
            listed = await crosspost(fresh_venv, env, "accounts", "list", "--offline", "--json")
        return (*refused, *listed)

    code, refused, listed_code, listed = asyncio.run(scenario())
    assert code == 2
    assert "nothing was stored" in refused["error"]["message"].lower()
    assert (listed_code, listed["accounts"]) == (0, [])
