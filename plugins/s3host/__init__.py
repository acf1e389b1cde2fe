"""A media host on S3-compatible object storage (``pip install 'crosspost[s3]'``).

TikTok pulls photos from URLs on a domain the app has verified; this plugin uploads local media
to a bucket served from such a domain and hands back the public URL. See ``docs/tiktok.md``.
"""
