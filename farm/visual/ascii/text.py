"""Banners under the names FARM's ``farm.visual.ascii.text`` had (``FARM_...``). Every
``FARM_*`` name gives this project's own banner."""

from __future__ import annotations

FARM_BANNER = """
+------------------------------------------------------+
|  FARM: Framework for Adapting Representation Models  |
+------------------------------------------------------+
"""


def __getattr__(name: str) -> str:
    if name.startswith("FARM_"):
        return FARM_BANNER
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
