"""``python -m ovntrace.tui [TRACE|-] …``: the TUI alone (the same options as ``ovntrace tui``)."""

from __future__ import annotations

import sys

from ovntrace.tui.cli import main

if __name__ == "__main__":
    sys.exit(main())
