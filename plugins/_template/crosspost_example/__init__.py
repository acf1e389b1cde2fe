"""crosspost-example: a crosspost plugin that posts to an Example HTTP API.

crosspost loads :mod:`crosspost_example.plugin` through the ``crosspost`` entry point declared in
``pyproject.toml``; importing this package has no side effects.
"""

__version__ = "0.1.0"
