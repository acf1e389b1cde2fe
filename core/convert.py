"""JSON in and out for the neutral model, with errors that name the JSON path of each bad field.

One converter per edge (cattrs' advice): this one is the *user* edge, reading the request shape
users know from hosted posting APIs. Every problem in a request is reported at once, as a
:class:`~crosspost.core.errors.Problem` whose ``field`` is the path (``media[1].type``).
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.preconf.json import make_converter

from crosspost.core.errors import InvalidPost, Problem
from crosspost.core.models import ErrorInfo, Media, MediaKind, Post, Target, TargetResult
from crosspost.core.schedule import parse_when, zone

_POST_KEYS = frozenset(a.name for a in attrs.fields(Post))
_MEDIA_KEYS = frozenset({"type", "path", "url", "alt"})
_MEDIA_KINDS = frozenset(kind.value for kind in MediaKind)


class _FieldError(ValueError):
    """A value error whose message is already phrased for the user."""


class _AlreadyReported(ValueError):
    """Raised inside cattrs for problems the shape pass has already reported with exact paths."""


@functools.cache
def user_converter() -> cattrs.Converter:
    """The converter for user-facing JSON (requests and ``--json`` output)."""
    conv = make_converter(forbid_extra_keys=True)
    conv.register_structure_hook(Target, _structure_target)
    conv.register_unstructure_hook(Target, str)
    conv.register_structure_hook(MediaKind, _structure_kind)
    conv.register_structure_hook(Media, _structure_media)
    conv.register_structure_hook(str, _structure_str)
    conv.register_unstructure_hook(Media, _unstructure_media)
    return conv


def _structure_target(value: object, _: type) -> Target:
    if not isinstance(value, str):
        raise _FieldError("expected a string 'platform' or 'platform:account'")
    try:
        return Target.parse(value)
    except ValueError as exc:
        raise _FieldError(str(exc)) from None


def _structure_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _FieldError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_kind(value: object, _: type) -> MediaKind:
    try:
        return MediaKind(str(value))
    except ValueError:
        raise _FieldError(f"expected 'video' or 'image', got {value!r}") from None


def _structure_media(value: object, _: type) -> Media:
    problems = _media_problems(value, "")
    if problems:
        raise _AlreadyReported("; ".join(str(p) for p in problems))
    assert isinstance(value, Mapping)
    kind = MediaKind(str(value["type"]))
    return Media(type=kind, path=value.get("path"), url=value.get("url"), alt=value.get("alt"))


def _media_problems(value: object, at: str) -> list[Problem]:
    """Every problem with one raw media item, each at its own path (``media[1].type``)."""
    if not isinstance(value, Mapping):
        return [Problem(field=at, message="expected an object with 'type' and 'path' or 'url'")]
    problems = [Problem(field=f"{at}.{k}", message="unknown key; accepted: type, path, url, alt")
                for k in value if k not in _MEDIA_KEYS]
    kind = value.get("type")
    if kind is None:
        problems.append(Problem(field=f"{at}.type", message="required: 'video' or 'image'"))
    elif not isinstance(kind, str) or kind not in _MEDIA_KINDS:
        problems.append(Problem(field=f"{at}.type",
                                message=f"expected 'video' or 'image', got {kind!r}"))
    if ("path" in value) == ("url" in value):
        problems.append(Problem(field=at, message="give exactly one of 'path' (a local file) or 'url'"))
    for key in ("path", "url"):
        if key in value and (not isinstance(value[key], str) or not value[key]):
            problems.append(Problem(field=f"{at}.{key}", message="expected a non-empty string"))
    if isinstance(value.get("path"), str) and value["path"]:
        problems.extend(_path_problems(value["path"], f"{at}.path"))
    if isinstance(value.get("url"), str) and value["url"]:
        problems.extend(_url_problems(value["url"], f"{at}.url"))
    if "alt" in value and value["alt"] is not None and not isinstance(value["alt"], str):
        problems.append(Problem(field=f"{at}.alt", message="expected a string (the media's alternative text)"))
    return problems


def _path_problems(path: str, at: str) -> list[Problem]:
    if "\x00" in path:
        return [Problem(field=at, message="a file path cannot contain a null byte (\\u0000)")]
    return []


def _url_problems(url: str, at: str) -> list[Problem]:
    """A media URL crosspost could fetch or hand on: absolute http(s) with a host. Local files go
    in ``path``; loopback and private hosts are refused later, at validation, unless
    ``CROSSPOST_ALLOW_HOSTS`` permits them (that needs the settings)."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in url) or url != url.strip():
        return [Problem(field=at, message="a URL cannot contain spaces or control characters at its ends, "
                                          "or control characters anywhere")]
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError as exc:
        return [Problem(field=at, message=f"not a valid URL ({exc})")]
    scheme = parts.scheme.lower()
    if scheme == "file":
        return [Problem(field=at, message="file:// URLs are not fetched; give a local file as 'path' instead")]
    if not scheme or not parts.netloc:
        return [Problem(field=at, message="expected an absolute http:// or https:// URL; for a local file use "
                                          "'path' instead of 'url'")]
    if scheme not in ("http", "https"):
        return [Problem(field=at, message=f"only http:// and https:// media URLs are accepted, not {scheme}://")]
    if not parts.hostname:
        return [Problem(field=at, message="the URL has no host")]
    return []


def _unstructure_media(media: Media) -> dict[str, Any]:
    data: dict[str, Any] = {"type": media.type.value}
    if media.path is not None:
        data["path"] = media.path
    if media.url is not None:
        data["url"] = media.url
    if media.alt is not None:
        data["alt"] = media.alt
    return data


def post_from_dict(data: object, *, base: Path | None = None) -> Post:
    """Read a post request. Raises :class:`InvalidPost` listing every problem found.

    ``base`` is the request file's folder: relative media paths resolve against it.
    """
    if not isinstance(data, Mapping):
        raise InvalidPost([Problem(field="", message="expected a JSON object")])
    scanned = text_problems(data)
    if scanned:
        raise InvalidPost(scanned)  # nothing further is read from a value that is not clean JSON text
    problems = _shape_problems(data)
    post: Post | None = None
    try:
        post = user_converter().structure(dict(data), Post)
    except cattrs.BaseValidationError as exc:
        problems.extend(_problems_from(exc, problems))
    except (TypeError, ValueError) as exc:
        problems.append(Problem(field="", message=str(exc)))
    problems = _dedupe(problems)
    if problems or post is None:
        raise InvalidPost(problems or [Problem(field="", message="invalid post")])
    return post.resolved(base) if base is not None else post


def _shape_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Checks cattrs cannot phrase well: required keys, schedule and zone, option shapes."""
    problems: list[Problem] = []
    targets = data.get("targets")
    if not isinstance(targets, list) or not targets:
        problems.append(Problem(field="targets",
                                message="required: a non-empty list such as ['tiktok:main']"))
    media = data.get("media", [])
    if not isinstance(media, list):
        problems.append(Problem(field="media", message="expected a list of media objects"))
    else:
        for i, item in enumerate(media):
            problems.extend(_media_problems(item, f"media[{i}]"))
    tz = data.get("timezone")
    if tz is not None:
        if not isinstance(tz, str):
            problems.append(Problem(field="timezone", message="expected an IANA zone name"))
        else:
            try:
                zone(tz)
            except ValueError as exc:
                problems.append(Problem(field="timezone", message=str(exc)))
                tz = None
    when = data.get("scheduled_at", "now")
    if isinstance(when, str):
        try:
            parse_when(when, tz if isinstance(tz, str) else None)
        except ValueError as exc:
            if "time zone" not in str(exc):
                problems.append(Problem(field="scheduled_at", message=str(exc)))
    options = data.get("target_options", {})
    if isinstance(options, Mapping):
        for name, value in options.items():
            if not isinstance(value, Mapping):
                problems.append(Problem(field=f"target_options.{name}",
                                        message="expected an object of options"))
            else:
                problems.extend(_override_problems(value, f"target_options.{name}"))
    return problems


def _override_problems(options: Mapping[str, Any], at: str) -> list[Problem]:
    """A platform's ``content`` and ``media`` overrides must have the shape of the post's own:
    a malformed override is an error, never silently ignored (issue 19)."""
    problems: list[Problem] = []
    if "content" in options and not isinstance(options["content"], str):
        problems.append(Problem(field=f"{at}.content", message=(
            f"expected a string (this platform's caption), got {type(options['content']).__name__}")))
    if "media" in options:
        media = options["media"]
        if not isinstance(media, list):
            problems.append(Problem(field=f"{at}.media", message="expected a list of media objects"))
        else:
            for i, item in enumerate(media):
                problems.extend(_media_problems(item, f"{at}.media[{i}]"))
    return problems


MAX_DEPTH = 32
"""Deepest nesting a request may have: real requests stay under 6 levels, and a deeper one (a
10,000-deep array) would only exhaust the recursion of the code that reads it."""


def text_problems(data: object) -> list[Problem]:
    """Problems no later check should meet: nesting deeper than :data:`MAX_DEPTH`, keys that are not
    strings, and strings that are not valid Unicode text (lone surrogates such as ``"\\ud800"``,
    which JSON escapes allow but no encoder can write). Iterative, so any depth is safe to scan."""
    problems: list[Problem] = []
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack and len(problems) < 20:
        value, at, depth = stack.pop()
        if depth > MAX_DEPTH:
            problems.append(Problem(field=at, message=f"nested deeper than {MAX_DEPTH} levels"))
            continue
        if isinstance(value, str):
            if _SURROGATE.search(value):
                problems.append(Problem(field=at, message=(
                    "not valid Unicode text: it holds a lone surrogate (an unpaired \\ud800-\\udfff escape)")))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(Problem(field=at, message=f"object keys must be strings, not {key!r}"))
                    continue
                child = f"{at}.{key}" if at else key
                if _SURROGATE.search(key):
                    problems.append(Problem(field=child, message="the key is not valid Unicode text"))
                    continue
                stack.append((item, child, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((item, f"{at}[{i}]", depth + 1) for i, item in enumerate(value))
    return sorted(problems, key=lambda p: p.field)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _problems_from(exc: cattrs.BaseValidationError, known: list[Problem]) -> list[Problem]:
    """cattrs' findings, minus those on a field the shape pass already explained."""
    reported = {p.field for p in known}
    problems = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_format):
        message, _, path = line.rpartition(" @ ")
        field = _clean_path(path)
        if message == _SKIP or field in reported:
            continue
        problems.append(Problem(field=field, message=message))
    return problems


_SKIP = "\x00already reported"


def _format(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, _AlreadyReported):
        return _SKIP
    if isinstance(exc, _FieldError):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        allowed = sorted(_POST_KEYS) if exc.cl is Post else []
        hint = f"; accepted keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key(s) {', '.join(sorted(exc.extra_fields))}{hint}"
    return cattrs.v.format_exception(exc, type_)


def _clean_path(path: str) -> str:
    """``$.target_options['tiktok']`` -> ``target_options.tiktok``."""
    path = re.sub(r"\['([^']*)'\]", r".\1", path)
    return path.removeprefix("$").removeprefix(".")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: dict[tuple[str, str], Problem] = {}
    for p in problems:
        seen.setdefault((p.field, p.message), p)
    return list(seen.values())


def post_to_dict(post: Post) -> dict[str, Any]:
    """The JSON-ready wire form of ``post`` (what :func:`post_from_dict` reads back)."""
    data: dict[str, Any] = user_converter().unstructure(post)
    return data


def result_to_dict(result: TargetResult) -> dict[str, Any]:
    """One ``targets[]`` entry of the ``--json`` output contract."""
    error = None
    if result.error is not None:
        error = {k: v for k, v in attrs.asdict(result.error).items() if v is not None}
    return {
        "target": str(result.target),
        "status": result.status.value,
        "publish_id": result.publish_id,
        "post_url": result.post_url,
        "warnings": list(result.warnings),
        "error": error,
    }


def error_info(exc: BaseException) -> ErrorInfo:
    """The stored/printed form of an exception raised while running a job."""
    from crosspost.core.errors import CrosspostError, PlatformError

    if isinstance(exc, PlatformError):
        return ErrorInfo(code=exc.code, message=str(exc), retryable=exc.retryable, field=exc.field)
    if isinstance(exc, CrosspostError):
        return ErrorInfo(code=exc.code, message=str(exc))
    return ErrorInfo(code="internal", message=f"{type(exc).__name__}: {exc}")


def nesting_problem(text: str) -> Problem | None:
    """The JSON path where ``text`` (JSON) nests deeper than :data:`MAX_DEPTH`, found by scanning
    brackets outside strings, before any parser recurses into it; None when it does not."""
    stack: list[list[Any]] = []  # per open container: its kind, and the key or index being read
    last = ""
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == '"':
            j = i + 1
            while j < end and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            last, i = text[i + 1:j], j + 1
            continue
        if char in "[{":
            if len(stack) > MAX_DEPTH:
                return Problem(field=_scan_path(stack), message=f"nested deeper than {MAX_DEPTH} levels")
            stack.append(["[", 0] if char == "[" else ["{", None])
        elif char in "]}" and stack:
            stack.pop()
        elif char == ":" and stack and stack[-1][0] == "{":
            stack[-1][1] = last
        elif char == "," and stack and stack[-1][0] == "[":
            stack[-1][1] += 1
        i += 1
    return None


def _scan_path(stack: list[list[Any]]) -> str:
    path = ""
    for kind, at in stack:
        if kind == "[":
            path += f"[{at}]"
        elif at is not None:
            path += f".{at}" if path else str(at)
    return path
