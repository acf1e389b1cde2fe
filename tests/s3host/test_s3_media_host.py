"""The S3 media host against a real local S3 server (moto in server mode) over loopback."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from crosspost.core.errors import ConfigError
from crosspost.core.models import Target
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.settings import Settings
from crosspost.plugins.s3host.host import S3HostConfig

pytest.importorskip("aiobotocore")
MOTO = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    if not Path(MOTO).exists():
        pytest.skip("moto_server is not installed: pip install 'crosspost[s3-test]'")
    port = free_port()
    proc = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # bounded wait for the server socket, not a timing assertion
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def settings(s3_endpoint: str, tmp_path: Path) -> Settings:
    env = {
        "CROSSPOST_S3_BUCKET": "media",
        "CROSSPOST_S3_ENDPOINT_URL": s3_endpoint,
        "CROSSPOST_S3_PUBLIC_BASE_URL": f"{s3_endpoint}/media",
        "CROSSPOST_S3_ACCESS_KEY_ID": "test",
        "CROSSPOST_S3_SECRET_ACCESS_KEY": "test-secret",
        "CROSSPOST_S3_ACL": "public-read",
        "CROSSPOST_DATA_DIR": str(tmp_path),
    }
    return Settings.from_env(env)


async def make_bucket(endpoint: str) -> None:
    from aiobotocore.session import get_session

    async with get_session().create_client("s3", region_name="us-east-1", endpoint_url=endpoint,
                                           aws_access_key_id="test",
                                           aws_secret_access_key="test-secret") as client:
        await client.create_bucket(Bucket="media")


async def test_a_local_photo_is_hosted_and_served_byte_for_byte(
    settings: Settings, s3_endpoint: str, tmp_path: Path
) -> None:
    await make_bucket(s3_endpoint)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 400)
    hooks = Hooks(make_plugin_manager(entry_points=False))
    url = await hooks.host_media(str(photo), Target(platform="tiktok", account="main"), settings)
    assert url is not None
    assert url.startswith(f"{s3_endpoint}/media/crosspost/{hashlib.sha256(photo.read_bytes()).hexdigest()}/")
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert await response.read() == photo.read_bytes()
    again = await hooks.host_media(str(photo), Target(platform="tiktok"), settings)
    assert again == url


async def test_the_host_declines_when_no_bucket_is_configured(tmp_path: Path) -> None:
    hooks = Hooks(make_plugin_manager(entry_points=False))
    settings = Settings.from_env({"CROSSPOST_DATA_DIR": str(tmp_path)})
    assert not hooks.has_media_host(settings)
    assert await hooks.host_media(str(tmp_path / "x.jpg"), Target(platform="tiktok"), settings) is None


def test_a_configured_bucket_counts_as_a_media_host(settings: Settings) -> None:
    assert Hooks(make_plugin_manager(entry_points=False)).has_media_host(settings)


def test_a_bucket_without_a_public_address_is_a_config_error_saying_what_to_set() -> None:
    with pytest.raises(ConfigError, match="CROSSPOST_S3_PUBLIC_BASE_URL"):
        S3HostConfig.from_settings({"bucket": "media"})


def test_credentials_never_appear_in_the_config_repr() -> None:
    config = S3HostConfig.from_settings({"bucket": "b", "public_base_url": "https://m.example",
                                         "access_key_id": "AKIDSECRET", "secret_access_key": "shh-secret"})
    assert "AKIDSECRET" not in repr(config)
    assert "shh-secret" not in repr(config)
