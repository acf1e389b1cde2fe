"""``crosspost post``: from a request file (ours or a hosted service's shape) or shorthand flags.

Shorthand flags build the same request a file would hold, and override the file's values when
both are given, so every problem is reported with the request's JSON path (``--privacy`` is
``target_options.tiktok.privacy_level``) and the flag next to it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from crosspost.core.cli.context import async_command, global_options, open_hub, state
from crosspost.core.cli.output import exit_code, record_to_dict
from crosspost.core.errors import InvalidPost, Problem
from crosspost.core.models import Post

if TYPE_CHECKING:
    from crosspost.core.cli.output import Output
    from crosspost.core.hub import Hub, PostRecord

POST_KEYS = frozenset(a.name for a in attrs.fields(Post))

REQUEST_IMPORTERS: tuple[str, ...] = ("crosspost.plugins.tiktok.importers:import_with_notes",)
"""Readers of hosted posting services' request shapes, by import path (tried in order)."""

OPTION_FLAGS: Mapping[str, str] = {
    "privacy": "privacy_level",
    "allow_comment": "allow_comment",
    "allow_duet": "allow_duet",
    "allow_stitch": "allow_stitch",
    "draft": "draft",
    "ai_generated": "video_made_with_ai",
    "cover_ms": "video_cover_timestamp_ms",
}
"""Shorthand flag (python name) -> key under ``target_options.<platform>``."""

BRANDS: Mapping[frozenset[str], str] = {
    frozenset({"organic"}): "brand_organic",
    frozenset({"content"}): "brand_content",
    frozenset({"organic", "content"}): "both",
}
"""``--brand`` values given -> ``commercial_content_type``."""

FLAG_OF: Mapping[str, str] = {
    "content": "--caption", "targets": "--to", "media": "--video/--image",
    "scheduled_at": "--at", "timezone": "--timezone",
    **{key: "--" + flag.replace("_", "-") for flag, key in OPTION_FLAGS.items()},
    **{key: f"--{key.replace('_', '-')}/--no-{key.replace('_', '-')}"
       for key in ("allow_comment", "allow_duet", "allow_stitch")},
    "commercial_content_type": "--brand",
}


def _complete_privacy(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from crosspost.plugins.tiktok.creator import PRIVACY_LEVELS

    return [level for level in PRIVACY_LEVELS if level.startswith(incomplete.upper())]


def _is_url(text: str) -> bool:
    return text.startswith(("https://", "http://"))


def _media_item(kind: str, value: str) -> dict[str, str]:
    return {"type": kind, "url" if _is_url(value) else "path": value}


def read_request(source: str) -> tuple[dict[str, Any], Path]:
    """The request object in ``source`` (a path or ``-`` for stdin) and the folder its relative
    media paths resolve against. Whatever the bytes, the answer is the object or an
    :class:`InvalidPost` saying what is wrong: not UTF-8, not JSON, nested too deeply, not text."""
    from crosspost.core.convert import nesting_problem, text_problems

    name = "stdin" if source == "-" else source
    if source == "-":
        raw, base = sys.stdin.buffer.read(), Path.cwd()
    else:
        path = Path(source)
        raw, base = path.read_bytes(), path.resolve().parent
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidPost([Problem(field="", message=(
            f"{name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8"))]) \
            from None
    deep = nesting_problem(text)
    if deep is not None:
        raise InvalidPost([deep])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPost([Problem(field="", message=(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"))]) from None
    except RecursionError:
        raise InvalidPost([Problem(field="", message=f"{name} is nested too deeply to be a post request")]) from None
    if not isinstance(data, dict):
        raise InvalidPost([Problem(field="", message="expected a JSON object (a post request)")])
    problems = text_problems(data)
    if problems:
        raise InvalidPost(problems)
    return data, base


def native_request(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``data`` in crosspost's own request shape, plus notes on what an import changed.

    Other services' shapes go through the importers in :data:`REQUEST_IMPORTERS`; each returns
    None for a shape it does not read, or an object with ``shape``, ``request`` and ``notes``.
    """
    if set(data) <= POST_KEYS:
        return data, []
    for spec in REQUEST_IMPORTERS:
        module, _, name = spec.partition(":")
        try:
            importer = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        imported = importer(data)
        if imported is not None:
            return dict(imported.request), [f"read as a {imported.shape} request", *imported.notes]
    return data, []  # not a shape anyone knows: post_from_dict names the unknown keys


def apply_flags(data: dict[str, Any], flags: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every shorthand flag the user gave written over it."""
    data = dict(data)
    if flags.get("to"):
        data["targets"] = list(flags["to"])
    if flags.get("caption") is not None:
        data["content"] = flags["caption"]
    media = [_media_item("video", v) for v in ([flags["video"]] if flags.get("video") else [])]
    media += [_media_item("image", v) for v in flags.get("image") or ()]
    if media:
        data["media"] = media
    if flags.get("at"):
        data["scheduled_at"] = flags["at"]
    if flags.get("timezone"):
        data["timezone"] = flags["timezone"]
    options = {key: flags[flag] for flag, key in OPTION_FLAGS.items() if flags.get(flag) is not None}
    if flags.get("brand"):
        options["commercial_content_type"] = BRANDS[frozenset(flags["brand"])]
    if options:
        data["target_options"] = _merge_options(data, options)
    return data


def _merge_options(data: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    targets = data.get("targets") or []
    platforms = {str(t).partition(":")[0].lower() for t in targets if isinstance(t, str)} or {"tiktok"}
    merged = dict(data.get("target_options") or {})
    for platform in sorted(platforms):
        merged[platform] = {**(merged.get(platform) or {}), **options}
    return merged


def with_flag_names(exc: InvalidPost) -> InvalidPost:
    """``exc`` with the shorthand flag named after each field it came from."""
    problems = []
    for p in exc.problems:
        leaf = p.field.rsplit(".", 1)[-1].split("[", 1)[0]
        flag = FLAG_OF.get(leaf)
        message = f"{p.message} (flag {flag})" if flag else p.message
        problems.append(Problem(field=p.field, message=message))
    return InvalidPost(problems)


def build_post(request: str | None, flags: Mapping[str, Any]) -> tuple[Post, list[str]]:
    """The post to send, from the request file and/or the flags, and notes on how it was read."""
    from crosspost.core.convert import post_from_dict

    base = Path.cwd()
    data: dict[str, Any] = {}
    notes: list[str] = []
    if request is not None:
        raw, base = read_request(request)
        data, notes = native_request(raw)
    elif not flags.get("to"):
        raise click.UsageError("give a REQUEST.json file (or - for stdin), or at least --to and media "
                               "(e.g. --to tiktok:main --video clip.mp4 --privacy SELF_ONLY)")
    return post_from_dict(apply_flags(data, flags), base=base), notes


@click.command()
@click.argument("request", required=False, metavar="[REQUEST.json]",
                type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True,
              help="Validate against live creator info and print the exact requests that would be "
                   "sent (chunk plan included); sends nothing that publishes.")
@click.option("--no-wait", is_flag=True,
              help="Store the post and return at once; `crosspost worker` publishes it.")
@click.option("--to", "to", multiple=True, metavar="TARGET",
              help="Where to post: platform or platform:account (repeatable), e.g. tiktok:main.")
@click.option("--video", metavar="PATH_OR_URL", help="The video: a local file or an https URL.")
@click.option("--image", multiple=True, metavar="PATH_OR_URL",
              help="A photo (repeatable, in order): a local file or an https URL.")
@click.option("--caption", help="The caption (TikTok: title of a video, description of photos).")
@click.option("--privacy", metavar="LEVEL", shell_complete=_complete_privacy,
              help="Who can see it: one of the creator's options, e.g. SELF_ONLY, PUBLIC_TO_EVERYONE "
                   "(`crosspost creator TARGET` lists them).")
@click.option("--allow-comment/--no-allow-comment", default=None, help="Allow comments.")
@click.option("--allow-duet/--no-allow-duet", default=None, help="Allow duets (videos only).")
@click.option("--allow-stitch/--no-allow-stitch", default=None, help="Allow stitches (videos only).")
@click.option("--draft", is_flag=True, default=None,
              help="Send to the creator's TikTok inbox as a draft; they finish it in the app.")
@click.option("--ai-generated", is_flag=True, default=None, help="Label the video as AI-generated.")
@click.option("--brand", type=click.Choice(["organic", "content"]), multiple=True,
              help="Commercial content disclosure (repeatable): organic (promotes your own brand) "
                   "and/or content (a paid partnership).")
@click.option("--cover-ms", type=int, metavar="N", help="Video frame (milliseconds) used as the cover.")
@click.option("--at", metavar="WHEN",
              help="When to publish: now (default), an ISO-8601 time such as 2026-11-22T18:30 "
                   "(read in --timezone) or 2026-11-22T23:30:00Z.")
@click.option("--timezone", metavar="TZ", help="IANA time zone for --at, e.g. America/New_York.")
@global_options()
@async_command
async def post(request: str | None, dry_run: bool, no_wait: bool, **flags: Any) -> None:
    """Publish a post now, schedule it, or show what would be sent.

    REQUEST.json is a post request (`-` reads stdin); the shapes of the hosted posting services
    (mediaItems/platforms, platformSettings, platformSpecificData) are read too. Relative media
    paths resolve against the request file's folder. Shorthand flags build the request instead,
    or override the file's values.

    Exits 0 when every target was published, sent to the inbox, scheduled or queued; 1 when a
    target failed; 2 when the input is invalid (nothing was uploaded).
    """
    try:
        await _post(request, dry_run, no_wait, flags)
    except InvalidPost as exc:
        raise (with_flag_names(exc) if request is None else exc) from None


async def _post(request: str | None, dry_run: bool, no_wait: bool, flags: Mapping[str, Any]) -> None:
    from crosspost.core.cli.dry_run import show_plan

    out = state().output
    the_post, notes = build_post(request, flags)
    for note in notes:
        out.step(f"note: {note}")
    async with open_hub() as hub:
        if dry_run:
            show_plan(out, await hub.plan(the_post))
            return
        if no_wait:
            record = await hub.submit(the_post)
        else:
            from crosspost.core.cli.progress import ProgressView

            if out.chatty:
                await _announce(hub, the_post, out)
            with ProgressView(out) as view:
                record = await hub.publish(the_post, progress=view)
    if out.json:
        out.data(record_to_dict(record))
    else:
        out.record(record)
        _next_steps(out, record)
    raise click.exceptions.Exit(exit_code(record))


async def _announce(hub: Hub, the_post: Post, out: Output) -> None:
    """Who each TikTok target posts as, and TikTok's consent line (its posting guidelines ask
    apps to show both before sending). Problems are left to validation, which reports them all."""
    from crosspost.core.cli.creator import MUSIC_CONSENT
    from crosspost.core.cli.tiktok import creator_info

    tiktok = False
    for target in the_post.targets:
        if target.platform != "tiktok":
            continue
        tiktok = True
        with contextlib.suppress(Exception):
            info = await creator_info(hub, target)
            out.step(f"{target} posts as {info.nickname} (@{info.username})")
    out.step(f"Publishing to {', '.join(str(t) for t in the_post.targets)}..."
             + (f" {MUSIC_CONSENT}" if tiktok else ""))


def _next_steps(out: Output, record: PostRecord) -> None:
    statuses = [t.status.value for t in record.targets]
    if "inbox" in statuses:
        out.step("The draft is in the creator's TikTok inbox: they open the notification to finish it.")
    if any(s in ("scheduled", "queued", "deferred") for s in statuses):
        out.step(f"Run `crosspost worker` to publish it when due; `crosspost status {record.id}` "
                 "shows where it stands.")


COMMANDS = [post]
