"""A media host that stores files with an HTTP PUT: the TikTok emulator's own, or a WebDAV-style server.

Set ``CROSSPOST_MEDIA_PUT_URL`` (``crosspost emulator`` prints it) and local photos are PUT
there; the URL the server answers (or the PUT URL itself) is what the platform pulls.
"""
