"""Uploading a local file to an S3-compatible bucket and naming its public URL.

Objects are keyed by the SHA-256 of their bytes, so hosting the same photo twice (a retry, a
second target) uploads it once, and a URL never points at different bytes than it did before.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from crosspost.core.errors import ConfigError, TransientError

_READ = 4 * 1024 * 1024


@attrs.frozen(kw_only=True)
class S3HostConfig:
    """Where hosted media go and how the world reaches them (``CROSSPOST_S3_*``)."""

    bucket: str
    public_base_url: str
    """The verified-domain URL the bucket is served under, e.g. ``https://media.example.com``."""
    endpoint_url: str | None = None
    region: str = "us-east-1"
    prefix: str = "crosspost/"
    acl: str | None = None
    """A canned ACL such as ``public-read``; leave unset when a bucket policy or CDN serves reads."""
    access_key_id: str | None = attrs.field(default=None, repr=False)
    secret_access_key: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> S3HostConfig | None:
        """The config, or None when no bucket is configured (the host then declines)."""
        bucket = values.get("bucket")
        if not bucket:
            return None
        public = values.get("public_base_url")
        if not public:
            raise ConfigError("CROSSPOST_S3_BUCKET is set but CROSSPOST_S3_PUBLIC_BASE_URL is not: "
                              "set it to the verified https:// address the bucket is served from")
        return cls(bucket=bucket, public_base_url=public.rstrip("/"),
                   endpoint_url=values.get("endpoint_url") or None,
                   region=values.get("region") or "us-east-1",
                   prefix=values.get("prefix", "crosspost/"),
                   acl=values.get("acl") or None,
                   access_key_id=values.get("access_key_id") or None,
                   secret_access_key=values.get("secret_access_key") or None)


def object_key(path: Path, prefix: str) -> str:
    """``<prefix><sha256>/<file name>``: content-addressed, human-recognisable."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ):
            digest.update(block)
    return f"{prefix}{digest.hexdigest()}/{path.name}"


async def upload(path: Path, config: S3HostConfig) -> str:
    """Put ``path`` in the bucket (once per content) and return its public URL."""
    try:
        from aiobotocore.session import get_session
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ConfigError("the S3 media host needs aiobotocore: pip install 'crosspost[s3]'") from None
    key = await asyncio.to_thread(object_key, path, config.prefix)
    size = (await asyncio.to_thread(path.stat)).st_size
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    kwargs: dict[str, Any] = {"region_name": config.region, "endpoint_url": config.endpoint_url}
    if config.access_key_id:
        kwargs["aws_access_key_id"] = config.access_key_id
        kwargs["aws_secret_access_key"] = config.secret_access_key
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        async with get_session().create_client("s3", **kwargs) as client:
            if not await _exists(client, config.bucket, key):
                extra = {"ACL": config.acl} if config.acl else {}
                with path.open("rb") as body:
                    await client.put_object(Bucket=config.bucket, Key=key, Body=body, ContentType=content_type,
                                            ContentLength=size, **extra)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigError(f"S3 refused the upload to bucket {config.bucket!r} ({code}): "
                          "check the bucket name and the credentials") from None
    except BotoCoreError as exc:
        raise TransientError(f"could not reach the S3 endpoint: {type(exc).__name__}",
                             code="media_host_unreachable") from None
    return f"{config.public_base_url}/{key}"


async def _exists(client: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        await client.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True
