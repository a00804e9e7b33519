"""Stage names vs. the real OVN 24.03.9 outputs (lflow-list and ovn-detrace) and the seed."""

from __future__ import annotations

import re

import pytest

from ovntrace.ovn.stages import find_stage, stage, stage_for_table, stage_set
from ovntrace.ovn.tables import layout_for_release

from .conftest import GT


def test_lflow_list_stage_names_24_03_9() -> None:
    dp_type = pipeline = None
    checked = 0
    for line in (GT / "lflow-list.txt").read_text().splitlines():
        m = re.match(r'Datapath: "([^"]+)".*Pipeline: (ingress|egress)', line)
        if m:
            pipeline = m.group(2)
            continue
        m = re.search(r"table=(\d+) ?\((l[sr])_(in|out)_(\w+?)\s*\)", line)
        if m:
            dp_type = "switch" if m.group(2) == "ls" else "router"
            name = f"{m.group(2)}_{m.group(3)}_{m.group(4)}"
            st = stage(dp_type, pipeline, int(m.group(1)), "24.03.9")  # type: ignore[arg-type]
            assert st is not None and st.name == name, line
            checked += 1
    assert checked > 100


def _detrace_pairs(text: str) -> list[tuple[int, str, str]]:
    """(OpenFlow table, stage name, pipeline) from ovn-detrace annotations."""
    pairs: list[tuple[int, str, str]] = []
    last_table: int | None = None
    pipeline = ""
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\. .*cookie 0x", line)
        if m:
            last_table = int(m.group(1))
            continue
        m = re.search(r"\[(ingress|egress)\]", line)
        if m:
            pipeline = m.group(1)
        m = re.search(r"Logical flow: table=(\d+) \((\w+)\)", line)
        if m and last_table is not None:
            pairs.append((last_table, m.group(2), pipeline))
    return pairs


@pytest.mark.parametrize("name", ["trace1-detrace.txt", "trace2-detrace.txt", "trace3-detrace.txt"])
def test_detrace_ground_truth_24_03_9(name: str) -> None:
    lay = layout_for_release("24.03.9")
    pairs = _detrace_pairs((GT / name).read_text())
    assert pairs
    for table, stage_name, pipeline in pairs:
        cands = stage_for_table(table, lay, None, "24.03.9")
        assert stage_name in [c.name for c in cands], (table, stage_name)
        assert all(c.pipeline == pipeline for c in cands)
        dp = "switch" if stage_name.startswith("ls_") else "router"
        (one,) = stage_for_table(table, lay, dp, "24.03.9")
        assert one.name == stage_name


def test_seed_router_tables_2_8() -> None:
    lay = layout_for_release("2.8.1")
    assert [s.name for s in stage_for_table(13, lay, "router", "2.8.1")] == ["lr_in_ip_routing"]
    assert [s.name for s in stage_for_table(14, lay, "router", "2.8.1")] == ["lr_in_arp_resolve"]
    assert [s.name for s in stage_for_table(23, lay, "switch", "2.8.1")] == ["ls_in_l2_lkup"]
    assert [s.name for s in stage_for_table(48, lay, "switch", "2.8.1")] == ["ls_out_port_sec_l2"]
    assert stage_for_table(32, lay, None, "2.8.1") == ()


def test_point_release_stage_change() -> None:
    # 24.03.6 added a router ingress stage (lr_in_arp_request moved from 21 to 22).
    assert stage_set("24.03.5").router_ingress[-1] == "lr_in_arp_request"
    assert stage_set("24.03.5").router_ingress != stage_set("24.03.6").router_ingress
    st = find_stage("lr_in_arp_request", "24.03.9")
    assert st is not None and st.index == 22
