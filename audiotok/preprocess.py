"""The dataset job's public names at their first place; the job itself is the package ``audiotok.job``."""

from __future__ import annotations

from .job import *  # noqa: F403 (the same names, one list: audiotok.job.__all__)
from .job import __all__ as __all__
