"""Shared helpers for the OVN knowledge tests: fixture paths and a tiny trace-table scanner.

The scanner is deliberately minimal (it is not the project's parser): it yields, per table
line of an ``ofproto/trace``, (table_id, match, action lines, cookie) for infer_layout().
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package may not be installed in the venv (no editable install)
    sys.path.insert(0, str(ROOT))

from ovntrace.ovn.tables import FlowEvidence  # noqa: E402

FIX = ROOT / "fixtures"
GT = FIX / "ovn-24.03.9"
SEED = FIX / "seed"

_TABLE_RE = re.compile(r"^\s*(\d+)\. (.*?)(?:, priority (\d+))?(?:, cookie (0x[0-9a-f]+))?$")
_ACTION_RE = re.compile(r"^[a-z_]+(?:[:(]|$)")


def scan_trace(path: Path) -> list[FlowEvidence]:
    out: list[FlowEvidence] = []
    cur: list[object] | None = None

    def flush() -> None:
        if cur is not None:
            out.append(FlowEvidence(int(str(cur[0])), str(cur[1]), tuple(cur[2]),  # type: ignore[arg-type]
                                    cur[3]))  # type: ignore[arg-type]

    for line in path.read_text().splitlines():
        m = _TABLE_RE.match(line)
        if m and "No match" not in line:
            flush()
            cur = [int(m.group(1)), m.group(2), [], int(m.group(4), 16) if m.group(4) else 0]
            continue
        s = line.strip()
        skip = ("Final", "Megaflow", "Datapath")
        if cur is not None and s and _ACTION_RE.match(s) and not s.startswith(skip):
            cur[2].append(s)  # type: ignore[attr-defined]
    flush()
    return out
