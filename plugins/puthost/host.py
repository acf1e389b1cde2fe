"""Storing a local file on an HTTP PUT media host and naming its public URL.

Files are named by the SHA-256 of their bytes (plus their suffix, from which servers guess the
content type), so hosting the same photo twice stores it once and a URL never points at other
bytes than it did before. The server's ``{"url": ...}`` answer wins (the emulator gives one);
otherwise the public URL is ``CROSSPOST_MEDIA_PUBLIC_BASE_URL`` (or the PUT URL) plus the name.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from crosspost.core.errors import ConfigError, PermanentError, TransientError

"""``CROSSPOST_MEDIA_PUT_URL`` and ``CROSSPOST_MEDIA_PUBLIC_BASE_URL``."""
TIMEOUT_S = 300.0
_READ = 1024 * 1024


@attrs.frozen(kw_only=True)
class PutHostConfig:
    put_url: str
    """Folder URL files are PUT under, ending with ``/``."""
    public_base_url: str
    """Folder URL the platform fetches them from (the PUT URL unless set), ending with ``/``."""

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> PutHostConfig | None:
        """The config, or None when ``CROSSPOST_MEDIA_PUT_URL`` is not set (the host declines)."""
        put_url = (values.get("put_url") or "").strip()
        if not put_url:
            return None
        for name, url in (("CROSSPOST_MEDIA_PUT_URL", put_url),
                          ("CROSSPOST_MEDIA_PUBLIC_BASE_URL", values.get("public_base_url") or put_url)):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"{name} must be an http(s) folder URL such as "
                                  f"http://127.0.0.1:8765/_emulator/media/, got {url!r}")
        public = (values.get("public_base_url") or put_url).strip()
        return cls(put_url=_folder(put_url), public_base_url=_folder(public))


def _folder(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def hosted_name(path: Path) -> str:
    """``<sha256 of the bytes, 32 hex>`` plus the file's suffix, lower-cased."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_READ):
            digest.update(block)
    return digest.hexdigest()[:32] + path.suffix.lower()


async def upload(path: Path, config: PutHostConfig) -> str:
    """PUT ``path`` to the host and return its public URL. Raises TransientError when the host
    cannot be reached (the job retries), PermanentError when it refuses the file."""
    import aiohttp  # only a post that hosts a file pays for it

    name = await asyncio.to_thread(hosted_name, path)
    target = config.put_url + name
    where = urlsplit(target).netloc
    headers = {"Content-Type": mimetypes.guess_type(path.name)[0] or "application/octet-stream"}
    try:
        # One session per upload: the host_media hook gets no session, and uploads are few.
        async with aiohttp.ClientSession(trust_env=False, timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http:
            with path.open("rb") as body:
                async with http.put(target, data=body, headers=headers) as response:
                    if response.status >= 500:
                        raise TransientError(f"the media host at {where} answered HTTP {response.status}")
                    if response.status >= 300:
                        raise PermanentError(
                            f"the media host at {where} refused {path.name}: HTTP {response.status}",
                            code="media_host_refused",
                            hint="check CROSSPOST_MEDIA_PUT_URL (crosspost emulator prints it)")
                    answer = await response.json(content_type=None) if response.content_length else None
    except aiohttp.ClientError as exc:
        raise TransientError(f"the media host at {where} cannot be reached ({type(exc).__name__}); is "
                             "`crosspost emulator` (or your PUT server) still running?") from None
    url = answer.get("url") if isinstance(answer, dict) else None
    return url if isinstance(url, str) and url else config.public_base_url + name
