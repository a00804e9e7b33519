"""Table layouts: values read from controller/lflow.h per tag, and inference from real traces."""

from __future__ import annotations

from ovntrace.ovn.releases import known_releases
from ovntrace.ovn.stages import stage_set
from ovntrace.ovn.tables import all_layouts, infer_layout, layout_for_release

from .conftest import GT, SEED, scan_trace


def test_23_03_0_vs_23_03_1_moved() -> None:
    a, b = layout_for_release("23.03.0"), layout_for_release("23.03.1")
    got = (a.get("REMOTE_OUTPUT"), a.get("LOCAL_OUTPUT"), a.get("CHECK_LOOPBACK"), a.egress_base)
    assert got == (37, 38, 39, 40)
    assert (b.get("OUTPUT_LARGE_PKT_DETECT"), b.get("REMOTE_OUTPUT"), b.get("LOCAL_OUTPUT"),
            b.get("CHECK_LOOPBACK"), b.egress_base) == (37, 39, 40, 41, 42)


def test_old_layouts() -> None:
    l25 = layout_for_release("2.5.0")
    got = (l25.ingress_base, l25.egress_base, l25.get("LOG_TO_PHY"), l25.get("DROP_LOOPBACK"))
    assert got == (16, 48, 64, 34)
    l28 = layout_for_release("2.8.1")
    assert (l28.ingress_base, l28.get("REMOTE_OUTPUT"), l28.get("LOCAL_OUTPUT"), l28.get("CHECK_LOOPBACK"),
            l28.egress_base, l28.get("SAVE_INPORT"), l28.get("LOG_TO_PHY")) == (8, 32, 33, 34, 40, 64, 65)


def test_every_release_stage_lists_fit_the_layout() -> None:
    # Cross-check of two independent sources: northd's stage lists vs lflow.h's pipeline lengths.
    for tag in known_releases():
        lay, ss = layout_for_release(tag), stage_set(tag)
        assert max(len(ss.switch_ingress), len(ss.router_ingress)) <= lay.ingress_len, tag
        assert max(len(ss.switch_egress), len(ss.router_egress)) <= lay.egress_len, tag
        assert lay.ingress_base + lay.ingress_len <= min(t for n, t in lay.tables if n not in (
            "PHY_TO_LOG", "LOG_INGRESS_PIPELINE")), tag


def test_layouts_are_distinct_and_cover_all_releases() -> None:
    covered = [r for lay in all_layouts() for r in lay.releases]
    assert sorted(covered) == sorted(known_releases())


def test_infer_seed_ovn_2_8() -> None:
    ev = scan_trace(SEED / "kube-node2-pod-to-sshd2.txt") + scan_trace(SEED / "kube-node1-tunnel-in.txt")
    best = infer_layout(ev)[0]
    assert "2.8.1" in best.releases and not best.conflicts
    assert best.confidence >= 0.9
    lay = best.layout
    role = {t: lay.role_of(t) for t in (0, 13, 14, 23, 32, 33, 34, 42, 48, 64, 65)}
    assert role[32] and role[32].name == "REMOTE_OUTPUT"
    assert role[33] and role[33].name == "LOCAL_OUTPUT"
    assert role[34] and role[34].name == "CHECK_LOOPBACK"
    assert role[64] and role[64].name == "SAVE_INPORT"
    assert role[65] and role[65].name == "LOG_TO_PHY"
    assert role[0] and role[0].name == "PHY_TO_LOG"
    assert role[13] and (role[13].kind, role[13].stage_index) == ("ingress", 5)
    assert role[48] and (role[48].kind, role[48].stage_index) == ("egress", 8)


def test_infer_seed_hint_does_not_override_evidence() -> None:
    ev = scan_trace(SEED / "kube-node2-pod-to-sshd2.txt") + scan_trace(SEED / "kube-node1-tunnel-in.txt")
    best = infer_layout(ev, version_hint="24.03.9")[0]
    assert "2.8.1" in best.releases


def test_infer_24_03_9_samples() -> None:
    ev = []
    for name in ("trace1.txt", "trace2.txt", "trace3.txt", "trace4.txt"):
        ev += scan_trace(GT / name)
    cands = infer_layout(ev, version_hint="24.03.9")
    best = cands[0]
    assert "24.03.9" in best.releases and best.hinted and not best.conflicts
    assert best.layout.get("CHECK_LOOPBACK") == 41 and best.layout.egress_base == 42
    # Without a hint the layouts that read the trace's tables identically keep full confidence.
    nohint = infer_layout(ev)
    assert nohint[0].confidence == 1.0
    assert all(c.releases[0].startswith("24.03") for c in nohint if c.confidence == 1.0)
    # An older layout (e.g. 23.03.0) contradicts it.
    old = next(c for c in cands if "23.03.0" in c.releases)
    assert old.conflicts and old.confidence < best.confidence


def test_infer_from_plain_tuples() -> None:
    ev = [
        (0, "in_port=9", ["set_field:0x1->metadata", "set_field:0x1->reg14", "resubmit(,8)"]),
        (0, "in_port=1", ["move:NXM_NX_TUN_ID[0..23]->OXM_OF_METADATA[0..23]",
                          "move:NXM_NX_TUN_METADATA0[16..30]->NXM_NX_REG14[0..14]",
                          "move:NXM_NX_TUN_METADATA0[0..15]->NXM_NX_REG15[0..15]", "resubmit(,38)"]),
        (39, "", [f"set_field:0->reg{i}" for i in range(10)] + ["resubmit(,40)"]),
    ]
    best = infer_layout(ev)[0]
    assert best.layout.get("LOCAL_OUTPUT") == 38 and best.layout.get("CHECK_LOOPBACK") == 39
    assert "23.03.0" in best.releases or "22.03.0" in best.releases
