"""``crosspost serve``: crosspost's REST API plus the hosted posting services' dialects.

Entry points: :func:`crosspost.core.serve.server.run` (what the CLI runs) and
:func:`crosspost.core.serve.server.open_api` + :func:`crosspost.core.serve.app.make_app` (to embed
the application, or test it). Nothing here names a platform: request bodies are read by
:mod:`crosspost.core.services` and each platform's settings block by the platform itself.
"""
