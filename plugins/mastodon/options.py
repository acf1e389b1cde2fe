"""``target_options.mastodon``: declared once, checked generically, parsed into :class:`MastodonOptions`.

``content`` and ``media`` (per-platform overrides) are generic and handled by crosspost itself.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from crosspost.core.options import OptionSpec, OptionType

PLATFORM = "mastodon"

VISIBILITIES = ("public", "unlisted", "private", "direct")

_ISO_TABLE = """
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en
eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka
kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
"""
ISO_639_1 = frozenset(_ISO_TABLE.split())
"""The two-letter ISO 639-1 codes Mastodon's ``language`` parameter takes."""

OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(name="visibility", type=OptionType.STRING, choices=VISIBILITIES, flag="visibility",
               help="Who sees the status: public, unlisted, private (followers only) or direct (mentioned "
                    "people only); absent, the account's own default posting visibility applies."),
    OptionSpec(name="sensitive", type=OptionType.BOOLEAN, default=False, flag="sensitive",
               help="Mark the attached media as sensitive (hidden behind a click)."),
    OptionSpec(name="spoiler_text", type=OptionType.STRING, flag="spoiler_text",
               help="A content warning shown before the text; it counts towards the character limit."),
    OptionSpec(name="language", type=OptionType.STRING, flag="language",
               help="The language of the text as an ISO 639-1 code (en, de, ja); absent, the server guesses."),
    OptionSpec(name="thread", type=OptionType.BOOLEAN, default=False, flag="thread",
               help="Split a text longer than the instance's limit into a reply chain at word boundaries "
                    "instead of refusing it."),
)


@attrs.frozen(kw_only=True)
class MastodonOptions:
    """The parsed options (already checked against :data:`OPTIONS`)."""

    visibility: str | None = None
    sensitive: bool = False
    spoiler_text: str = ""
    language: str | None = None
    thread: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MastodonOptions:
        """Values of the right type are taken, anything else left at its default (the generic
        check has reported it already)."""
        def text(name: str) -> str | None:
            value = options.get(name)
            return value if isinstance(value, str) and value else None

        def flag(name: str) -> bool:
            value = options.get(name)
            return value if isinstance(value, bool) else False

        visibility = text("visibility")
        return cls(visibility=visibility if visibility in VISIBILITIES else None,
                   sensitive=flag("sensitive"), spoiler_text=text("spoiler_text") or "",
                   language=text("language"), thread=flag("thread"))


def language_problem(value: object) -> str | None:
    """Why ``value`` is not an ISO 639-1 code, or None."""
    if not isinstance(value, str):
        return None  # the generic check reports the type
    if value in ISO_639_1:
        return None
    lowered = value.strip().lower()
    if lowered in ISO_639_1:
        return f"{value!r} is not accepted; write it as {lowered!r} (lower-case ISO 639-1)"
    head = lowered.split("-")[0].split("_")[0]
    if head in ISO_639_1 and head != lowered:
        return f"{value!r} is not accepted; Mastodon takes the two-letter ISO 639-1 code only, e.g. {head!r}"
    return f"{value!r} is not an ISO 639-1 language code (two letters, e.g. 'en', 'de', 'ja')"
