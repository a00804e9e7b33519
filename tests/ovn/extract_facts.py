"""Developer tool: regenerate ``ovntrace/ovn/data/*.json`` from OVN git mirrors.

Not imported by ovntrace and not a test (pytest only collects ``test_*.py``).
It reads constants (numbers and names only) from the C headers/sources of every
release tag and writes them as data, grouped by identical content, each group
listing the tags it holds for and the source file it came from.  No code or
prose from OVN/OVS is copied: only identifiers and their numeric values.

Usage::

    python tests/ovn/extract_facts.py OVS_GIT_DIR OVN_GIT_DIR OUT_DIR

where the git dirs are bare mirrors (e.g. from the ``fetch`` tool) of
``openvswitch/ovs`` (OVN 2.5-2.12 lived in its ``ovn/`` tree) and
``ovn-org/ovn`` (v20.03.0 on).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

OVS_TAG_RE = re.compile(r"^v2\.(5|6|7|8|9|10|11|12)\.\d+$")
OVN_TAG_RE = re.compile(r"^v(2\d)\.(\d\d)\.\d+$")


def git(repo: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", repo, *args], check=True, capture_output=True, text=True
    ).stdout


def show(repo: str, tag: str, path: str) -> str | None:
    r = subprocess.run(
        ["git", "--git-dir", repo, "show", f"{tag}:{path}"], capture_output=True, text=True
    )
    return r.stdout if r.returncode == 0 else None


def vkey(tag: str) -> tuple[int, ...]:
    return tuple(int(x) for x in tag.lstrip("v").split("."))


def strip_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    return re.sub(r"//[^\n]*", " ", src)


def c_constants(src: str) -> dict[str, int]:
    """Evaluate simple integer #defines and enum members (numbers, names, + - << |)."""
    src = strip_comments(src).replace("\\\n", " ")
    exprs: dict[str, str] = {}
    for m in re.finditer(r"^\s*#\s*define\s+(\w+)\s+([^\n]+)$", src, re.M):
        exprs[m.group(1)] = m.group(2).strip()
    values: dict[str, int] = {}
    for m in re.finditer(r"\benum\s*\w*\s*\{(.*?)\}", src, re.S):
        prev: str | None = None
        for item in m.group(1).split(","):
            item = item.strip()
            if not item:
                continue
            if "=" in item:
                name, expr = (x.strip() for x in item.split("=", 1))
            else:
                name, expr = item, (f"({prev}) + 1" if prev else "0")
            if not re.fullmatch(r"\w+", name):
                continue
            exprs[name] = expr
            prev = name

    def ev(name: str, depth: int = 0) -> int | None:
        if name in values:
            return values[name]
        expr = exprs.get(name)
        if expr is None or depth > 20:
            return None
        text = re.sub(r"\bUINT8_MAX\b", "255", expr)
        for ident in set(re.findall(r"\b[A-Za-z_]\w*\b", text)):
            v = ev(ident, depth + 1)
            if v is None:
                return None
            text = re.sub(rf"\b{ident}\b", str(v), text)
        text = re.sub(r"(\d+)[uUlL]+\b", r"\1", text)
        if not re.fullmatch(r"[\d\sxXa-fA-F()+\-<>|*]+", text):
            return None
        try:
            val = int(eval(text, {"__builtins__": {}}))  # digits/operators only
        except Exception:
            return None
        values[name] = val
        return val

    for name in list(exprs):
        ev(name)
    return values


# --- per-fact extractors: (repo, tag) -> (source path, fact) | None -------------------------


def first(repo: str, tag: str, paths: list[str]) -> tuple[str, str] | None:
    for p in paths:
        s = show(repo, tag, p)
        if s is not None:
            return p, s
    return None


def ex_layout(repo: str, tag: str) -> tuple[str, Any] | None:
    got = first(repo, tag, ["controller/lflow.h", "ovn/controller/lflow.h"])
    if not got:
        return None
    path, src = got
    consts = c_constants(src)
    extra = ""
    util = first(repo, tag, ["lib/ovn-util.h", "ovn/lib/ovn-util.h"])
    if util:
        extra = util[1]
        consts.update({k: v for k, v in c_constants(extra).items() if k.startswith("LOG_PIPELINE")})
    tables = {k[len("OFTABLE_"):]: v for k, v in consts.items() if k.startswith("OFTABLE_")}
    aliases = {}
    for m in re.finditer(r"#define\s+OFTABLE_(\w+)\s+OFTABLE_(\w+)", strip_comments(src)):
        aliases[m.group(1)] = m.group(2)
    plen = {k: v for k, v in consts.items() if k.startswith("LOG_PIPELINE")}
    return path, {"tables": dict(sorted(tables.items(), key=lambda kv: (kv[1], kv[0]))),
                  "aliases": aliases, "pipeline_len": plen}


STAGE_RE = re.compile(
    r'PIPELINE_STAGE\(\s*(SWITCH|ROUTER)\s*,\s*(IN|OUT)\s*,\s*(\w+)\s*,\s*(\d+)\s*,\s*"(\w+)"'
)


def ex_stages(repo: str, tag: str) -> tuple[str, Any] | None:
    for p in ["northd/northd.h", "northd/northd.c", "northd/ovn-northd.c", "ovn/northd/ovn-northd.c"]:
        s = show(repo, tag, p)
        if s is None:
            continue
        found = STAGE_RE.findall(strip_comments(s).replace("\\\n", " "))
        if not found:
            continue
        out: dict[str, dict[str, list[str]]] = {"switch": {"ingress": [], "egress": []},
                                                "router": {"ingress": [], "egress": []}}
        for dp, pipe, _enum, num, name in found:
            lst = out["switch" if dp == "SWITCH" else "router"]["ingress" if pipe == "IN" else "egress"]
            assert int(num) == len(lst), (tag, name, num)
            lst.append(name)
        return p, out
    return None


def ex_flags(repo: str, tag: str) -> tuple[str, Any] | None:
    got = first(repo, tag, ["include/ovn/logical-fields.h", "ovn/lib/logical-fields.h"])
    if not got:
        return None
    path, src = got
    m = re.search(r"enum\s+mff_log_flags_bits\s*\{(.*?)\}", strip_comments(src), re.S)
    if not m:
        return None
    consts = c_constants(src)
    bits: list[dict[str, Any]] = []
    multi: dict[str, dict[str, int]] = {}
    for item in m.group(1).split(","):
        name = item.split("=")[0].strip()
        if not name:
            continue
        val = consts[name]
        mm = re.fullmatch(r"MLF_(\w+)_(START|END)_BIT", name)
        if mm:
            multi.setdefault(mm.group(1), {})[mm.group(2).lower()] = val
            continue
        base = re.sub(r"_BIT$", "", name)
        bits.append({"bit": val, "name": base})
    for fname, rng in multi.items():
        bits.append({"bit": rng["start"], "end_bit": rng["end"], "name": f"MLF_{fname}"})
    bits.sort(key=lambda b: b["bit"])
    # logical symbol names ("flags.loopback") from lib/logical-fields.c
    sym = first(repo, tag, ["lib/logical-fields.c", "ovn/lib/logical-fields.c"])
    symbols: dict[str, str] = {}
    if sym:
        s = strip_comments(sym[1])
        sym_re = r'MLF_(\w+?)_BIT\s*\)?\s*;\s*expr_symtab_add_subfield\(\s*symtab\s*,\s*"(flags\.\w+)"'
        for mm2 in re.finditer(sym_re, s):
            symbols[f"MLF_{mm2.group(1)}"] = mm2.group(2)
        for mm2 in re.finditer(r'"(flags\.\w+)"\s*,\s*NULL\s*,\s*"flags\["\s*(MLF_\w+?)_BIT_STR', s):
            symbols[mm2.group(2)] = mm2.group(1)
    for b in bits:
        if b["name"] in symbols:
            b["symbol"] = symbols[b["name"]]
    return path, bits


def ex_fields(repo: str, tag: str) -> tuple[str, Any] | None:
    got = first(repo, tag, ["include/ovn/logical-fields.h", "ovn/lib/logical-fields.h"])
    if not got:
        return None
    path, src = got
    src = strip_comments(src)
    fields: dict[str, str] = {}
    for m in re.finditer(r"#define\s+MFF_LOG_(\w+)\s+MFF_(\w+)", src):
        fields[m.group(1)] = m.group(2).lower()
    m2 = re.search(r"#define\s+MFF_N_LOG_REGS\s+(\d+)", src)
    m3 = re.search(r"MFF_LOG_REGS\s+(\d+)|#define\s+MFF_LOG_REGS\b.*", src)
    out: dict[str, Any] = {"fields": fields}
    if m2:
        out["n_log_regs"] = int(m2.group(1))
    elif m3:
        out["log_regs_text"] = m3.group(0)
    return path, out


def ex_opcodes(repo: str, tag: str) -> tuple[str, Any] | None:
    got = first(repo, tag, ["include/ovn/actions.h", "ovn/lib/actions.h"])
    if not got:
        return None
    path, src = got
    consts = c_constants(src)
    ops = {k[len("ACTION_OPCODE_"):]: v for k, v in consts.items() if k.startswith("ACTION_OPCODE_")}
    if not ops:
        # 24.09.3+/25.03+: X-macro list "ACTION_OPCODE(NAME)" expanded into the enum in order.
        body = strip_comments(src).replace("\\\n", " ")
        m = re.search(r"#define\s+ACTION_OPCODES\b(.*?)(?:\n\s*\n|enum\s+action_opcode)", body, re.S)
        if m:
            names = re.findall(r"ACTION_OPCODE\(\s*(\w+)\s*\)", m.group(1))
            ops = {n: i for i, n in enumerate(names)}
    if not ops:
        return None
    return path, dict(sorted(ops.items(), key=lambda kv: kv[1]))


def ex_acl_log(repo: str, tag: str) -> tuple[str, Any] | None:
    got = first(repo, tag, ["lib/acl-log.h", "ovn/lib/acl-log.h"])
    if not got:
        return None
    path, src = got
    consts = c_constants(src)
    return path, {
        "verdicts": {k[len("LOG_VERDICT_"):].lower(): v for k, v in consts.items()
                     if k.startswith("LOG_VERDICT_")},
        "severities": {k[len("LOG_SEVERITY_"):].lower(): v for k, v in consts.items()
                       if k.startswith("LOG_SEVERITY_")},
    }


def ex_mcast(repo: str, tag: str) -> tuple[str, Any] | None:
    srcs = []
    for p in ["lib/mcast-group-index.h", "ovn/lib/mcast-group-index.h", "northd/northd.c",
              "northd/ovn-northd.c", "ovn/northd/ovn-northd.c", "northd/northd.h",
              "northd/en-multicast.h", "northd/en-multicast.c"]:
        s = show(repo, tag, p)
        if s is not None:
            srcs.append((p, s))
    if not srcs:
        return None
    allsrc = "\n".join(s for _, s in srcs)
    consts = c_constants(allsrc)
    names: dict[str, str] = {}
    for m in re.finditer(r'#define\s+(MC_\w+)\s+"(_MC_\w+)"', allsrc):
        names[m.group(1)] = m.group(2)
    groups: dict[str, int] = {}
    for m in re.finditer(r"multicast_group\s+mc_\w+\s*=\s*\{\s*(MC_\w+)\s*,\s*([^}]+?)\s*\}", allsrc, re.S):
        key = m.group(2).strip()
        val = int(key) if key.isdigit() else consts.get(key)
        if m.group(1) in names and val is not None:
            groups[names[m.group(1)]] = val
    extra = {k: v for k, v in consts.items()
             if k in ("OVN_MIN_MULTICAST", "OVN_MAX_MULTICAST", "OVN_VXLAN_MIN_MULTICAST",
                      "OVN_MIN_IP_MULTICAST", "OVN_MAX_IP_MULTICAST", "OVN_MAX_DP_VXLAN_KEY",
                      "OVN_MAX_DP_KEY", "OVN_MIN_DP_KEY_LOCAL", "OVN_MAX_DP_KEY_LOCAL",
                      "OVN_MIN_DP_KEY_GLOBAL", "OVN_MAX_DP_KEY_GLOBAL", "OVN_MAX_DP_GLOBAL_NUM",
                      "OVN_MAX_DP_VXLAN_KEY_LOCAL", "OVN_VXLAN_MIN_MULTICAST")}
    files = [p for p, text in srcs if '"_MC_' in text or "OVN_MIN_MULTICAST" in text]
    return ",".join(files), {"groups": dict(sorted(groups.items(), key=lambda kv: kv[1])),
                                 "constants": extra}


def ex_regbits(repo: str, tag: str) -> tuple[str, Any] | None:
    found: dict[str, str] = {}
    used: list[str] = []
    for p in ["northd/northd.h", "northd/northd.c", "northd/ovn-northd.c", "ovn/northd/ovn-northd.c"]:
        s = show(repo, tag, p)
        if s is None:
            continue
        hit = False
        for m in re.finditer(r'#define\s+((?:REGBIT|REG|MLF)_\w+)\s+"([^"]+)"', strip_comments(s)):
            found.setdefault(m.group(1), m.group(2))
            hit = True
        if hit:
            used.append(p)
    if not found:
        return None
    return ",".join(used), dict(sorted(found.items()))


def ex_physical(repo: str, tag: str) -> tuple[str, Any] | None:
    got = first(repo, tag, ["controller/physical.h", "ovn/controller/physical.h"])
    if not got:
        return None
    path, src = got
    c = c_constants(src)
    keep = {k: v for k, v in c.items() if k.startswith("OVN_GENEVE")}
    return path, keep


EXTRACTORS: dict[str, Callable[[str, str], tuple[str, Any] | None]] = {
    "layouts": ex_layout,
    "stages": ex_stages,
    "flags": ex_flags,
    "fields": ex_fields,
    "opcodes": ex_opcodes,
    "acl_log": ex_acl_log,
    "mcast": ex_mcast,
    "regbits": ex_regbits,
    "geneve": ex_physical,
}


def main(argv: list[str]) -> int:
    ovs, ovn, out = argv[1], argv[2], Path(argv[3])
    tags: list[tuple[str, str, str]] = []
    for t in sorted((t for t in git(ovs, "tag").split() if OVS_TAG_RE.match(t)), key=vkey):
        tags.append((ovs, t, "openvswitch/ovs"))
    for t in sorted((t for t in git(ovn, "tag").split() if OVN_TAG_RE.match(t)), key=vkey):
        tags.append((ovn, t, "ovn-org/ovn"))
    out.mkdir(parents=True, exist_ok=True)
    for kind, fn in EXTRACTORS.items():
        groups: list[dict[str, Any]] = []
        for repo, tag, reponame in tags:
            got = fn(repo, tag)
            if got is None:
                continue
            path, fact = got
            if groups and groups[-1]["data"] == fact and groups[-1]["source"] == path:
                groups[-1]["tags"].append(tag.lstrip("v"))
                continue
            groups.append({"tags": [tag.lstrip("v")], "repo": reponame, "source": path, "data": fact})
        doc = {
            "kind": kind,
            "generated_by": "tests/ovn/extract_facts.py",
            "note": "Facts (identifiers and numbers) read from each release tag's source; "
                    "groups hold consecutive tags with identical facts.",
            "groups": groups,
        }
        (out / f"{kind}.json").write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
        print(kind, len(groups), "groups", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
