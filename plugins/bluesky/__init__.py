"""Bluesky (AT Protocol) for crosspost: posts with facets, images, video, threads, over XRPC.

``plugin.py`` registers :class:`~crosspost.plugins.bluesky.platform.BlueskyPlatform`. The
sans-I/O modules (``text``, ``records``, ``limits``, ``xrpc``, ``session``, ``errors``) build
requests and read answers without any network; ``client.py`` is the aiohttp edge.
"""
