"""Makes the suite's shared helpers importable by name (`from sandbox_pair import sandbox_pair`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
