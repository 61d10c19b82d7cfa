"""The console every `fivestar` command prints to (rich).

A terminal (or COLUMNS) sets the width; pipes and CI logs get full rows (130 columns).
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 130)
