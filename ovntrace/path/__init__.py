"""The path engine: ``ovntrace path SRC DST`` without its command line.

Reads NB/SB on the central node and every node's conf.db (``ovntrace.sources.collect``), builds the source
microflow, runs ``ofproto/trace`` on the source node (conntrack ``trk,new`` and ``--ct-next trk,est``),
follows a tunnel verdict to the remote chassis with the packet as it arrives there, and stitches one path.

- :mod:`ovntrace.path.model`: what a path is (pure data);
- :mod:`ovntrace.path.stitch`: the stitching (pure, given a trace source);
- :mod:`ovntrace.path.collect`: the inventory, SSH, snapshots, trace files (all the I/O).

Below :mod:`ovntrace.render` (``render.path``), the TUI (``tui.live``) and the CLI (``ovntrace.pathcmd``).
See docs/path.md.
"""

from ovntrace.path.collect import Env, run_path, run_snapshot
from ovntrace.path.model import CT_STATES, SCHEMA, Chain, NeedsTrace, NodeTrace, PathResult, PathUsageError, Reply

__all__ = ["CT_STATES", "SCHEMA", "Chain", "Env", "NeedsTrace", "NodeTrace", "PathResult", "PathUsageError",
           "Reply", "run_path", "run_snapshot"]
