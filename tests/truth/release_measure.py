"""Stage names given without any context, measured against OVN's own ovn-detrace (with the database).

A *case* is a trace and the real ``ovn-detrace`` output on it (run with the SB/NB the trace was taken
against). For every table step whose cookie ovn-detrace resolved to a logical flow, the stage ovntrace
gives from the trace alone (no database, no ``--ovn-version``) is:

* ``right``: ``stage`` is the one ovn-detrace printed;
* ``open_right``: ``stage`` is null and the right name is among ``stage_candidates``;
* ``open_missing``: ``stage`` is null and the right name is not among the candidates;
* ``wrong``: ``stage`` (or a physical table role) names something else: the bug this guards against.

Cases are plain (name, release, trace, detrace) tuples so that other labs (OVN 25.03 on Debian 13)
can be added by listing their pairs.

``python -m tests.truth.release_measure`` prints the table for the shipped fixtures and the offline
oracle (fixtures/lab needs ``ovsdb-server`` and ``/usr/bin/ovn-detrace``; other rows are stored).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ovntrace.correlate.annotate import annotate
from ovntrace.parser import parse
from tests.conftest import FIX
from tests.truth.detrace import DETRACE, cookie_key, run_detrace


@dataclass(frozen=True)
class Case:
    name: str
    release: str  # the release the trace really comes from (what the DB / packages say)
    trace: str
    detrace: str  # the real ovn-detrace output on ``trace``, with the database


@dataclass
class Counts:
    right: int = 0
    open_right: int = 0
    open_missing: int = 0
    wrong: int = 0
    wrong_examples: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.right + self.open_right + self.open_missing + self.wrong

    def add(self, other: Counts) -> None:
        self.right += other.right
        self.open_right += other.open_right
        self.open_missing += other.open_missing
        self.wrong += other.wrong
        self.wrong_examples += other.wrong_examples

    def row(self) -> str:
        return (f"{self.total:4d} tables: {self.right:4d} named right, {self.open_right:4d} open with the right "
                f"candidate, {self.open_missing:3d} open without it, {self.wrong:4d} wrong")


_TABLE_COOKIE = re.compile(r"^ *\d+\. .*cookie 0x([0-9a-fA-F]+)")
_LFLOW = re.compile(r"^  \* +Logical flow: table=\d+ \((\w+)\)")


def oracle(detrace: str) -> dict[str, set[str]]:
    """Cookie -> the stage names ovn-detrace printed for it (logical flows only).

    ovn-detrace prints what a cookie resolves to right after that table's block, before the next table
    line (``ovn-detrace`` of 23.03 and 24.03 alike), so a ``Logical flow:`` line belongs to the last
    cookie seen.  (Read here rather than with :func:`tests.truth.detrace.parse_detrace`, which is strict
    about 23.03.1's record kinds; 24.03's ovn-detrace also prints ``OVS Interface`` records.)"""
    out: dict[str, set[str]] = {}
    cookie: str | None = None
    for line in detrace.splitlines():
        m = _TABLE_COOKIE.match(line)
        if m:
            cookie = cookie_key(m.group(1))
            continue
        m = _LFLOW.match(line)
        if m and cookie is not None:
            out.setdefault(cookie, set()).add(m.group(1))
    return out


def measure_case(case: Case) -> Counts:
    truth = oracle(case.detrace)
    c = Counts()
    for t in parse(case.trace).traces:
        a = annotate(t)
        for s in t.tables():
            if not s.cookie:
                continue
            want = truth.get(cookie_key(s.cookie))
            if not want:
                continue
            st = a.steps.get(s.line) if a is not None else None
            if st is not None and st.stage is not None:
                if st.stage in want:
                    c.right += 1
                else:
                    c.wrong += 1
                    c.wrong_examples.append(f"{case.name} L{s.line} table {s.table}: {st.stage}, ovn-detrace "
                                            f"{'/'.join(sorted(want))}")
            elif st is not None and set(st.stage_candidates) & want:
                c.open_right += 1
            elif st is not None and st.table_role not in (None, "ingress", "egress") and not st.stage_candidates:
                c.wrong += 1
                c.wrong_examples.append(f"{case.name} L{s.line} table {s.table}: role {st.table_role}, "
                                        f"ovn-detrace {'/'.join(sorted(want))}")
            else:
                c.open_missing += 1
    return c


def measure(cases: Iterable[Case]) -> dict[str, Counts]:
    """Counts per release (the case's true release)."""
    out: dict[str, Counts] = {}
    for case in cases:
        out.setdefault(case.release, Counts()).add(measure_case(case))
    return out


# -- the cases we ship ----------------------------------------------------------------------------


def stored_cases() -> list[Case]:
    """Traces with a stored real ovn-detrace output: OVN 24.03.9 (fixtures/ovn-24.03.9) and the lab
    truth snapshot (OVN 23.03.1, fixtures/truth)."""
    ovn = FIX / "ovn-24.03.9"
    pairs = [(ovn / f"{n}.txt", ovn / f"{n}-detrace.txt") for n in ("trace1", "trace2", "trace3")]
    pairs.append((ovn / "detrace-head" / "trace.txt", ovn / "detrace-head" / "detrace-24.03.txt"))
    out = [Case(f"ovn-24.03.9/{t.relative_to(ovn)}", "24.03.9", t.read_text(), d.read_text()) for t, d in pairs]
    truth = FIX / "truth"
    out += [Case(f"truth/{p.name}", "23.03.1", p.read_text(), p.with_suffix(".detrace.txt").read_text())
            for p in sorted(truth.glob("*.txt")) if not p.name.endswith(".detrace.txt") and p.name != "README.md"]
    return out


def lab_fixture_traces() -> list[Path]:
    lab = FIX / "lab"
    return sorted(p for p in lab.glob("*.txt")
                  if not any(k in p.name for k in ("show", "list", "dpif", "ofctl")))


@contextmanager
def serve_db_files(sb: Path, nb: Path) -> Iterator[str]:
    """A real ovsdb-server on copies of ``sb`` and ``nb`` (read-only use), on a unix socket: the remote."""
    exe = shutil.which("ovsdb-server") or "/usr/sbin/ovsdb-server"
    with tempfile.TemporaryDirectory(prefix="ovntrace-detrace-") as d:
        tmp = Path(d)
        shutil.copy(sb, tmp / "sb.db")
        shutil.copy(nb, tmp / "nb.db")
        sock = tmp / "db.sock"
        proc = subprocess.Popen(
            [exe, str(tmp / "sb.db"), str(tmp / "nb.db"), f"--remote=punix:{sock}",
             f"--unixctl={tmp / 'ctl'}", "--no-chdir", f"--log-file={tmp / 'log'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                if sock.exists():
                    break
                time.sleep(0.05)
            yield f"unix:{sock}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def lab_fixture_cases() -> list[Case]:
    """fixtures/lab/*.txt with the real ovn-detrace run now against their own databases (OVN 23.03.1)."""
    lab = FIX / "lab"
    with serve_db_files(lab / "ovnsb_db.db", lab / "ovnnb_db.db") as remote:
        return [Case(f"lab/{p.name}", "23.03.1", p.read_text(), run_detrace(p.read_text(), remote, remote))
                for p in lab_fixture_traces()]


def seed_notes() -> list[tuple[str, int, str]]:
    """OVN 2.8 (the seed): no ovn-detrace exists for it; the author's notes name three stages."""
    return [("seed/kube-node2-pod-to-sshd2.txt", 13, "lr_in_ip_routing"),
            ("seed/kube-node2-pod-to-sshd2.txt", 14, "lr_in_arp_resolve"),
            ("seed/kube-node2-pod-to-sshd2.txt", 23, "ls_in_l2_lkup")]


def measure_seed() -> Counts:
    c = Counts()
    for rel, table, want in seed_notes():
        t = parse((FIX / rel).read_text()).traces[0]
        a = annotate(t)
        s = next(x for x in t.tables() if x.table == table)
        st = a.steps.get(s.line) if a is not None else None
        if st is not None and st.stage == want:
            c.right += 1
        elif st is not None and st.stage is None and want in st.stage_candidates:
            c.open_right += 1
        elif st is not None and st.stage is not None:
            c.wrong += 1
            c.wrong_examples.append(f"{rel} table {table}: {st.stage}, the author's note {want}")
        else:
            c.open_missing += 1
    return c


def main() -> None:
    cases = stored_cases()
    if Path(DETRACE).exists():
        cases += lab_fixture_cases()
    for rel, counts in sorted(measure(cases).items()):
        print(f"OVN {rel:8s} {counts.row()}")
        for w in counts.wrong_examples[:5]:
            print(f"    wrong: {w}")
    seed = measure_seed()
    print(f"OVN 2.8 (seed notes) {seed.row()}")
    for w in seed.wrong_examples:
        print(f"    wrong: {w}")


if __name__ == "__main__":
    main()
