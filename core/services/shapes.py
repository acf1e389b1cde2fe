"""Read a hosted posting service's request body as crosspost's wire form (what ``post_from_dict`` reads).

Services (``SERVICES``) and their shapes:

* ``zernio``, ``late``, ``socialsyncer``: ``content``, ``mediaItems``, ``platforms: [{platform,
  accountId, platformSpecificData?, customContent?}]``, root ``<platform>Settings`` blocks,
  ``publishNow`` or ``scheduledFor`` (+ ``timezone``), ``isDraft``. A root settings block is
  merged into every target of its platform and the target's own values win (Late's documented rule).
* ``postpost``: ``platforms: ["<platform>-<id>"]``, ``platformSettings.<platform>``, ``scheduledTime``.
* ``relay``: ``targets``, ``media``, ``scheduled_at`` (``now``, ``draft`` or a time),
  ``target_options.<platform>`` — crosspost's own shape plus RelayAPI's extra keys.

Every per-platform block goes to a :data:`SettingsReader` (``Platform.import_settings`` in the
server and the CLI), so this module names no platform. Nothing is dropped silently: unknown keys
are problems (all raised together as :class:`InvalidPost`, at the body's own paths), and every
change of meaning is a note. ``strict`` (the CLI's ``post --from``) accepts only the keys that
carry a post; the server also takes the services' bookkeeping keys (``tags``, ``metadata``...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from crosspost.core.errors import InvalidPost, Problem
from crosspost.core.importers import ImportedOptions

SERVICES = ("zernio", "late", "socialsyncer", "postpost", "relay")
SettingsReader = Callable[[str, str, Mapping[str, Any]], ImportedOptions | None]
"""``(platform, service, block)`` -> that platform's ``target_options``, or None when the platform
does not read that service's block. Raises :class:`InvalidPost` with fields relative to the block."""
AccountResolver = Callable[[str, str], str]
"""``(platform, service account id)`` -> crosspost target (``tiktok:main``); ValueError when unknown."""

_SETTINGS_KEY = re.compile(r"^([a-z][a-z0-9]*)Settings$")
_ZERNIO_POST_KEYS = frozenset({"content", "mediaItems", "platforms", "publishNow", "scheduledFor", "timezone"})
_ZERNIO_BOOKKEEPING = frozenset({"isDraft", "title", "tags", "hashtags", "mentions", "metadata", "visibility"})
_ENTRY_KEYS = frozenset({"platform", "accountId", "platformSpecificData"})
_ENTRY_EXTRA = frozenset({"customContent"})
_MEDIA_ITEM_KEYS = frozenset({"type", "url"})
_MEDIA_ITEM_EXTRA = frozenset({"altText", "title", "filename", "size", "mimeType"})
_MEDIA_TYPES = frozenset({"video", "image"})
_POSTPOST_KEYS = frozenset({"content", "platforms", "platformSettings"})
_POSTPOST_EXTRA = frozenset({"scheduledTime"})
_POSTPOST_ID = re.compile(r"^[a-z]+-[a-zA-Z0-9_-]+$")
_RELAY_KEYS = frozenset({"content", "targets", "media", "scheduled_at", "target_options", "timezone"})
_RELAY_MEDIA_KEYS = frozenset({"url", "type", "alt_text", "mime_type", "width", "height", "duration_ms", "path",
                               "alt"})


@attrs.frozen(kw_only=True)
class ServiceRequest:
    """A service's request read as crosspost's: the wire dict, whether it is a draft, and notes."""

    service: str
    request: dict[str, Any]
    draft: bool = False
    """The body asks to keep the post unscheduled (``isDraft``, ``scheduled_at: draft``, PostPost
    without ``scheduledTime``); ``request`` then has no ``scheduled_at``."""
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    """Bookkeeping the service echoes back (Zernio's ``metadata``, ``tags``, ``title``)."""
    notes: tuple[str, ...] = ()


def detect_shape(payload: Mapping[str, Any]) -> str:
    """``zernio``, ``late``, ``postpost``, ``crosspost`` (RelayAPI's shape too) or ``unknown``."""
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


def read_request(service: str, payload: object, settings: SettingsReader, *, accounts: AccountResolver | None = None,
                 account_map: Mapping[str, str] | None = None, strict: bool = False) -> ServiceRequest:
    """``payload`` as ``service`` sends it, read into crosspost's wire form.

    Accounts: with ``accounts`` (the server), a service account id must name a crosspost account.
    Without it (the CLI), ``account_map`` renames ids, one unmapped id of a platform targets that
    platform's only account, and several keep their ids as account names (each with a note).
    Raises :class:`InvalidPost` listing every problem.
    """
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    reader = _Reader(service=service, settings_reader=settings, resolver=accounts,
                     account_map=dict(account_map or {}), strict=strict)
    if not isinstance(payload, Mapping):
        raise InvalidPost([Problem(field="", message="expected a JSON object")])
    if service == "postpost":
        result = reader.postpost(payload)
    elif service == "relay":
        result = reader.relay(payload)
    else:
        result = reader.zernio(payload)
    if reader.problems:
        raise InvalidPost(reader.problems)
    return attrs.evolve(result, notes=tuple(reader.notes))


@attrs.define
class _Reader:
    service: str
    settings_reader: SettingsReader
    resolver: AccountResolver | None
    account_map: dict[str, str]
    strict: bool
    problems: list[Problem] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    unmapped: dict[str, set[str]] = attrs.field(factory=dict)

    def problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(field=field, message=message))

    # --- Zernio / Late / SocialSyncerAPI ---------------------------------------------------------

    def zernio(self, payload: Mapping[str, Any]) -> ServiceRequest:
        accepted = _ZERNIO_POST_KEYS | (frozenset() if self.strict else _ZERNIO_BOOKKEEPING)
        self.unknown_keys({k: v for k, v in payload.items() if not _SETTINGS_KEY.match(str(k))}, accepted, "",
                          extra=sorted(k for k in payload if _SETTINGS_KEY.match(str(k))) or ["tiktokSettings"])
        request: dict[str, Any] = {}
        if "content" in payload:
            request["content"] = payload["content"]
        request["media"] = self.media_items(payload.get("mediaItems", []))
        root = self.root_settings(payload)
        options: dict[str, dict[str, Any]] = {}
        targets: list[str] = []
        platforms = payload.get("platforms")
        if not isinstance(platforms, list) or not platforms:
            self.problem("platforms", "expected a non-empty list such as [{\"platform\": \"tiktok\"}]")
            platforms = []
        for index, entry in enumerate(platforms):
            target = self.platform_entry(entry, f"platforms[{index}]", root, options)
            if target and target not in targets:
                targets.append(target)
        for platform, block in root.items():
            options.setdefault(platform, {}).update({k: v for k, v in block.items() if k not in options[platform]})
        request["targets"] = self.finish_accounts(targets)
        draft = self.schedule(payload, request)
        if options:
            request["target_options"] = {p: o for p, o in options.items() if o}
            if not request["target_options"]:
                del request["target_options"]
        metadata = {k: payload[k] for k in _ZERNIO_BOOKKEEPING - {"isDraft"} if k in payload}
        return ServiceRequest(service=self.service, request=request, draft=draft, metadata=metadata)

    def root_settings(self, payload: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        blocks: dict[str, dict[str, Any]] = {}
        for key, value in payload.items():
            match = _SETTINGS_KEY.match(str(key))
            if match is None:
                continue
            options = self.block(match.group(1), value, str(key))
            if options is not None:
                blocks[match.group(1)] = options
        return blocks

    def block(self, platform: str, raw: object, path: str) -> dict[str, Any] | None:
        """One settings block through the platform's reader; None (with a note) when it reads none."""
        if not isinstance(raw, Mapping):
            self.problem(path, f"expected an object of {platform} settings")
            return None
        try:
            imported = self.settings_reader(platform, self.service, raw)
        except InvalidPost as exc:
            for p in exc.problems:
                self.problem(f"{path}.{p.field}" if p.field else path, p.message)
            return None
        if imported is None:
            if raw:
                self.notes.append(f"{path}: settings for {platform} were not imported "
                                  f"(no installed platform reads {self.service}'s {platform} settings)")
            return None
        self.notes.extend(imported.notes)
        return dict(imported.options)

    def media_items(self, items: object) -> list[dict[str, str]]:
        if not isinstance(items, list):
            self.problem("mediaItems", "expected a list of {\"type\": \"video\"|\"image\", \"url\": ...}")
            return []
        media = []
        accepted = _MEDIA_ITEM_KEYS | (frozenset() if self.strict else _MEDIA_ITEM_EXTRA)
        for index, item in enumerate(items):
            path = f"mediaItems[{index}]"
            if not isinstance(item, Mapping):
                self.problem(path, "expected an object with 'type' and 'url'")
                continue
            self.unknown_keys(item, accepted, path)
            kind, url = item.get("type"), item.get("url")
            if kind not in _MEDIA_TYPES:
                self.problem(f"{path}.type", f"expected 'video' or 'image', got {kind!r}")
            if not isinstance(url, str) or not url:
                self.problem(f"{path}.url", "expected the media URL (a non-empty string)")
            if kind in _MEDIA_TYPES and isinstance(url, str) and url:
                entry = {"type": str(kind), "url": url}
                if isinstance(item.get("altText"), str):
                    entry["alt"] = item["altText"]
                media.append(entry)
        return media

    def platform_entry(self, entry: object, path: str, root: Mapping[str, Mapping[str, Any]],
                       options: dict[str, dict[str, Any]]) -> str | None:
        if not isinstance(entry, Mapping):
            self.problem(path, "expected an object such as {\"platform\": \"tiktok\", \"accountId\": \"...\"}")
            return None
        self.unknown_keys(entry, _ENTRY_KEYS | (frozenset() if self.strict else _ENTRY_EXTRA), path)
        platform = entry.get("platform")
        if not isinstance(platform, str) or not platform:
            self.problem(f"{path}.platform", "expected a platform name such as 'tiktok'")
            return None
        platform = platform.lower()
        specific = entry.get("platformSpecificData")
        if specific is not None:
            block = self.block(platform, specific, f"{path}.platformSpecificData")
            if block is not None:
                mine = options.setdefault(platform, {})
                for key, value in block.items():
                    if key in root.get(platform, {}) and root[platform][key] != value:
                        self.notes.append(f"{path}.platformSpecificData: {key} overrides {platform}Settings.{key} "
                                          "(the target's own value wins)")
                    mine[key] = value
        if isinstance(entry.get("customContent"), str):
            options.setdefault(platform, {})["content"] = entry["customContent"]
        return self.target(platform, entry.get("accountId"), path)

    def schedule(self, payload: Mapping[str, Any], request: dict[str, Any]) -> bool:
        """Fill ``scheduled_at``/``timezone``; True when the body asks for a draft."""
        now, when = payload.get("publishNow"), payload.get("scheduledFor")
        if "timezone" in payload:
            request["timezone"] = payload["timezone"]
        draft = payload.get("isDraft")
        if draft not in (None, True, False):
            self.problem("isDraft", f"expected true or false, got {draft!r}")
        if now is True and when is not None:
            self.problem("publishNow", "both publishNow and scheduledFor are set: keep one of them")
        elif now not in (None, False, True):
            self.problem("publishNow", f"expected true or false, got {now!r}")
        elif draft is True:
            return True
        elif now is True:
            request["scheduled_at"] = "now"
        elif isinstance(when, str) and when:
            request["scheduled_at"] = when
        elif when is not None:
            self.problem("scheduledFor", f"expected an ISO-8601 time, got {when!r}")
        elif self.strict:
            self.problem("scheduledFor", "no publishNow: true and no scheduledFor time: the hosted service keeps "
                                         "such a post as an unscheduled draft; add one of them to post it")
        else:
            return True
        return False

    # --- PostPost -------------------------------------------------------------------------------

    def postpost(self, payload: Mapping[str, Any]) -> ServiceRequest:
        self.unknown_keys(payload, _POSTPOST_KEYS | (frozenset() if self.strict else _POSTPOST_EXTRA), "")
        request: dict[str, Any] = {}
        if "content" in payload:
            request["content"] = payload["content"]
        if not self.strict and (not isinstance(payload.get("content"), str) or not payload["content"].strip()):
            self.problem("content", "required: the post's text (PostPost refuses a blank one)")
        platforms = payload.get("platforms")
        if not isinstance(platforms, list) or not platforms or not all(isinstance(p, str) for p in platforms):
            self.problem("platforms", "expected a non-empty list of platform ids such as 'tiktok-99887766'")
            platforms = []
        targets: list[str] = []
        for index, platform_id in enumerate(platforms):
            if not self.strict and not _POSTPOST_ID.match(platform_id):
                self.problem(f"platforms[{index}]",
                             f"expected '<platform>-<id>' such as 'tiktok-main', got {platform_id!r}")
                continue
            platform, _, account = str(platform_id).partition("-")
            target = self.target(platform.lower(), account or None, f"platforms[{index}]")
            if target and target not in targets:
                targets.append(target)
        request["targets"] = self.finish_accounts(targets)
        options = self.postpost_settings(payload.get("platformSettings", {}))
        if options:
            request["target_options"] = options
        draft = False
        when = payload.get("scheduledTime")
        if when is None:
            draft = not self.strict
        elif isinstance(when, str) and when:
            request["scheduled_at"] = when
        else:
            self.problem("scheduledTime", f"expected an ISO-8601 UTC time, got {when!r}")
        if self.strict:
            self.notes.append("PostPost uploads the video in a separate step, so this request has no media: "
                              "add the video (for example with --video) before posting")
        return ServiceRequest(service=self.service, request=request, draft=draft)

    def postpost_settings(self, raw: object) -> dict[str, dict[str, Any]]:
        if not isinstance(raw, Mapping):
            self.problem("platformSettings", "expected an object keyed by platform")
            return {}
        options: dict[str, dict[str, Any]] = {}
        for platform, block in raw.items():
            imported = self.block(str(platform), block, f"platformSettings.{platform}")
            if imported:
                options[str(platform)] = imported
        return options

    # --- RelayAPI -------------------------------------------------------------------------------

    def relay(self, payload: Mapping[str, Any]) -> ServiceRequest:
        self.unknown_keys(payload, _RELAY_KEYS, "")
        request: dict[str, Any] = {k: payload[k] for k in ("content", "timezone") if k in payload}
        request["media"] = self.relay_media(payload.get("media", []))
        targets = payload.get("targets")
        resolved: list[str] = []
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
            self.problem("targets", "expected a non-empty list of account ids or platform names such as ['tiktok']")
            targets = []
        for index, target in enumerate(targets):
            platform, _, account = target.removeprefix("acc_").partition(":")
            found = self.target(platform.lower(), account or None, f"targets[{index}]")
            if found and found not in resolved:
                resolved.append(found)
        request["targets"] = resolved
        options = payload.get("target_options", {})
        if not isinstance(options, Mapping):
            self.problem("target_options", "expected an object keyed by platform")
            options = {}
        read: dict[str, Any] = {}
        for platform, block in options.items():
            imported = self.block(str(platform), block, f"target_options.{platform}")
            if imported is not None:
                read[str(platform)] = imported
            elif isinstance(block, Mapping):
                read[str(platform)] = dict(block)
        if read:
            request["target_options"] = read
        when = payload.get("scheduled_at")
        draft = False
        if when == "draft":
            draft = True
        elif when == "auto":
            self.problem("scheduled_at", "'auto' needs a posting queue, which crosspost has not: give 'now', "
                                         "'draft' or an ISO-8601 time")
        elif when is None:
            self.problem("scheduled_at", "required: 'now', 'draft' or an ISO-8601 time")
        elif isinstance(when, str):
            request["scheduled_at"] = when
        else:
            self.problem("scheduled_at", f"expected a string, got {type(when).__name__}")
        return ServiceRequest(service=self.service, request=request, draft=draft)

    def relay_media(self, items: object) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            self.problem("media", "expected a list of {\"url\": ..., \"type\": \"video\"|\"image\"}")
            return []
        media: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            path = f"media[{index}]"
            if not isinstance(item, Mapping):
                self.problem(path, "expected an object with 'url' and 'type'")
                continue
            self.unknown_keys(item, _RELAY_MEDIA_KEYS, path)
            entry = {k: item[k] for k in ("url", "path", "type") if k in item}
            if "type" not in entry and isinstance(item.get("url"), str):
                entry["type"] = _kind_from_name(item["url"], item.get("mime_type"))
            alt = item.get("alt_text", item.get("alt"))
            if alt is not None:
                entry["alt"] = alt
            media.append(entry)
        return media

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
        if self.resolver is not None:
            try:
                return self.resolver(platform, str(account))
            except ValueError as exc:
                self.problem(f"{path}.accountId" if self.service not in ("postpost", "relay") else path, str(exc))
                return None
        mapped = self.account_map.get(str(account))
        if mapped:
            return f"{platform}:{mapped}"
        self.unmapped.setdefault(platform, set()).add(str(account))
        return f"{platform}:{account}"

    def finish_accounts(self, targets: list[str]) -> list[str]:
        """Unmapped ids (CLI only): one per platform goes to that platform's only account."""
        for platform, ids in self.unmapped.items():
            if len(ids) == 1:
                account = next(iter(ids))
                self.notes.append(f"{platform} account {account!r} is another service's id; the post goes to your "
                                  f"only crosspost {platform} account (map the id to an account name to choose one)")
                targets = list(dict.fromkeys(platform if t == f"{platform}:{account}" else t for t in targets))
            else:
                self.notes.append(f"{platform} account ids {', '.join(sorted(ids))} are used as crosspost account "
                                  "names; rename the accounts or edit the ids if they differ")
        return targets

    def unknown_keys(self, data: Mapping[str, Any], accepted: frozenset[str], path: str,
                     extra: list[str] | None = None) -> None:
        shown = ", ".join(sorted(accepted | frozenset(extra or ())))
        for key in data:
            if key not in accepted:
                where = f"{path}.{key}" if path else str(key)
                self.problem(where, f"not understood by the importer; accepted: {shown}")


def _kind_from_name(url: str, mime: object) -> str:
    """RelayAPI's ``type`` is optional: guess it from the MIME type or the file name."""
    text = (mime if isinstance(mime, str) else url).lower()
    image = text.startswith("image/") or text.rsplit(".", 1)[-1] in ("jpg", "jpeg", "png", "webp")
    return "image" if image else "video"
