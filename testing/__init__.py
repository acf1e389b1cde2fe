"""crosspost.testing: what plugin authors and apps embedding crosspost test with.

- :mod:`~crosspost.testing.pytest_plugin`: fixtures (a temporary hub, the TikTok emulator, a fake
  clock, throwaway plugins), loaded through the ``pytest11`` entry point;
- :mod:`~crosspost.testing.context`: :class:`FakeJobContext`, a job context in memory;
- :mod:`~crosspost.testing.faults`: :class:`FaultPlan`, scripted HTTP faults for aiohttp fakes;
- :mod:`~crosspost.testing.contract`: :class:`PlatformContract`, the suite every platform runs;
- :mod:`~crosspost.testing.media`: small real media files.

Importing this package imports nothing else (the pytest plugin must stay cheap to load).
"""
