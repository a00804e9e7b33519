"""ovn-trace stages resolved against the NB/SB databases they were traced on (fixtures/lab/ovn-trace:
real ovn-trace 23.03.1 run against these very files by ovntrace.lab.ovntrace_fixtures)."""

from __future__ import annotations

import json

from ovntrace.correlate.annotate import Correlator
from ovntrace.model import StepKind
from ovntrace.parser import parse
from ovntrace.render import json as json_render
from ovntrace.sources.load import load_context
from tests.conftest import FIX

LAB = FIX / "lab" / "ovn-trace"


def _ctx():  # type: ignore[no-untyped-def]
    return load_context(LAB / "ovnnb_db.db", "nb").merge(load_context(LAB / "ovnsb_db.db", "sb"))


def test_acl_stage_resolves_to_the_nb_acl_by_name() -> None:
    r = parse((LAB / "acl-drop-detailed.txt").read_text())
    (t,) = r.traces
    ovn = Correlator(_ctx()).annotate(t)
    assert ovn is not None
    acl = next(s for s in t.walk() if s.kind is StepKind.STAGE and s.stage == "ls_out_acl")
    st = ovn.steps[acl.line]
    assert st.lflow is not None and st.lflow.uuid.startswith("07c6feb6")
    assert st.lflow.stage == "ls_out_acl" and st.lflow.priority == 2001
    assert st.nb is not None and st.nb["table"] == "ACL" and st.nb["name"] == "deny-ssh-from-client-1"
    d = json.loads(json_render.render(r, ovn=[ovn]))
    assert "ovn" in json.dumps(d)  # the stage's ovn object is in the JSON


def test_every_stage_uuid_of_the_lab_traces_is_in_the_sb() -> None:
    c = Correlator(_ctx())
    for p in sorted(LAB.glob("*-detailed.txt")):
        (t,) = parse(p.read_text()).traces
        ovn = c.annotate(t)
        assert ovn is not None
        stages = [s for s in t.walk() if s.kind is StepKind.STAGE and not s.miss]
        assert stages and all(ovn.steps[s.line].lflow is not None for s in stages), p.name


def test_delivered_port_is_named_as_its_pod() -> None:
    (t,) = parse((LAB / "same-node-icmp-detailed.txt").read_text()).traces
    ovn = Correlator(_ctx()).annotate(t)
    assert ovn is not None and "logical port default_sshd-2 is pod default/sshd-2" in ovn.notes


def test_a_trace_from_another_cluster_says_the_lflow_is_not_there() -> None:
    (t,) = parse((FIX / "traces" / "087_sdn-handbook-ovntrace-detailed-two-cmds.txt").read_text()).traces[:1]
    ovn = Correlator(_ctx()).annotate(t)
    assert ovn is not None
    assert all(st.lflow is None and any("not in the Southbound" in n for n in st.notes) for st in ovn.steps.values())
