"""An OpenAPI 3.1 document per dialect, built from the very routes the server mounts.

Because the document is generated from :meth:`Dialect.routes`, it cannot list a path the server
does not serve, nor miss one; ``tests/serve/test_serve_openapi.py`` checks that against the
application's router. Bodies are described by the upstream services' own specs (see
docs/serve.md); this document names the operations, parameters and auth.
"""

from __future__ import annotations

import re
from typing import Any

from crosspost.core.serve.api import Dialect

_PARAM = re.compile(r"\{([^}]+)\}")


def document(dialect: Dialect) -> dict[str, Any]:

    paths: dict[str, dict[str, Any]] = {}
    scheme = "apiKey" if dialect.key_headers[0] == "x-api-key" else "bearer"
    for route in dialect.routes():
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                           for name in _PARAM.findall(route.path)],
            "responses": {"default": {"description": "the service's response shape (see docs/serve.md)"}},
        }
        if route.mutating:
            operation["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                            "schema": {"type": "string", "maxLength": 255}})
        if route.public:
            operation["security"] = []
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": dialect.title, "version": "1"},
        "servers": [{"url": dialect.base}],
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
        }},
        "security": [{scheme: []}],
        "paths": paths,
    }
