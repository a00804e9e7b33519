"""The hostile-input corpus for output safety, derived from REAL fixtures (nothing here is a real trace).

Every case starts from a real trace (``fixtures/lab``: made by ``ovntrace lab trace`` on the lab's OVS 3.1.0 /
OVN 23.03.1; ``fixtures/seed``: a kernel-datapath trace from a real cluster) and, for the cluster facts, from
the real ``ovsdb-client dump`` files of ``fixtures/context`` (the lab's NB and SB). A payload (terminal
escape sequences, other C0/C1 controls, bidi overrides, Rich markup, backticks, HTML, Markdown, shell
metacharacters) is then injected at one place (followed by ``end`` where it would end a line, whose
trailing white space the parser trims):

- ``prompt``: the trace's shell prompt line (``[root@kube-node2 ~]# ovs-appctl ofproto/trace … PAYLOAD``), or
  one put before a trace that has none: the command;
- ``junk``: a line inside the first table that the parser does not understand: an unparsed step and a
  parser warning (stderr, the Markdown warnings list, the TUI notification);
- ``match``: the end of the first table's match (``0. in_port=…,PAYLOAD, priority …``): a parsed row;
- ``flow``: the end of the ``Flow:`` line (the pass title, the details pane);
- ``dpactions``: the end of the last ``Datapath actions:`` line (the verdict, the path pane);
- ``bridge``: the bridge name of the first ``bridge("…")`` header (the summary line, the path pane);
- ``db``: the names in the NB/SB dumps (logical switches and routers, their ports, SB datapath names and
  port bindings, ACL names), renamed consistently on both sides so the correlation still joins them: the
  verdict cause, ``**Path:**``, the notes and the OVN text of the rows.

``cases()`` builds them in memory (the tests write what they need to ``tmp_path``); nothing is stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import FIX

# one of each kind; ``ALL`` puts them in one string
PAYLOADS: dict[str, str] = {
    "osc-title": "\x1b]2;PWNED-TITLE\x07",  # retitles the terminal (xterm, tmux)
    "osc-title-st": "\x1b]0;PWNED-ST\x1b\\",  # the same, ended by ST
    "csi-clear": "\x1b[2J\x1b[H",  # clears the screen, cursor home
    "csi-sgr": "\x1b[31;1mRED\x1b[0m",  # colour from the input, not from us
    "osc8-link": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",  # a hyperlink
    "c1": "\x9b2J\x9d0;PWNED-C1\x9c\x85",  # 8-bit CSI, OSC, ST, NEL
    "c0": "\x00\x07\x08\x0b\x0c\x0d\x0e\x7f",  # NUL, BEL, BS, VT, FF, CR, SO, DEL
    "bidi": "\u202eevil\u202c \u2066x\u2069 \u200f",  # right-to-left override, isolates, RLM
    "invisible": "a\u200bb\ufeffc\u2028d\u2029e\u00ad",  # zero-width space, BOM, line/paragraph separators
    "rich-markup": "[bold]B[/] [/] [link=http://evil.example]L[/link] [red on white]R",
    "backticks": "`x` ``y`` ``` ````",
    "html": "<img src=x onerror=alert(1)> <a href=//evil>a</a> </details> <script>s</script> &amp;",
    "markdown": "*b* _i_ __u__ # h [l](http://evil.example) ![i](x) ~~s~~ | c |",
    "shell": "$(id) `id` ; rm -rf / && echo \"q\" 'q' \\ > /tmp/x | cat",
}
PAYLOADS["ALL"] = " ".join(PAYLOADS.values())

SITES = ("prompt", "junk", "match", "flow", "dpactions", "bridge")
TRACES = {  # real traces: one lab trace with OVN correlation, one seed trace (kernel datapath, old cluster)
    "lab": FIX / "lab" / "acl-drop-dst.txt",  # kube-node1: dropped by the to-lport ACL (logged)
    "seed": FIX / "seed" / "kube-node2-pod-to-sshd2.txt",
}
NB_DUMP = FIX / "context" / "lab-nb-dump.json"
SB_DUMP = FIX / "context" / "lab-sb-dump.json"
ON_NODE = "kube-node1"  # where lab/acl-drop-dst.txt was taken


@dataclass(frozen=True)
class Case:
    name: str
    payload: str
    site: str
    text: str  # the trace
    db: bool = False  # with the poisoned NB/SB dumps (nb_text/sb_text)

    @property
    def id(self) -> str:
        return self.name


def inject(text: str, site: str, payload: str) -> str:
    """``text`` (a real trace) with ``payload`` put at ``site`` (see the module docstring)."""
    lines = text.split("\n")
    if site == "prompt":  # the trace's own prompt line (the seed's), or one put before it
        if "ovs-appctl" in lines[0]:
            lines[0] += f" {payload} end"
        else:
            return f"$ ovs-appctl ofproto/trace br-int 'in_port=4' {payload} end\n" + text
    elif site == "junk":
        i = next(i for i, ln in enumerate(lines) if re.match(r"\s*0\. ", ln))
        lines.insert(i + 1, f"    junk {payload} end")
    elif site == "match":
        i = next(i for i, ln in enumerate(lines) if re.match(r"\s*0\. ", ln))
        lines[i] = lines[i].replace(", priority ", f",{payload}, priority ", 1)
    elif site == "flow":
        i = next(i for i, ln in enumerate(lines) if ln.startswith("Flow: "))
        lines[i] += f",{payload},end"
    elif site == "dpactions":
        i = max(i for i, ln in enumerate(lines) if ln.startswith("Datapath actions: "))
        lines[i] += f",{payload},end"
    elif site == "bridge":
        i = next(i for i, ln in enumerate(lines) if ln.startswith('bridge("'))
        lines[i] = lines[i].replace('bridge("br-int")', f'bridge("br-int{payload}")')
    else:
        raise ValueError(site)
    out = "\n".join(lines)
    assert out != text, (site, "nothing injected")
    return out


# -- the databases --------------------------------------------------------------------------------------

_NAMED = {  # table -> the columns whose values are names (renamed everywhere they are referenced)
    "Logical_Switch": ("name",), "Logical_Router": ("name",), "Logical_Switch_Port": ("name",),
    "Logical_Router_Port": ("name",), "ACL": ("name",), "Port_Binding": ("logical_port",),
}
_SKIP = {"Chassis", "Chassis_Private", "Encap"}  # hostnames and chassis names stay: --on and tunnels use them


def _rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(doc["headings"], row, strict=True)) for row in doc["data"]]


def _dumps(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def poison_dumps(payload: str) -> tuple[str, str]:
    """The lab's NB and SB ``ovsdb-client dump --format=json`` with every name (see ``_NAMED`` and SB
    ``Datapath_Binding.external_ids:name``) suffixed with ``payload``, the same on both sides."""
    nb, sb = _dumps(NB_DUMP), _dumps(SB_DUMP)
    names: set[str] = set()
    for doc in nb + sb:
        table = doc["caption"].removesuffix(" table")
        for row in _rows(doc):
            for col in _NAMED.get(table, ()):
                if isinstance(row.get(col), str) and row[col]:
                    names.add(row[col])
            if table == "Datapath_Binding":
                names.update(v for k, v in row["external_ids"][1] if k == "name")
    assert len(names) > 10, names

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return v + payload if v in names else v
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    def dump(docs: list[dict[str, Any]]) -> str:
        out = []
        for doc in docs:
            if doc["caption"].removesuffix(" table") not in _SKIP:
                doc = {**doc, "data": walk(doc["data"])}
            out.append(json.dumps(doc, separators=(",", ":")))
        return "\n".join(out) + "\n"

    return dump(nb), dump(sb)


def cases() -> list[Case]:
    """Every (trace, site, payload) and (lab trace + poisoned databases, payload) case."""
    out: list[Case] = []
    for tname, path in TRACES.items():
        text = path.read_text()
        for site in SITES:
            for pname, payload in PAYLOADS.items():
                out.append(Case(f"{tname}-{site}-{pname}", payload, site, inject(text, site, payload)))
    lab = TRACES["lab"].read_text()
    for pname, payload in PAYLOADS.items():
        out.append(Case(f"lab-db-{pname}", payload, "db", lab, db=True))
    return out


def write_case(case: Case, d: Path) -> tuple[Path, list[str]]:
    """The trace file and the ``explain`` arguments for ``case`` (the poisoned dumps written next to it)."""
    trace = d / "trace.txt"
    trace.write_text(case.text, encoding="utf-8")
    args: list[str] = []
    if case.db:
        nb, sb = poison_dumps(case.payload)
        (d / "nb.json").write_text(nb, encoding="utf-8")
        (d / "sb.json").write_text(sb, encoding="utf-8")
        args = ["--nb", str(d / "nb.json"), "--sb", str(d / "sb.json"), "--on", ON_NODE,
                "--ovn-version", "23.03.1"]
    return trace, args
