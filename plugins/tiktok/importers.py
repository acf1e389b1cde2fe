"""Read the request shapes of hosted posting services, so users bring existing payloads unchanged.

Shapes (``detect_shape``):

* ``crosspost``: ``targets`` / ``media`` / ``scheduled_at`` / ``target_options.tiktok`` — also
  RelayAPI's shape; returned as is.
* ``zernio``: SocialSyncerAPI and Zernio — ``mediaItems``, ``platforms: [{platform, accountId}]``,
  top-level ``tiktokSettings``, ``publishNow`` or ``scheduledFor`` (+ ``timezone``).
* ``late``: the same family with ``platforms[].platformSpecificData.tiktokSettings``.
* ``postpost``: ``platforms: ["tiktok-{openId}"]`` and camelCase ``platformSettings.tiktok``
  (``viewerSetting``, ``allowComments``, ...). PostPost documents that it sends the allow flags
  *inverted*; crosspost maps them as written (``allowDuet: false`` turns duets off) and says so.

The result is crosspost's wire form (what ``post_from_dict`` reads). Nothing is dropped
silently: unknown keys are problems (raised together as :class:`InvalidPost`, at the source
payload's paths) and every change of meaning is a note. Accounts: the services' account ids mean
nothing to crosspost, so ``account_map`` turns them into crosspost account names. Without a
mapping, a single TikTok id targets the only TikTok account (``tiktok``); several ids are kept as
account names (``tiktok:{id}``). Either way a note says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from crosspost.core.errors import InvalidPost, Problem
from crosspost.core.importers import ImportedRequest

SHAPES = ("crosspost", "zernio", "late", "postpost")
_ZERNIO_KEYS = frozenset({"content", "mediaItems", "platforms", "tiktokSettings", "publishNow", "scheduledFor",
                          "timezone"})
_POSTPOST_KEYS = frozenset({"content", "platforms", "platformSettings"})
_MEDIA_ITEM_KEYS = frozenset({"type", "url"})
_MEDIA_TYPES = frozenset({"video", "image"})
TIKTOK_SETTINGS_NAMES: Mapping[str, str] = {"commercialContentType": "commercial_content_type"}
"""tiktokSettings keys renamed on import; every other key is already crosspost's name."""
POSTPOST_NAMES: Mapping[str, str] = {
    "viewerSetting": "privacy_level",
    "allowComments": "allow_comment",
    "allowDuet": "allow_duet",
    "allowStitch": "allow_stitch",
}
_POSTPOST_BRAND_KEYS = ("commercialContent", "brandOrganic", "brandedContent")
_INVERSION_NOTE = (
    "PostPost documents that it sent allowComments/allowDuet/allowStitch to TikTok inverted; crosspost "
    "maps them as written (allowDuet: false turns duets off). If you flipped them as PostPost's "
    "workaround advised, flip them back."
)


@attrs.frozen(kw_only=True)
class ImportResult:
    """An imported request, the shape it came in, and what the user should know about the import."""

    shape: str
    request: dict[str, Any]
    notes: tuple[str, ...] = ()


def detect_shape(payload: Mapping[str, Any]) -> str:
    """One of :data:`SHAPES`, or ``"unknown"``."""
    platforms = payload.get("platforms")
    entries = platforms if isinstance(platforms, list) else []
    if "platformSettings" in payload or (entries and all(isinstance(p, str) for p in entries)):
        return "postpost"
    if any(isinstance(p, Mapping) and "platformSpecificData" in p for p in entries):
        return "late"
    if entries or {"mediaItems", "tiktokSettings", "publishNow", "scheduledFor"} & set(payload):
        return "zernio"
    if "targets" in payload or "target_options" in payload:
        return "crosspost"
    return "unknown"


def import_request(
    payload: Mapping[str, Any], *, account_map: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """``payload`` in crosspost's wire form; ``None`` when its shape is not one this module reads.

    Raises :class:`InvalidPost` listing every problem in a payload of a known shape.
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
    importer = _Importer(account_map=dict(account_map or {}))
    request = importer.postpost(payload) if shape == "postpost" else importer.zernio(payload)
    if importer.problems:
        raise InvalidPost(importer.problems)
    return ImportResult(shape=shape, request=request, notes=tuple(importer.notes))


@attrs.define
class _Importer:
    account_map: dict[str, str]
    problems: list[Problem] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    unmapped: set[str] = attrs.field(factory=set)

    def problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(field=field, message=message))

    # --- SocialSyncerAPI / Zernio / Late ---------------------------------------------------------

    def zernio(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self.unknown_keys(payload, _ZERNIO_KEYS, "")
        request: dict[str, Any] = {}
        if "content" in payload:
            request["content"] = payload["content"]
        request["media"] = self.media_items(payload.get("mediaItems", []))
        settings = self.settings(payload.get("tiktokSettings", {}), "tiktokSettings")
        targets: list[str] = []
        platforms = payload.get("platforms")
        if not isinstance(platforms, list) or not platforms:
            self.problem("platforms", "expected a non-empty list such as [{\"platform\": \"tiktok\"}]")
            platforms = []
        for index, entry in enumerate(platforms):
            target = self.platform_entry(entry, f"platforms[{index}]", settings)
            if target and target not in targets:
                targets.append(target)
        request["targets"] = self.accounts(targets)
        request |= self.schedule(payload)
        if settings:
            request["target_options"] = {"tiktok": settings}
        return request

    def media_items(self, items: object) -> list[dict[str, str]]:
        if not isinstance(items, list):
            self.problem("mediaItems", "expected a list of {\"type\": \"video\"|\"image\", \"url\": ...}")
            return []
        media = []
        for index, item in enumerate(items):
            path = f"mediaItems[{index}]"
            if not isinstance(item, Mapping):
                self.problem(path, "expected an object with 'type' and 'url'")
                continue
            self.unknown_keys(item, _MEDIA_ITEM_KEYS, path)
            kind, url = item.get("type"), item.get("url")
            if kind not in _MEDIA_TYPES:
                self.problem(f"{path}.type", f"expected 'video' or 'image', got {kind!r}")
            if not isinstance(url, str) or not url:
                self.problem(f"{path}.url", "expected the media URL (a non-empty string)")
            if kind in _MEDIA_TYPES and isinstance(url, str) and url:
                media.append({"type": str(kind), "url": url})
        return media

    def settings(self, raw: object, path: str) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            self.problem(path, "expected an object of TikTok settings")
            return {}
        return {TIKTOK_SETTINGS_NAMES.get(key, key): value for key, value in raw.items()}

    def platform_entry(self, entry: object, path: str, settings: dict[str, Any]) -> str | None:
        if not isinstance(entry, Mapping):
            self.problem(path, "expected an object such as {\"platform\": \"tiktok\", \"accountId\": \"...\"}")
            return None
        self.unknown_keys(entry, frozenset({"platform", "accountId", "platformSpecificData"}), path)
        platform = entry.get("platform")
        if not isinstance(platform, str) or not platform:
            self.problem(f"{path}.platform", "expected a platform name such as 'tiktok'")
            return None
        specific = entry.get("platformSpecificData", {})
        if platform.lower() == "tiktok":
            self.merge_specific(specific, f"{path}.platformSpecificData", settings)
        elif specific:
            self.notes.append(f"{path}: settings for {platform} were not imported (crosspost imports TikTok's)")
        return self.target(platform.lower(), entry.get("accountId"), path)

    def merge_specific(self, specific: object, path: str, settings: dict[str, Any]) -> None:
        if not isinstance(specific, Mapping):
            self.problem(path, "expected an object with 'tiktokSettings'")
            return
        self.unknown_keys(specific, frozenset({"tiktokSettings"}), path)
        for key, value in self.settings(specific.get("tiktokSettings", {}), f"{path}.tiktokSettings").items():
            if key in settings and settings[key] != value:
                self.problem(f"{path}.tiktokSettings.{key}", f"contradicts tiktokSettings.{key}; give it once")
            settings[key] = value

    def schedule(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        now, when = payload.get("publishNow"), payload.get("scheduledFor")
        result: dict[str, Any] = {}
        if "timezone" in payload:
            result["timezone"] = payload["timezone"]
        if now is True and when is not None:
            self.problem("publishNow", "both publishNow and scheduledFor are set: keep one of them")
        elif now is True:
            result["scheduled_at"] = "now"
        elif isinstance(when, str) and when:
            result["scheduled_at"] = when
        elif now not in (None, False):
            self.problem("publishNow", f"expected true or false, got {now!r}")
        else:
            self.problem("scheduledFor", "no publishNow: true and no scheduledFor time: the hosted service keeps "
                                         "such a post as an unscheduled draft; add one of them to post it")
        return result

    # --- PostPost -------------------------------------------------------------------------------

    def postpost(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self.unknown_keys(payload, _POSTPOST_KEYS, "")
        request: dict[str, Any] = {}
        if "content" in payload:
            request["content"] = payload["content"]
        platforms = payload.get("platforms")
        if not isinstance(platforms, list) or not platforms or not all(isinstance(p, str) for p in platforms):
            self.problem("platforms", "expected a non-empty list of platform ids such as 'tiktok-99887766'")
            platforms = []
        targets: list[str] = []
        for index, platform_id in enumerate(platforms):
            platform, _, account = str(platform_id).partition("-")
            target = self.target(platform.lower(), account or None, f"platforms[{index}]")
            if target and target not in targets:
                targets.append(target)
        request["targets"] = self.accounts(targets)
        options = self.postpost_settings(payload.get("platformSettings", {}))
        if options:
            request["target_options"] = {"tiktok": options}
        self.notes.append("PostPost uploads the video in a separate step, so this request has no media: "
                          "add the video (for example with --video) before posting")
        return request

    def postpost_settings(self, raw: object) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            self.problem("platformSettings", "expected an object keyed by platform")
            return {}
        others = sorted(k for k in raw if k != "tiktok")
        if others:
            self.notes.append(f"platformSettings for {', '.join(others)} were not imported")
        tiktok = raw.get("tiktok", {})
        path = "platformSettings.tiktok"
        if not isinstance(tiktok, Mapping):
            self.problem(path, "expected an object of TikTok settings")
            return {}
        self.unknown_keys(tiktok, frozenset(POSTPOST_NAMES) | frozenset(_POSTPOST_BRAND_KEYS), path)
        options: dict[str, Any] = {}
        for key, name in POSTPOST_NAMES.items():
            if key in tiktok and tiktok[key] != "":
                options[name] = tiktok[key]
        if tiktok.get("viewerSetting") == "":
            self.notes.append("viewerSetting is empty: choose privacy_level (crosspost never defaults it)")
        if any(key in tiktok for key in ("allowComments", "allowDuet", "allowStitch")):
            self.notes.append(_INVERSION_NOTE)
        commercial = self.postpost_commercial(tiktok, path)
        if commercial is not None:
            options["commercial_content_type"] = commercial
        return options

    def postpost_commercial(self, tiktok: Mapping[str, Any], path: str) -> str | None:
        if not any(key in tiktok for key in _POSTPOST_BRAND_KEYS):
            return None
        flags = {key: tiktok.get(key, False) for key in _POSTPOST_BRAND_KEYS}
        for key, value in flags.items():
            if not isinstance(value, bool):
                self.problem(f"{path}.{key}", f"expected true or false, got {value!r}")
                return None
        on, organic, branded = (flags[key] for key in _POSTPOST_BRAND_KEYS)
        if not on:
            if organic or branded:
                self.problem(f"{path}.commercialContent", "is false while brandOrganic or brandedContent is true: "
                                                          "set commercialContent to true or clear them")
            return "none"
        if not (organic or branded):
            self.problem(f"{path}.commercialContent", "You need to indicate if your content promotes yourself "
                                                      "(brandOrganic), a third party (brandedContent), or both.")
            return None
        return "both" if organic and branded else "brand_organic" if organic else "brand_content"

    # --- shared --------------------------------------------------------------------------------

    def target(self, platform: str, account: object, path: str) -> str | None:
        if not platform or not platform.replace("_", "").isalnum():
            self.problem(path, f"not a platform name crosspost can read: {platform!r}")
            return None
        if account is None or account == "":
            return platform
        if not isinstance(account, str | int):
            self.problem(path, f"expected an account id string, got {account!r}")
            return None
        mapped = self.account_map.get(str(account))
        if mapped:
            return f"{platform}:{mapped}"
        if platform != "tiktok":
            self.notes.append(f"{path}: account {account} of {platform} is not mapped; targeting '{platform}'")
            return platform
        self.unmapped.add(str(account))
        return f"tiktok:{account}"

    def accounts(self, targets: list[str]) -> list[str]:
        """Unmapped TikTok ids: one goes to the only TikTok account, several keep their ids as names."""
        if len(self.unmapped) == 1:
            account = next(iter(self.unmapped))
            self.notes.append(f"TikTok account {account!r} is another service's id; the post goes to your only "
                              "crosspost TikTok account (map the id to an account name to choose one)")
            return list(dict.fromkeys("tiktok" if t == f"tiktok:{account}" else t for t in targets))
        if self.unmapped:
            ids = ", ".join(sorted(self.unmapped))
            self.notes.append(f"TikTok account ids {ids} are used as crosspost account names; rename the "
                              "accounts or edit the ids if they differ")
        return targets

    def unknown_keys(self, data: Mapping[str, Any], accepted: frozenset[str], path: str) -> None:
        for key in data:
            if key not in accepted:
                where = f"{path}.{key}" if path else str(key)
                self.problem(where, f"not understood by the importer; accepted: {', '.join(sorted(accepted))}")


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
