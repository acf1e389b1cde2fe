"""TikTok's half of request import: a hosted service's TikTok settings block as ``target_options.tiktok``.

``crosspost.core.services`` reads each service's generic request shape (``mediaItems``,
``platforms``, ``targets``...) and hands every TikTok settings block it meets to
:func:`import_settings` (through ``TikTokPlatform.import_settings``), so core names no platform.

Blocks by service:

* ``zernio``, ``late``, ``socialsyncer``: ``tiktokSettings`` at the root, or
  ``platforms[].platformSpecificData`` (flat, or Late's deprecated nested ``tiktokSettings``).
  camelCase and snake_case are both accepted, as Zernio's spec says.
* ``postpost``: ``platformSettings.tiktok`` (``viewerSetting``, ``allowComments``...). PostPost
  documents that it sent the allow flags *inverted*; crosspost maps them as written.
* ``relay``: ``target_options.tiktok``, crosspost's own names plus RelayAPI's current
  ``publish_mode`` (``inbox`` is a draft) and ``source_mode`` (crosspost picks the source itself).

Problems are raised as :class:`InvalidPost` with fields relative to the block; the caller
prefixes its own path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crosspost.core.errors import InvalidPost, Problem
from crosspost.core.importers import ImportedOptions

SERVICES = ("zernio", "late", "socialsyncer", "postpost", "relay")
POSTPOST_NAMES: Mapping[str, str] = {
    "viewerSetting": "privacy_level",
    "allowComments": "allow_comment",
    "allowDuet": "allow_duet",
    "allowStitch": "allow_stitch",
}
POSTPOST_BRAND_KEYS = ("commercialContent", "brandOrganic", "brandedContent")
INVERSION_NOTE = (
    "PostPost documents that it sent allowComments/allowDuet/allowStitch to TikTok inverted; crosspost "
    "maps them as written (allowDuet: false turns duets off). If you flipped them as PostPost's "
    "workaround advised, flip them back."
)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_ZERNIO_RENAMES: Mapping[str, str] = {"is_brand_organic_post": "brand_organic_toggle",
                                      "brand_partner_promote": "brand_content_toggle"}


def snake(key: str) -> str:
    """``privacyLevel`` -> ``privacy_level``; snake_case keys are returned as they are."""
    return _CAMEL.sub(r"_\1", key).lower()


def import_settings(service: str, block: Mapping[str, Any]) -> ImportedOptions | None:
    """``target_options.tiktok`` from ``service``'s TikTok block; None for a service not read here."""
    if service in ("zernio", "late", "socialsyncer"):
        return _zernio(block)
    if service == "postpost":
        return _postpost(block)
    if service == "relay":
        return _relay(block)
    return None


def _zernio(block: Mapping[str, Any]) -> ImportedOptions:
    flat = dict(block)
    notes: list[str] = []
    nested = flat.pop("tiktokSettings", None)
    if nested is not None:
        if not isinstance(nested, Mapping):
            raise InvalidPost([Problem(field="tiktokSettings", message="expected an object of TikTok settings")])
        notes.append("platformSpecificData.tiktokSettings is Late's deprecated nesting; read as flat settings")
        for key, value in nested.items():
            if key in flat and flat[key] != value:
                raise InvalidPost([Problem(field=f"tiktokSettings.{key}", message=f"contradicts {key}; give it once")])
            flat[key] = value
    options = {_ZERNIO_RENAMES.get(snake(key), snake(key)): value for key, value in flat.items()}
    return ImportedOptions(options=options, notes=tuple(notes))


def _postpost(tiktok: Mapping[str, Any]) -> ImportedOptions:
    accepted = frozenset(POSTPOST_NAMES) | frozenset(POSTPOST_BRAND_KEYS)
    problems = [Problem(field=key, message=f"not understood by the importer; accepted: {', '.join(sorted(accepted))}")
                for key in tiktok if key not in accepted]
    notes: list[str] = []
    options: dict[str, Any] = {}
    for key, name in POSTPOST_NAMES.items():
        if key in tiktok and tiktok[key] != "":
            options[name] = tiktok[key]
    if tiktok.get("viewerSetting") == "":
        notes.append("viewerSetting is empty: choose privacy_level (crosspost never defaults it)")
    if any(key in tiktok for key in ("allowComments", "allowDuet", "allowStitch")):
        notes.append(INVERSION_NOTE)
    commercial = _postpost_commercial(tiktok, problems)
    if commercial is not None:
        options["commercial_content_type"] = commercial
    if problems:
        raise InvalidPost(problems)
    return ImportedOptions(options=options, notes=tuple(notes))


def _postpost_commercial(tiktok: Mapping[str, Any], problems: list[Problem]) -> str | None:
    if not any(key in tiktok for key in POSTPOST_BRAND_KEYS):
        return None
    flags = {key: tiktok.get(key, False) for key in POSTPOST_BRAND_KEYS}
    for key, value in flags.items():
        if not isinstance(value, bool):
            problems.append(Problem(field=key, message=f"expected true or false, got {value!r}"))
            return None
    on, organic, branded = (flags[key] for key in POSTPOST_BRAND_KEYS)
    if not on:
        if organic or branded:
            problems.append(Problem(field="commercialContent", message="is false while brandOrganic or "
                                    "brandedContent is true: set commercialContent to true or clear them"))
        return "none"
    if not (organic or branded):
        problems.append(Problem(field="commercialContent", message="You need to indicate if your content promotes "
                                "yourself (brandOrganic), a third party (brandedContent), or both."))
        return None
    return "both" if organic and branded else "brand_organic" if organic else "brand_content"


def _relay(block: Mapping[str, Any]) -> ImportedOptions:
    options = dict(block)
    notes: list[str] = []
    mode = options.pop("publish_mode", None)
    if mode is not None:
        if mode not in ("direct", "inbox"):
            raise InvalidPost([Problem(field="publish_mode", message=f"expected 'direct' or 'inbox', got {mode!r}")])
        if "draft" in options and options["draft"] != (mode == "inbox"):
            raise InvalidPost([Problem(field="publish_mode", message="contradicts draft; give one of them")])
        options["draft"] = mode == "inbox"
    if options.pop("source_mode", None) is not None:
        notes.append("source_mode is ignored: crosspost uploads the file or lets TikTok pull it by itself")
    return ImportedOptions(options=options, notes=tuple(notes))
