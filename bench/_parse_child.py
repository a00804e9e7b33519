"""Child of ``bench_parse.py --baseline``: parse a file with the ovntrace tree at argv[1], print CPU seconds.

Run in a fresh interpreter per measurement so both trees are measured the same way (imports,
first-parse caches warmed by one untimed parse, then best of ``argv[3]`` timed parses).
"""

import json
import sys
import time

sys.path.insert(0, sys.argv[1])
from ovntrace.parser import parse

with open(sys.argv[2], encoding="utf-8") as f:
    text = f.read()
parse(text)
best_cpu = best_wall = float("inf")
for _ in range(int(sys.argv[3])):
    c0, w0 = time.process_time(), time.perf_counter()
    parse(text)
    best_cpu = min(best_cpu, time.process_time() - c0)
    best_wall = min(best_wall, time.perf_counter() - w0)
print(json.dumps({"cpu": best_cpu, "wall": best_wall, "file": sys.modules["ovntrace.parser"].__file__}))
