"""The web dashboard: a week/month calendar of posts, each post's timeline, metric charts.

Server-rendered HTML with one small CSS and JS file shipped in the package (no CDN, nothing
fetched at run time). :func:`make_dashboard_app` returns an aiohttp sub-application that
``crosspost serve`` mounts at ``/ui`` behind its API keys; ``crosspost dashboard`` serves it
alone. :func:`analytics_routes` is the ``GET /v1/analytics?post_id=`` REST handler.
"""

from crosspost.core.dashboard.analytics_api import analytics_routes
from crosspost.core.dashboard.app import CheckKey, make_dashboard_app

__all__ = ["CheckKey", "analytics_routes", "make_dashboard_app"]
