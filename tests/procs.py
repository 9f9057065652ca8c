"""Where the repository is, for tests that read its files.

The helpers that start and watch processes live in :mod:`wireproof.procs`,
which the installed tool uses too.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
