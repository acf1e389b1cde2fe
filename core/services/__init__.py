"""The hosted posting services' request shapes (Zernio/Late, SocialSyncerAPI, RelayAPI, PostPost).

A service is not a platform: its request shape (``mediaItems``, ``platforms``, ``targets``...)
is read here, in core, and every per-platform settings block in it is handed to that platform's
:meth:`~crosspost.core.platform.Platform.import_settings`. See :mod:`crosspost.core.services.shapes`.
"""

from crosspost.core.services.shapes import (
    SERVICES,
    AccountResolver,
    ServiceRequest,
    SettingsReader,
    detect_shape,
    read_request,
)

__all__ = ["SERVICES", "AccountResolver", "ServiceRequest", "SettingsReader", "detect_shape", "read_request"]
