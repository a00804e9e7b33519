"""TUI benchmark: ``python bench/bench_tui.py [--lines N] [--keys K]``.

Reports, in one process (ratios against a baseline measured the same way, same process):
* open: a ~10k-line real input (fixtures concatenated, as in bench_parse.py) until the tree is shown and
  takes keys (parse + tree in a worker), against an empty Textual app's startup (the floor);
* keypress: ``j`` in the tree until the app has handled it and repainted (median, p95, max), while the
  OVN correlation still runs in the background and after it has finished; against a keypress in the
  empty app;
* how long the background OVN correlation takes (the tree is usable meanwhile).

Targets (issue 6): open <= 1.5 s, keypress <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_parse import big_input  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import Static  # noqa: E402

from ovntrace.tui.app import create_app  # noqa: E402
from ovntrace.tui.screens.explain import ExplainScreen  # noqa: E402
from ovntrace.tui.source import Source  # noqa: E402
from ovntrace.tui.widgets.tree import TraceTree  # noqa: E402

SIZE = (160, 48)


class Empty(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("empty")


async def _press_times(pilot: object, keys: int, key: str = "j") -> list[float]:
    """Key -> tree repainted. The side pane follows SELECTION_SETTLE_S after the last key; that
    deferred update is let happen between measured keys (and measured apart, see _settle_times)."""
    out = []
    for _ in range(keys):
        await pilot.pause(0.1)  # type: ignore[attr-defined]  # previous selection settled, not measured
        t0 = time.perf_counter()
        await pilot.press(key)  # type: ignore[attr-defined]
        await pilot._wait_for_screen()  # type: ignore[attr-defined]  # the repaint is done
        out.append(time.perf_counter() - t0)
    return out


async def baseline(keys: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    app = Empty()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        started = time.perf_counter() - t0
        presses = await _press_times(pilot, keys)
    return started, presses


async def tui(text: str, keys: int) -> dict[str, object]:
    t0 = time.perf_counter()
    app = create_app(Source(text=text, name="bench"))
    async with app.run_test(size=SIZE) as pilot:
        while True:
            await pilot.pause()
            screen = app.screen
            if isinstance(screen, ExplainScreen) and screen.outline is not None:
                tree = screen.query_one("#tree", TraceTree)
                if tree.last_line > 0 and tree.cursor_node is not None:
                    break
        await pilot._wait_for_screen()
        opened = time.perf_counter() - t0
        during = await _press_times(pilot, keys)
        t1 = time.perf_counter()
        await app.workers.wait_for_complete()
        await pilot.pause()
        correlate_rest = time.perf_counter() - t1
        after = await _press_times(pilot, keys)
        rows = len(screen.outline.flat) if screen.outline else 0
        shown = tree.last_line + 1
    return {"opened": opened, "during": during, "after": after, "correlate_rest": correlate_rest,
            "rows": rows, "shown": shown}


def fmt(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[int(len(xs) * 0.95) - 1] if len(xs) >= 20 else xs[-1]
    return f"median {statistics.median(xs) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {xs[-1] * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--keys", type=int, default=60)
    args = ap.parse_args()
    text = big_input(args.lines)
    n_lines = text.count("\n") + 1
    base_start, base_keys = asyncio.run(baseline(args.keys))
    res = asyncio.run(tui(text, args.keys))
    opened = float(res["opened"])  # type: ignore[arg-type]
    during = res["during"]
    after = res["after"]
    assert isinstance(during, list) and isinstance(after, list)
    base_med = statistics.median(base_keys)
    print(f"input: {n_lines} lines, {res['rows']} tree rows ({res['shown']} shown at open)")
    print(f"baseline empty app: start {base_start * 1000:.0f} ms; keypress {fmt(base_keys)}")
    print(f"open until interactive: {opened * 1000:.0f} ms  ({opened / base_start:.1f}x the empty app) "
          f"target <= 1500 ms: {'OK' if opened <= 1.5 else 'MISSED'}")
    print(f"keypress while OVN correlation runs: {fmt(during)}  "
          f"({statistics.median(during) / base_med:.1f}x the empty app)")
    print(f"keypress after: {fmt(after)}  ({statistics.median(after) / base_med:.1f}x the empty app) "
          f"target <= 50 ms: {'OK' if max(after) <= 0.05 else 'MISSED'}")
    rest = res["correlate_rest"]
    assert isinstance(rest, float)
    print(f"OVN correlation still running after the key presses: {rest * 1000:.0f} ms")


if __name__ == "__main__":
    main()
