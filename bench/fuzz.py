"""Fuzz suite, long run: ``python bench/fuzz.py [--n 5000] [--seed 1] [--save DIR]``.

Mutates every real trace fixture (tests/fuzz/mutate.py: the same mutations as the CI profile), parses
each mutated input, renders it (JSON always; text and Markdown on every 4th) and checks that no line
was lost. Reports, in one process:

* failures by class: the exception (type and the ovntrace function it came from), ``hang`` (over
  ``--timeout`` s, interrupted by SIGALRM), or the lost-line check that failed;
* the worst parse+JSON time per KB of input, and its ratio to a plain line scan (split + one regex
  per line) of the same input measured right before it (the baseline; inputs under 1 KB skipped);
* memory per input line: tracemalloc's peak while parsing + encoding JSON, over input lines, on every
  20th input and on the largest ones.

``--save DIR`` writes every failing input there (``<fixture>__<ops>__s<seed>.txt``): the regression
fixtures in fixtures/regress/ came from such runs. Run against another tree with
``PYTHONPATH=/that/tree python bench/fuzz.py`` (this tree's mutations are used).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # appended: a PYTHONPATH tree's ovntrace wins

from tests.conftest import trace_fixtures  # noqa: E402
from tests.fuzz.mutate import mutate, problems  # noqa: E402

_SCAN = re.compile(r"^\s*(\d{1,3})\. |^\s*(\S+)")


class Hang(Exception):
    pass


_ARMED = [False]


def _alarm(signum: int, frame: FrameType | None) -> None:
    if _ARMED[0]:  # an alarm delivered late (while a deep traceback unwinds) is ignored
        _ARMED[0] = False
        raise Hang()


def _arm(seconds: int) -> None:
    _ARMED[0] = seconds > 0
    signal.alarm(seconds)


def line_scan(text: str) -> int:
    n = 0
    for line in text.split("\n"):
        if _SCAN.match(line):
            n += 1
    return n


def _where(e: BaseException) -> str:
    """``KeyError in state.apply``: the exception and the last ovntrace function it went through
    (walked by hand: a RecursionError's traceback is thousands of frames deep)."""
    tb, last = e.__traceback__, None
    while tb is not None:
        code = tb.tb_frame.f_code
        if "/ovntrace/" in code.co_filename:
            last = f"{Path(code.co_filename).stem}.{code.co_name}"
        tb = tb.tb_next
    return f"{type(e).__name__} in {last}" if last else type(e).__name__


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=10)
    ap.add_argument("--save", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sys.setrecursionlimit(10_000)  # as ovntrace's main() does
    import ovntrace
    from ovntrace.parser import parse
    from ovntrace.render import json as json_render

    fixtures = trace_fixtures()
    texts = [p.read_text(encoding="utf-8") for p in fixtures]
    signal.signal(signal.SIGALRM, _alarm)
    classes: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    worst_kb = (0.0, "")
    worst_ratio = (0.0, "")
    worst_mem = (0.0, "")
    worst_mem_b = (0.0, "")
    total_bytes = 0
    t_start = time.perf_counter()
    for i in range(args.n):
        k = i % len(fixtures)
        seed = args.seed * 1_000_003 + i
        text, ops = mutate(texts[k], seed)
        name = f"{fixtures[k].stem}__{'+'.join(ops)}__s{seed}"
        total_bytes += len(text)
        kb = len(text.encode("utf-8", "surrogatepass")) / 1024
        t0 = time.perf_counter()
        line_scan(text)
        t_scan = time.perf_counter() - t0
        found: list[str] = []
        _arm(args.timeout)
        try:
            t0 = time.perf_counter()
            json_render.render(parse(text))
            t_parse = time.perf_counter() - t0
            found = problems(text, renderers=i % 4 == 0)
        except Hang:
            found = ["hang"]
            t_parse = float(args.timeout)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            found = [_where(e)]
            t_parse = 0.0
        finally:
            _arm(0)
        if kb >= 1 and found != ["hang"]:
            if t_parse * 1000 / kb > worst_kb[0]:
                worst_kb = (t_parse * 1000 / kb, name)
            if t_scan > 0 and t_parse / t_scan > worst_ratio[0]:
                worst_ratio = (t_parse / t_scan, name)
        if not found and (i % 20 == 0 or kb > 100):
            tracemalloc.start()
            json_render.render(parse(text))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            per_line = peak / max(1, text.count("\n") + 1)
            if per_line > worst_mem[0]:
                worst_mem = (per_line, name)
            if peak / max(1, len(text)) > worst_mem_b[0]:
                worst_mem_b = (peak / max(1, len(text)), name)
        for f in found:
            cls = re.sub(r"lines \[.*", "", f).strip()
            classes[cls] += 1
            examples.setdefault(cls, name)
        if found and args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{name[:200]}.txt").write_text(text, encoding="utf-8", errors="surrogatepass")
    report = {
        "ovntrace": str(Path(ovntrace.__file__).parent),
        "inputs": args.n,
        "input_mb": round(total_bytes / 1e6, 1),
        "seconds": round(time.perf_counter() - t_start, 1),
        "failed_inputs": sum(classes.values()),
        "failures_by_class": dict(classes.most_common()),
        "example_per_class": examples,
        "worst_ms_per_kb": [round(worst_kb[0], 3), worst_kb[1]],
        "worst_ratio_to_line_scan": [round(worst_ratio[0], 1), worst_ratio[1]],
        "worst_peak_bytes_per_input_line": [round(worst_mem[0]), worst_mem[1]],
        "worst_peak_bytes_per_input_byte": [round(worst_mem_b[0], 1), worst_mem_b[1]],
    }
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
