"""Declared options and settings: one typed declaration that the CLI, REST API, docs and checks read.

A platform lists its ``target_options.<platform>`` keys as :class:`OptionSpec` values and its
``CROSSPOST_<PLATFORM>_*`` variables as :class:`SettingSpec` values (Apprise's
``template_args``, datasette's ``SETTINGS``). From that one declaration crosspost derives:

* the generic option checks (unknown key with the closest valid name, wrong JSON type, a value
  outside ``choices``), one problem per field, before the platform's own ``validate`` runs;
* shorthand flags of ``crosspost post`` (``OptionSpec.flag``);
* the docs tables (a test fails when a platform's doc drifts from its declaration);
* ``crosspost config``, which lists every setting and where its value came from.

Pure: no I/O, nothing heavy imported.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from crosspost.core.errors import Problem


class OptionType(enum.StrEnum):
    """The JSON type an option takes."""

    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    STRING_LIST = "string list"
    OBJECT = "object"
    ANY = "any"


OVERRIDE_OPTIONS = frozenset({"content", "media"})
"""Keys every platform accepts under ``target_options.<platform>``: per-platform text and media."""


@attrs.frozen(kw_only=True)
class OptionSpec:
    """One ``target_options.<platform>.<name>`` key."""

    name: str
    type: OptionType
    help: str
    """One sentence for docs, ``--help`` and error messages."""
    choices: tuple[str, ...] = ()
    """Accepted values (for strings and string lists); empty accepts any."""
    required: bool = False
    default: Any = None
    """What applies when the key is absent (documented; None: nothing is sent)."""
    flag: str | None = None
    """Shorthand flag of ``crosspost post`` (``privacy`` gives ``--privacy``), or None."""
    minimum: float | None = None
    maximum: float | None = None
    aliases: tuple[str, ...] = ()
    """Other names accepted for the same option (e.g. a hosted service's spelling)."""
    flag_choices: tuple[str, ...] = ()
    """What the shorthand flag takes when that differs from ``choices`` (the platform's
    :meth:`~crosspost.core.platform.Platform.option_from_flag` translates); empty: ``choices``."""
    flag_multiple: bool = False
    """The shorthand flag may be repeated (its values reach ``option_from_flag`` as a tuple)."""


@attrs.frozen(kw_only=True)
class SettingSpec:
    """One ``CROSSPOST_<PLATFORM>_<NAME>`` environment variable a plugin reads."""

    name: str
    """Lower-case key in ``settings.platform(platform)`` (``client_key``)."""
    help: str
    default: str | None = None
    required: bool = False
    """Required for posting at all (absent: a ConfigError naming the variable)."""
    secret: bool = False
    """Never shown by ``crosspost config`` (only whether it is set)."""

    def env_name(self, platform: str) -> str:
        return f"CROSSPOST_{platform.upper()}_{self.name.upper()}"


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (a typo's fix), or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` did you mean 'x'?`` or an empty string."""
    match = closest(name, candidates)
    return f" did you mean {match!r}?" if match else ""


def option_problems(options: Mapping[str, Any], specs: Sequence[OptionSpec], *, path: str) -> list[Problem]:
    """Problems with ``options`` against ``specs``: one per field, each naming what is accepted.

    ``path`` is the JSON path of the options object (``target_options.tiktok``).
    """
    by_name: dict[str, OptionSpec] = {}
    for spec in specs:
        by_name[spec.name] = spec
        for alias in spec.aliases:
            by_name.setdefault(alias, spec)
    accepted = sorted({s.name for s in specs} | OVERRIDE_OPTIONS)
    problems: list[Problem] = []
    given = set()
    for key, value in options.items():
        if key in OVERRIDE_OPTIONS:
            continue
        found = by_name.get(key)
        if found is None:
            hint = did_you_mean(key, accepted)
            problems.append(Problem(field=f"{path}.{key}",
                                    message=f"unknown option;{hint} accepted: {', '.join(accepted)}"))
            continue
        given.add(found.name)
        message = value_problem(found, value)
        if message is not None:
            problems.append(Problem(field=f"{path}.{key}", message=message))
    for spec in specs:
        if spec.required and spec.name not in given:
            shown = f"; one of: {', '.join(spec.choices)}" if spec.choices else ""
            problems.append(Problem(field=f"{path}.{spec.name}",
                                    message=f"required: {spec.help.rstrip('.')}{shown}"))
    return problems


def value_problem(spec: OptionSpec, value: Any) -> str | None:
    """Why ``value`` does not fit ``spec``, or None."""
    checker = _CHECKS[spec.type]
    problem = checker(value)
    if problem is not None:
        return problem
    if spec.choices:
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item not in spec.choices:
                hint = did_you_mean(str(item), spec.choices)
                return f"{item!r} is not accepted;{hint} accepted: {', '.join(spec.choices)}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            return f"must be at least {spec.minimum:g}, got {value}"
        if spec.maximum is not None and value > spec.maximum:
            return f"must be at most {spec.maximum:g}, got {value}"
    return None


def json_type(value: object) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _expect(name: str, ok: bool, value: object) -> str | None:
    return None if ok else f"expected {name}, got {json_type(value)}"


_CHECKS: dict[OptionType, Callable[[Any], str | None]] = {
    OptionType.STRING: lambda v: _expect("a string", isinstance(v, str), v),
    OptionType.BOOLEAN: lambda v: _expect("true or false", isinstance(v, bool), v),
    OptionType.INTEGER: lambda v: _expect("a whole number", isinstance(v, int) and not isinstance(v, bool), v),
    OptionType.NUMBER: lambda v: _expect("a number", isinstance(v, int | float) and not isinstance(v, bool), v),
    OptionType.STRING_LIST: lambda v: _expect(
        "a list of strings", isinstance(v, list) and all(isinstance(i, str) for i in v), v),
    OptionType.OBJECT: lambda v: _expect("an object", isinstance(v, Mapping), v),
    OptionType.ANY: lambda v: None,
}
