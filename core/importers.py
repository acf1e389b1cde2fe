"""Request importers: other services' request shapes read into crosspost's own.

Plugins contribute importers through the ``register_importers`` hook. An importer looks at a
request object and returns None when it does not know the shape, or an :class:`ImportedRequest`
holding the request in crosspost's shape plus notes on what the import changed. A hosted
service's per-platform settings block (``tiktokSettings``, ``platformSpecificData``,
``platformSettings.<platform>``) is translated by that platform's
:meth:`~crosspost.core.platform.Platform.import_settings`, so each platform imports its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    import pluggy


@attrs.frozen(kw_only=True)
class ImportedRequest:
    """A foreign request read as crosspost's own."""

    shape: str
    """The service whose shape it was (``zernio``, ``late``, ``postpost``...)."""
    request: Mapping[str, Any]
    notes: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ImportedOptions:
    """A platform's translation of one service's settings block into ``target_options.<platform>``."""

    options: Mapping[str, Any]
    notes: tuple[str, ...] = ()


class RequestImporter(Protocol):
    """Reads one family of request shapes."""

    name: str

    def read(self, data: Mapping[str, Any]) -> ImportedRequest | None:
        """The request in crosspost's shape, or None when ``data`` is not this importer's shape."""
        ...


def first_import(importers: Sequence[RequestImporter], data: Mapping[str, Any]) -> ImportedRequest | None:
    """What the first importer that knows ``data``'s shape makes of it."""
    for importer in importers:
        imported = importer.read(data)
        if imported is not None:
            return imported
    return None


def registered_importers(pm: pluggy.PluginManager) -> list[RequestImporter]:
    """Every importer the plugins contribute through ``register_importers``, in the order
    pluggy calls the implementations (``tryfirst``/``trylast`` respected)."""
    found: list[RequestImporter] = []
    pm.hook.register_importers(register=found.append)
    return found
