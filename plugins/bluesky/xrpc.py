"""The XRPC calls crosspost makes, as pure request values and answer parsers.

Queries are ``GET /xrpc/<nsid>?params``, procedures ``POST /xrpc/<nsid>`` with JSON or raw
bytes. A :class:`Call` carries no credential: ``auth`` says which one the client adds (the
session's access token, its refresh token, a service-auth token, or none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from crosspost.plugins.bluesky.records import POST, StrongRef

Auth = Literal["access", "refresh", "service", "none"]


@attrs.frozen(kw_only=True)
class Call:
    """One XRPC call, without credentials."""

    method: Literal["GET", "POST"]
    nsid: str
    params: Mapping[str, str] = attrs.field(factory=dict)
    json: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    """The JSON body (not in the repr: a login body holds the password)."""
    content_type: str | None = None
    """For raw bodies (uploads): the bytes' MIME type."""
    auth: Auth = "access"

    @property
    def path(self) -> str:
        return f"/xrpc/{self.nsid}"


def create_session(identifier: str, password: str) -> Call:
    return Call(method="POST", nsid="com.atproto.server.createSession",
                json={"identifier": identifier, "password": password}, auth="none")


def refresh_session() -> Call:
    return Call(method="POST", nsid="com.atproto.server.refreshSession", auth="refresh")


def get_session() -> Call:
    return Call(method="GET", nsid="com.atproto.server.getSession")


def resolve_handle(handle: str) -> Call:
    return Call(method="GET", nsid="com.atproto.identity.resolveHandle", params={"handle": handle}, auth="none")


def upload_blob(mime: str) -> Call:
    return Call(method="POST", nsid="com.atproto.repo.uploadBlob", content_type=mime)


def create_record(repo: str, rkey: str, record: Mapping[str, Any], *, collection: str = POST) -> Call:
    return Call(method="POST", nsid="com.atproto.repo.createRecord",
                json={"repo": repo, "collection": collection, "rkey": rkey, "validate": True, "record": dict(record)})


def get_record(repo: str, rkey: str, *, collection: str = POST) -> Call:
    return Call(method="GET", nsid="com.atproto.repo.getRecord",
                params={"repo": repo, "collection": collection, "rkey": rkey}, auth="none")


def get_service_auth(aud: str, lxm: str, exp: int) -> Call:
    return Call(method="GET", nsid="com.atproto.server.getServiceAuth",
                params={"aud": aud, "lxm": lxm, "exp": str(exp)})


def video_upload_limits() -> Call:
    return Call(method="GET", nsid="app.bsky.video.getUploadLimits", auth="service")


def upload_video(did: str, name: str) -> Call:
    return Call(method="POST", nsid="app.bsky.video.uploadVideo", params={"did": did, "name": name},
                content_type="video/mp4", auth="service")


def video_job_status(job_id: str) -> Call:
    return Call(method="GET", nsid="app.bsky.video.getJobStatus", params={"jobId": job_id}, auth="none")


# -- answers ------------------------------------------------------------------------------------


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValueError("the answer is not a JSON object")
    return body


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the answer has no {key!r}")
    return value


def parse_did(body: object) -> str:
    return _string(_object(body), "did")


def parse_blob(body: object) -> dict[str, Any]:
    """The blob reference of an ``uploadBlob`` answer, as the record must carry it."""
    blob = _object(body).get("blob")
    if not isinstance(blob, Mapping) or not isinstance(blob.get("ref"), Mapping):
        raise ValueError("the answer has no blob reference")
    return dict(blob)


def parse_ref(body: object) -> StrongRef:
    """``{uri, cid}`` of a written or read record."""
    data = _object(body)
    cid = data.get("cid")
    if not isinstance(cid, str) or not cid:
        raise ValueError("the answer has no 'cid'")
    return StrongRef(uri=_string(data, "uri"), cid=cid)


def parse_token(body: object) -> str:
    return _string(_object(body), "token")


@attrs.frozen(kw_only=True)
class UploadLimits:
    """``getUploadLimits``: may this account upload a video now, and how much today."""

    can_upload: bool
    remaining_videos: int | None = None
    remaining_bytes: int | None = None
    message: str | None = None


def parse_upload_limits(body: object) -> UploadLimits:
    data = _object(body)
    can = data.get("canUpload")
    if not isinstance(can, bool):
        raise ValueError("the answer has no 'canUpload'")
    videos, size, message = data.get("remainingDailyVideos"), data.get("remainingDailyBytes"), data.get("message")
    return UploadLimits(can_upload=can, remaining_videos=videos if isinstance(videos, int) else None,
                        remaining_bytes=size if isinstance(size, int) else None,
                        message=message if isinstance(message, str) else None)


@attrs.frozen(kw_only=True)
class VideoJob:
    """A video service job: ``state`` walks from ``JOB_STATE_CREATED`` to ``_COMPLETED`` (with
    ``blob``) or ``_FAILED``; any other state means "still working"."""

    job_id: str
    state: str
    progress: int | None = None
    blob: Mapping[str, Any] | None = None
    error: str | None = None
    message: str | None = None

    @property
    def completed(self) -> bool:
        return self.state == "JOB_STATE_COMPLETED" and self.blob is not None

    @property
    def failed(self) -> bool:
        return self.state == "JOB_STATE_FAILED"


def parse_job_status(body: object) -> VideoJob:
    """The ``jobStatus`` of ``uploadVideo``/``getJobStatus`` (also inside an ``already_exists`` error)."""
    status = _object(body).get("jobStatus", body)
    data = _object(status)
    blob, progress = data.get("blob"), data.get("progress")
    error, message = data.get("error"), data.get("message")
    return VideoJob(job_id=_string(data, "jobId"), state=_string(data, "state"),
                    progress=progress if isinstance(progress, int) else None,
                    blob=blob if isinstance(blob, Mapping) else None,
                    error=error if isinstance(error, str) else None,
                    message=message if isinstance(message, str) else None)
