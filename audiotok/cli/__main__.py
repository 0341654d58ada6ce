"""``python -m audiotok.cli``: the ``audiotok`` command."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
