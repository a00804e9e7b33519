"""Release inference from a trace's own evidence (ovntrace.ovn.infer), on real traces."""

from __future__ import annotations

from ovntrace.model import StepKind, Trace
from ovntrace.ovn import infer
from ovntrace.ovn.releases import known_releases, parse_version
from ovntrace.parser import parse
from tests.conftest import FIX


def _trace(rel: str) -> Trace:
    return parse((FIX / rel).read_text(encoding="utf-8")).traces[0]


def _evidence(t: Trace, annotations: bool = True, dp: dict[int, str] | None = None) -> list[infer.StepEvidence]:
    out = []
    for s in t.tables():
        if s.table is None or s.bridge not in (None, "br-int"):
            continue
        md = s.state.get("metadata")
        out.append(infer.StepEvidence(
            s.table, s.match or "", tuple(c.text for c in s.children if c.kind is StepKind.ACTION),
            int(s.cookie, 16) if s.cookie else 0, (dp or {}).get(int(md, 16)) if md and "/" not in md else None,
            tuple(c.text for c in s.children if c.kind is StepKind.ANNOTATION) if annotations else (), s.miss))
    return out


def test_spans_compact_runs_of_known_releases() -> None:
    assert infer.spans(["23.03.2", "22.12.1", "23.03.1", "22.12.2", "23.03.3"]) == ("22.12.1..22.12.2",
                                                                                    "23.03.1..23.03.3")
    assert infer.spans(["24.03.9"]) == ("24.03.9",)
    assert infer.spans([]) == ()


def test_lab_23_03_1_trace_fits_only_the_22_12_1_stage_lists() -> None:
    """The layout alone fits 22.09.2..24.03.9; chk_lb_hairpin() in table 22 (ls_in_pre_hairpin at index 14)
    and no encap id in table 0 leave the releases whose stage lists 23.03.1 has."""
    inf = infer.infer_releases(_evidence(_trace("lab/xnode-icmp-src.txt")))
    assert inf.conflicts == ()
    assert "23.03.1" in inf.candidates
    assert infer.spans(inf.candidates) == ("22.12.1..22.12.2", "23.03.1..23.03.3")
    assert any("encap id" in w for w in inf.narrowed_by)
    assert any("resubmits to table 68" in w for w in inf.narrowed_by)  # CHK_LB_HAIRPIN


def test_physical_tables_calling_each_other_are_no_stage_evidence() -> None:
    """CHK_IN_PORT_SEC (73) resubmits to CHK_IN_PORT_SEC_ND (74): not a stage calling an action."""
    inf = infer.infer_releases(_evidence(_trace("lab/arp-pod.txt")))
    assert inf.conflicts == () and "23.03.1" in inf.candidates


def test_24_03_trace_needs_the_encap_id() -> None:
    inf = infer.infer_releases(_evidence(_trace("ovn-24.03.9/trace1.txt")))
    assert "24.03.9" in inf.candidates and inf.conflicts == ()
    assert all(parse_version(r).key >= (24, 3, 0) for r in inf.candidates)


def test_seed_dec_ttl_and_l2_lookup_keep_the_2_8_series() -> None:
    t = _trace("seed/kube-node2-pod-to-sshd2.txt")
    inf = infer.infer_releases(_evidence(t))
    assert infer.spans(inf.candidates) == ("2.8.0..2.8.11",)
    assert any("decrements the TTL" in w for w in inf.narrowed_by)


def test_ovn_detrace_annotations_are_evidence() -> None:
    plain = infer.infer_releases(_evidence(_trace("ovn-24.03.9/trace3-detrace.txt"), annotations=False))
    annotated = infer.infer_releases(_evidence(_trace("ovn-24.03.9/trace3-detrace.txt")))
    assert "24.03.9" in annotated.candidates and annotated.conflicts == ()
    assert set(annotated.candidates) < set(plain.candidates)


def test_table_readings_agree_or_list_each_release() -> None:
    rels = ("23.03.1", "23.06.1")
    one = infer.table_readings(13, "switch", ("23.03.1", "23.03.2"))
    assert len(one) == 1 and one[0].names == ("ls_in_pre_lb",)
    two = infer.table_readings(16, "switch", rels)  # ls_in_acl (23.03) vs ls_in_acl_eval (23.06)
    names = infer.names_by_release(two)
    assert names == {"ls_in_acl": ("23.03.1",), "ls_in_acl_eval": ("23.06.1",)}
    phys = infer.table_readings(39, None, rels)
    assert [r.table_role for r in phys] == ["REMOTE_OUTPUT"]


def test_every_release_is_considered() -> None:
    inf = infer.infer_releases(_evidence(_trace("lab/same-node-icmp.txt")))
    assert inf.considered == len(known_releases())


def _fixture_traces() -> list[Trace]:
    files = sorted(p for p in FIX.rglob("*.txt") if not any(k in p.name for k in ("show", "list", "dpif", "ofctl")))
    return [t for p in files for t in parse(p.read_text(encoding="utf-8")).traces]


def test_by_layout_constraints_read_only_their_tables() -> None:
    """A ``by_layout`` constraint is run once per distinct reading of its ``reads`` tables among the twin
    groups (``_ReleaseSet._partition``): on the evidence of every trace fixture, the releases it rules out
    that way are exactly those it rules out when run on every known release, one by one."""
    rels = known_releases()
    rs = infer._ReleaseSet(rels)
    kinds: set[object] = set()
    seen: set[str] = set()
    for t in _fixture_traces():
        for c in infer.constraints(_evidence(t)):
            if c.why in seen:
                continue
            seen.add(c.why)
            one_by_one = sum(1 << i for i, r in enumerate(rels) if not c.test(r))
            assert rs._test(c) == one_by_one, c.why
            if c.by_layout:
                assert c.reads, c.why
                kinds.add(c.key[0] if c.key else None)
    # the fixtures exercise every kind of table evidence
    assert kinds == {"obs", "used", "call", "dec_ttl", "l2_lkup", "stage", "detrace"}
