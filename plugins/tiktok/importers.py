"""Read the request shapes of hosted posting services, so users bring existing payloads unchanged.

The shapes themselves are services', not TikTok's: they are read by
:mod:`crosspost.core.services` (``detect_shape``, ``read_request``), and the TikTok settings
block in them by :mod:`crosspost.plugins.tiktok.service_settings`. This module keeps the
CLI's entry points (``crosspost post --from``) and their account rules: the services' account ids
mean nothing to crosspost, so ``account_map`` turns them into crosspost account names. Without a
mapping, a single TikTok id targets the only TikTok account (``tiktok``); several ids are kept as
account names (``tiktok:{id}``). Either way a note says so.

Shapes: ``crosspost`` (also RelayAPI's, returned as is), ``zernio`` (SocialSyncerAPI and Zernio),
``late`` (``platforms[].platformSpecificData.tiktokSettings``) and ``postpost``. PostPost documents
that it sends the allow flags *inverted*; crosspost maps them as written and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from crosspost.core.importers import ImportedOptions, ImportedRequest
from crosspost.core.services import detect_shape, read_request
from crosspost.plugins.tiktok.service_settings import INVERSION_NOTE, POSTPOST_NAMES, import_settings

__all__ = ["INVERSION_NOTE", "POSTPOST_NAMES", "SHAPES", "SHAPE_NAMES", "HostedServiceImporter", "ImportResult",
           "detect_shape", "import_request", "import_with_notes"]

SHAPES = ("crosspost", "zernio", "late", "postpost")


@attrs.frozen(kw_only=True)
class ImportResult:
    """An imported request, the shape it came in, and what the user should know about the import."""

    shape: str
    request: dict[str, Any]
    notes: tuple[str, ...] = ()


def tiktok_settings(platform: str, service: str, block: Mapping[str, Any]) -> ImportedOptions | None:
    """The settings reader of the CLI's importer: TikTok's blocks only (other platforms are noted)."""
    return import_settings(service, block) if platform == "tiktok" else None


def import_request(
    payload: Mapping[str, Any], *, account_map: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """``payload`` in crosspost's wire form; ``None`` when its shape is not one this module reads.

    Raises :class:`~crosspost.core.errors.InvalidPost` listing every problem in a payload of a known shape.
    """
    result = import_with_notes(payload, account_map=account_map)
    return None if result is None else result.request


def import_with_notes(
    payload: Mapping[str, Any], *, account_map: Mapping[str, str] | None = None
) -> ImportResult | None:
    """Like :func:`import_request`, with the detected shape and the notes for the user."""
    shape = detect_shape(payload)
    if shape == "unknown":
        return None
    if shape == "crosspost":
        return ImportResult(shape=shape, request=dict(payload))
    read = read_request(shape, payload, tiktok_settings, account_map=account_map, strict=True)
    return ImportResult(shape=shape, request=read.request, notes=read.notes)


SHAPE_NAMES: Mapping[str, str] = {"zernio": "Zernio/SocialSyncerAPI", "late": "Late", "postpost": "PostPost"}
"""How each shape is named to the user: Zernio and SocialSyncerAPI send the same body, so a
SocialSyncerAPI request is never announced as Zernio's alone."""


class HostedServiceImporter:
    """The ``register_importers`` door over :func:`import_with_notes` (crosspost's own shape is
    left to core)."""

    name = "tiktok-hosted-services"

    def read(self, data: Mapping[str, Any]) -> ImportedRequest | None:
        result = import_with_notes(data)
        if result is None or result.shape == "crosspost":
            return None
        return ImportedRequest(shape=SHAPE_NAMES.get(result.shape, result.shape), request=result.request,
                               notes=result.notes)
