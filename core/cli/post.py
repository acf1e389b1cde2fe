"""``crosspost post``: from a request file (ours or a hosted service's shape) or shorthand flags.

Shorthand flags build the same request a file would hold, and override the file's values when
both are given, so every problem is reported with the request's JSON path and the flag next to
it. Besides the common flags (``--to``, ``--video``, ``--caption``...), every loaded platform's
declared ``OptionSpec.flag`` becomes a flag (e.g. one platform's ``--privacy`` sets its
``target_options.<platform>.privacy_level``); a flag several platforms declare applies to each
targeted platform declaring it.

Those flags come from every platform, but a post needs only the targeted ones: with a trusted
cached command index, the flags are built from the declarations it recorded
(:class:`FlagDeclaration`, :mod:`crosspost.core.cli.platform_index`) and the post registers only
the plugins that may matter to its targets; in any doubt every plugin loads, as without it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from crosspost.core.cli.context import CliState, async_command, global_options, hooks_of, open_hub, state
from crosspost.core.cli.output import exit_code, record_to_dict
from crosspost.core.errors import CrosspostError, InvalidPost, Problem
from crosspost.core.importers import first_import
from crosspost.core.models import Post
from crosspost.core.options import OptionSpec, OptionType

if TYPE_CHECKING:
    from crosspost.core.cli.output import Output
    from crosspost.core.cli.platform_index import PlatformIndex
    from crosspost.core.hub import Hub, PostRecord
    from crosspost.core.importers import RequestImporter
    from crosspost.core.platform import Platform
    from crosspost.core.plugins import Hooks

ANNOUNCE_WITHIN_S = 10.0
"""How long ``crosspost post`` waits for an account's live description before publishing anyway."""

POST_KEYS = frozenset(a.name for a in attrs.fields(Post))

FLAG_OF: Mapping[str, str] = {
    "content": "--caption", "targets": "--to", "media": "--video/--image",
    "scheduled_at": "--at", "timezone": "--timezone",
}
"""Request keys the core flags set -> the flag, for problem messages."""
CORE_FLAGS = frozenset({"to", "video", "image", "caption", "at", "timezone", "dry_run", "no_wait", "request",
                        "allow_past", "wait"})


@attrs.frozen(kw_only=True)
class FlagDeclaration:
    """What one shorthand flag of ``crosspost post`` is, as plain data: the cached command index
    keeps it (:mod:`crosspost.core.cli.platform_index`), so the flag, its help and its errors are
    the same whether the platforms declaring it are loaded or not."""

    flag: str
    """Python name (``allow_comment``)."""
    help: str
    """The first declaring option's help."""
    type: OptionType
    choices: tuple[str, ...]
    """What the flag takes (the first option's ``flag_choices``); empty: any value of its type."""
    multiple: bool
    every: tuple[str, ...]
    """Every declaring option's ``choices``, for shell completion when ``choices`` is empty."""
    specs: tuple[tuple[str, str, tuple[str, ...]], ...]
    """(platform, option name, option aliases) of each option the flag sets."""

    @property
    def dashed(self) -> str:
        return "--" + self.flag.replace("_", "-")

    @property
    def spelled(self) -> str:
        """How problem messages name it (``--allow-comment/--no-allow-comment``)."""
        if self.type is OptionType.BOOLEAN:
            return f"{self.dashed}/--no-{self.dashed[2:]}"
        return self.dashed

    def option(self) -> click.Option:
        sets = ", ".join(f"target_options.{p}.{name}" for p, name, _ in self.specs)
        help_text = f"{self.help} (Sets {sets}.)"
        if self.type is OptionType.BOOLEAN:
            return click.Option([f"{self.dashed}/--no-{self.dashed[2:]}", self.flag], default=None, help=help_text)
        kind: Any = click.Choice(self.choices) if self.choices else {
            OptionType.INTEGER: int, OptionType.NUMBER: float}.get(self.type, str)
        metavar = None if self.choices else (
            "N" if self.type in (OptionType.INTEGER, OptionType.NUMBER) else "VALUE")
        return click.Option([self.dashed, self.flag], type=kind, metavar=metavar, help=help_text,
                            multiple=self.multiple or self.type is OptionType.STRING_LIST,
                            shell_complete=_completer(self.every) if self.every and not self.choices else None)

    def to_json(self) -> dict[str, Any]:
        return {"flag": self.flag, "help": self.help, "type": self.type.value, "choices": list(self.choices),
                "multiple": self.multiple, "every": list(self.every),
                "specs": [[p, name, list(aliases)] for p, name, aliases in self.specs]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlagDeclaration:
        """The declaration :meth:`to_json` wrote; raises on anything else."""
        specs = tuple((_text(p), _text(name), _texts(aliases)) for p, name, aliases in data["specs"])
        multiple = data["multiple"]
        if not isinstance(multiple, bool) or not specs:
            raise TypeError(f"malformed flag declaration {data!r}")
        return cls(flag=_text(data["flag"]), help=_text(data["help"]), type=OptionType(data["type"]),
                   choices=_texts(data["choices"]), multiple=multiple, every=_texts(data["every"]), specs=specs)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _texts(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {value!r}")
    return tuple(_text(v) for v in value)


@attrs.frozen(kw_only=True)
class PlatformFlag:
    """One shorthand flag of ``crosspost post`` and the platforms' options it sets."""

    flag: str
    """Python name (``allow_comment``)."""
    specs: tuple[tuple[str, OptionSpec], ...]
    """(platform, option) pairs declaring this flag."""

    @property
    def first(self) -> OptionSpec:
        return self.specs[0][1]

    def declaration(self) -> FlagDeclaration:
        spec = self.first
        return FlagDeclaration(flag=self.flag, help=spec.help, type=spec.type, choices=tuple(spec.flag_choices or ()),
                               multiple=spec.flag_multiple, every=tuple(sorted({c for _, s in self.specs
                                                                                for c in s.choices})),
                               specs=tuple((p, s.name, tuple(s.aliases)) for p, s in self.specs))

    @property
    def dashed(self) -> str:
        return self.declaration().dashed

    @property
    def spelled(self) -> str:
        """How problem messages name it (``--allow-comment/--no-allow-comment``)."""
        return self.declaration().spelled

    def option(self) -> click.Option:
        return self.declaration().option()


def _completer(values: Sequence[str]) -> Any:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        return [v for v in values if v.upper().startswith(incomplete.upper())]

    return complete


def platform_flags(platforms: Mapping[str, Platform]) -> dict[str, PlatformFlag]:
    """Every declared ``OptionSpec.flag`` of every platform, merged by flag name."""
    found: dict[str, list[tuple[str, OptionSpec]]] = {}
    for name, platform in sorted(platforms.items()):
        for spec in platform.options:
            if spec.flag and spec.flag not in CORE_FLAGS:
                found.setdefault(spec.flag, []).append((name, spec))
    return {flag: PlatformFlag(flag=flag, specs=tuple(specs)) for flag, specs in found.items()}


def declared_flags(platforms: Mapping[str, Platform]) -> dict[str, FlagDeclaration]:
    """:func:`platform_flags` as declarations (what the cached command index keeps)."""
    return {name: flag.declaration() for name, flag in platform_flags(platforms).items()}


def cached_flags(cli_state: CliState) -> dict[str, FlagDeclaration] | None:
    """The declarations from the command index this invocation trusts, or None (the platforms
    decide: no index, hooks given by the caller, or a section that is missing or malformed)."""
    section = _platform_index(cli_state)
    if section is None:
        return None
    try:
        found = [FlagDeclaration.from_json(f) for f in section.flags]
    except Exception:
        return None
    return {f.flag: f for f in found}


def _platform_index(cli_state: CliState) -> PlatformIndex | None:
    from crosspost.core.cli import platform_index

    if cli_state.index is None or cli_state.has_hooks():
        return None
    return platform_index.load(cli_state.index.platforms)


def flags_for(ctx: click.Context) -> dict[str, FlagDeclaration]:
    """The platform flags of this invocation: from the trusted index, else from every platform."""
    found = ctx.find_object(CliState)
    cached = None if found is None else cached_flags(found)
    return cached if cached is not None else declared_flags(hooks_of(ctx).platforms())


class PostCommand(click.Command):
    """``crosspost post`` with the platforms' shorthand flags added for each invocation (from the
    cached command index when it is trusted, so that no platform loads for them)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        base = super().get_params(ctx)
        taken = {p.name for p in base}
        generated = [f.option() for f in flags_for(ctx).values() if f.flag not in taken]
        # The help option stays last; found by identity (click names it differently across versions).
        help_option = self.get_help_option(ctx)
        rest = [p for p in base if p is not help_option]
        return rest + generated + ([help_option] if help_option is not None else [])


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


def native_request(data: dict[str, Any], importers: Sequence[RequestImporter] = ()) -> tuple[dict[str, Any], list[str]]:
    """``data`` in crosspost's own request shape, plus notes on what an import changed.

    Other services' shapes go through the importers the plugins register (``register_importers``);
    the first that knows the shape wins.
    """
    if set(data) <= POST_KEYS:
        return data, []
    imported = first_import(importers, data)
    if imported is not None:
        return dict(imported.request), [f"read as a {imported.shape} request", *imported.notes]
    return data, []  # not a shape anyone knows: post_from_dict names the unknown keys


def apply_flags(data: dict[str, Any], flags: Mapping[str, Any], platforms: Mapping[str, Platform] | None = None,
                declared: Mapping[str, FlagDeclaration] | None = None) -> dict[str, Any]:
    """``data`` with every shorthand flag the user gave written over it (``platforms``: whose
    declared flags may be among ``flags``; ``declared``: every platform's flags, when only the
    targeted platforms are loaded)."""
    data = dict(data)
    platforms = platforms or {}
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
    options = _flag_options(data, flags, platforms, declared_flags(platforms) if declared is None else declared)
    if options:
        merged = dict(data.get("target_options") or {})
        for platform, values in options.items():
            merged[platform] = {**(merged.get(platform) or {}), **values}
        data["target_options"] = merged
    return data


def _given(value: Any) -> bool:
    return value is not None and value != ()


def _flag_options(data: Mapping[str, Any], flags: Mapping[str, Any], platforms: Mapping[str, Platform],
                  declared: Mapping[str, FlagDeclaration]) -> dict[str, dict[str, Any]]:
    """``target_options`` set by the platforms' shorthand flags, for each targeted platform that
    declares the flag; a flag no targeted platform declares is a usage error naming who does
    (every declaring platform, loaded or not)."""
    targets = data.get("targets") or []
    targeted = {str(t).partition(":")[0].lower() for t in targets if isinstance(t, str)}
    options: dict[str, dict[str, Any]] = {}
    for flag in declared.values():
        value = flags.get(flag.flag)
        if not _given(value):
            continue
        applied = False
        for name, option, _ in flag.specs:
            if name in targeted:
                platform = platforms[name]
                spec = {s.name: s for s in platform.options}[option]
                options.setdefault(name, {})[option] = platform.option_from_flag(spec, value)
                applied = True
        if not applied:
            raise click.UsageError(f"{flag.dashed} sets an option of {', '.join(n for n, _, _ in flag.specs)}, "
                                   "which no --to target (or request target) names")
    return options


def with_flag_names(exc: InvalidPost, platforms: Mapping[str, Platform],
                    declared: Mapping[str, FlagDeclaration] | None = None) -> InvalidPost:
    """``exc`` with the shorthand flag named after each field it came from (``declared``: every
    platform's flags, when only the targeted platforms are loaded)."""
    flag_of: dict[str, str] = dict(FLAG_OF)
    for flag in (declared_flags(platforms) if declared is None else declared).values():
        for platform, option, aliases in flag.specs:
            for name in (option, *aliases):
                flag_of[f"target_options.{platform}.{name}"] = flag.spelled
    problems = []
    for p in exc.problems:
        named = flag_of.get(p.field) or flag_of.get(p.field.split("[", 1)[0])
        message = f"{p.message} (flag {named})" if named else p.message
        problems.append(Problem(field=p.field, message=message))
    return InvalidPost(problems)


def build_post(request: str | None, flags: Mapping[str, Any], hooks: Hooks,
               declared: Mapping[str, FlagDeclaration] | None = None,
               read: tuple[dict[str, Any], Path] | None = None) -> tuple[Post, list[str]]:
    """The post to send, from the request file and/or the flags, and notes on how it was read
    (``read``: the request file as :func:`read_ahead` already read it; ``declared``: see
    :func:`apply_flags`)."""
    from crosspost.core.convert import post_from_dict
    from crosspost.core.importers import registered_importers

    base = Path.cwd()
    data: dict[str, Any] = {}
    notes: list[str] = []
    if request is not None:
        if read is None and request != "-" and not Path(request).is_file():
            raise RequestNotFound(f"no request file {request!r}: give the path of a JSON post request, or - for "
                                  "stdin")
        raw, base = read_request(request) if read is None else read
        data, notes = native_request(raw, registered_importers(hooks.pm))
    elif not flags.get("to"):
        raise click.UsageError("give a REQUEST.json file (or - for stdin), or at least --to and media "
                               "(e.g. --to PLATFORM:main --video clip.mp4)")
    return post_from_dict(apply_flags(data, flags, hooks.platforms(), declared), base=base), notes


def read_ahead(request: str | None) -> tuple[dict[str, Any], Path] | None:
    """The request file read before the plugins load, when it is a file in crosspost's own
    shape (its targets then say which platforms to load); None for stdin, another service's
    shape (the importers decide what it targets), or any problem (reported as ever, later)."""
    if request is None or request == "-" or not Path(request).is_file():
        return None
    try:
        found = read_request(request)
    except Exception:
        return None
    return found if set(found[0]) <= POST_KEYS else None


def wanted_platforms(flags: Mapping[str, Any], read: tuple[dict[str, Any], Path] | None,
                     request: str | None) -> frozenset[str] | None:
    """Every platform the post names (its targets, and the platforms of its ``target_options``),
    or None when that cannot be known before the plugins load."""
    data = read[0] if read is not None else {}
    if request is not None and read is None:
        return None
    targets = list(flags["to"]) if flags.get("to") else data.get("targets")
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        return None
    names = {t.strip().partition(":")[0].lower() for t in targets}
    options = data.get("target_options")
    if isinstance(options, dict):
        names.update(str(name) for name in options)
    return frozenset(names)


def post_hooks(cli_state: CliState, request: str | None, flags: Mapping[str, Any],
               read: tuple[dict[str, Any], Path] | None) -> Hooks:
    """This invocation's plugins: with a trusted platforms' section, every plugin except those
    that register only platforms the post does not name; otherwise (or when in doubt) all."""
    section = _platform_index(cli_state)
    wanted = None if section is None else wanted_platforms(flags, read, request)
    skipped = None if section is None or wanted is None else section.skipped(wanted)
    if section is None or skipped is None:
        return cli_state.hooks()
    return cli_state.hooks(skip=skipped, recorded=section.entry_points)


@click.command(cls=PostCommand)
@click.argument("request", required=False, metavar="[REQUEST.json]",
                type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True,
              help="Validate against the platforms' live limits and print the exact requests that would be "
                   "sent (chunk plan included); sends nothing that publishes.")
@click.option("--no-wait", is_flag=True,
              help="Store the post and return at once; `crosspost worker` publishes it.")
@click.option("--to", "to", multiple=True, metavar="TARGET",
              help="Where to post: platform or platform:account (repeatable), e.g. mysite:main.")
@click.option("--video", metavar="PATH_OR_URL", help="The video: a local file or an https URL.")
@click.option("--image", multiple=True, metavar="PATH_OR_URL",
              help="A photo (repeatable, in order): a local file or an https URL.")
@click.option("--caption", help="The post's text: a video's caption, a photo post's description (a platform "
                                "may derive a photo title from it; its options can set one).")
@click.option("--at", metavar="WHEN",
              help="When to publish: now (default), an ISO-8601 time such as 2026-11-22T18:30 "
                   "(read in --timezone) or 2026-11-22T23:30:00Z.")
@click.option("--timezone", metavar="TZ", help="IANA time zone for --at, e.g. America/New_York.")
@click.option("--allow-past", is_flag=True,
              help="Accept a --at (or scheduled_at) more than 5 minutes in the past and publish at once; "
                   "without it such a time is refused.")
@click.option("--wait", is_flag=True,
              help="For a scheduled post: stay until its time comes and publish it here (otherwise it is "
                   "stored as scheduled at once and `crosspost worker` publishes it).")
@global_options()
@async_command
async def post(request: str | None, dry_run: bool, no_wait: bool, **flags: Any) -> None:
    """Publish a post now, schedule it, or show what would be sent.

    REQUEST.json is a post request (`-` reads stdin); the shapes of the hosted posting services
    (mediaItems/platforms, platformSettings, platformSpecificData) are read too, by the importers
    the plugins register. Relative media paths resolve against the request file's folder.
    Shorthand flags build the request instead, or override the file's values; the platforms'
    own flags (below the common ones) set `target_options` of each targeted platform declaring them.

    Exits 0 when every target was published, sent to the inbox, scheduled or queued; 1 when a
    target failed; 2 when the input is invalid (nothing was uploaded).
    """
    cli_state = state()
    declared = cached_flags(cli_state)
    read = read_ahead(request) if declared is not None else None
    hooks = post_hooks(cli_state, request, flags, read) if declared is not None else cli_state.hooks()
    try:
        await _post(request, dry_run, no_wait, flags, hooks, declared, read)
    except InvalidPost as exc:
        raise (with_flag_names(exc, hooks.platforms(), declared) if request is None else exc) from None


async def _post(request: str | None, dry_run: bool, no_wait: bool, flags: Mapping[str, Any], hooks: Hooks,
                declared: Mapping[str, FlagDeclaration] | None = None,
                read: tuple[dict[str, Any], Path] | None = None) -> None:
    from crosspost.core.cli.dry_run import show_plan

    out = state().output
    allow_past, wait = bool(flags.get("allow_past")), bool(flags.get("wait"))
    the_post, notes = build_post(request, flags, hooks, declared, read)
    for note in notes:
        out.step(f"note: {note}")
    async with open_hub() as hub:
        if dry_run:
            show_plan(out, await hub.plan(the_post, allow_past=allow_past))
            return
        if no_wait:
            record = await hub.submit(the_post, allow_past=allow_past)
        else:
            from crosspost.core.cli.progress import ProgressView

            if out.chatty:
                await hub.validate(the_post)  # every problem first: nothing is announced for an invalid post
                await _announce(hub, the_post, out)
            with ProgressView(out) as view:
                record = await hub.publish(the_post, progress=view, allow_past=allow_past, wait=wait)
    if out.json:
        out.data(record_to_dict(record))
    else:
        out.record(record)
        _next_steps(out, record)
    raise click.exceptions.Exit(exit_code(record))


class RequestNotFound(CrosspostError):
    """The request file named on the command line does not exist."""

    code = "file_not_found"


async def _announce(hub: Hub, the_post: Post, out: Output) -> None:
    """What each platform asks apps to show before posting as an account (who it posts as, a
    consent line), then where the post goes. An account the platform cannot describe right now
    is skipped: validation already passed, and the publish reports what goes wrong."""
    import asyncio  # here: `crosspost --help` imports this module, and asyncio costs ~15 ms

    lines: list[str] = []
    for target in the_post.targets:
        platform = hub.hooks.platform(target.platform)
        if not platform.needs_account:
            continue
        try:
            async with asyncio.timeout(ANNOUNCE_WITHIN_S):
                info = await hub.account_info(target)
        except Exception:
            continue
        lines += [line for line in platform.announce(info) if line not in lines]
    for line in lines:
        out.step(line)
    out.step(f"Publishing to {', '.join(str(t) for t in the_post.targets)}...")


def _next_steps(out: Output, record: PostRecord) -> None:
    statuses = [t.status.value for t in record.targets]
    if "inbox" in statuses:
        out.step("The draft is in the account's inbox on the platform: open it there to finish it.")
    if any(s in ("scheduled", "queued", "deferred") for s in statuses):
        out.step(f"Run `crosspost worker` to publish it when due; `crosspost status {record.id}` "
                 "shows where it stands.")


COMMANDS = [post]
