"""The TUI opens ovn-trace traces (real ovn-trace 23.03.1 output, fixtures/lab/ovn-trace) without error:
the verdict bar shows the logical verdict and the tree walks the stages (it renders from the model)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.conftest import FIX
from tests.tui.conftest import make_app
from tests.tui.test_pilot import run, tree, verdict

LAB = FIX / "lab" / "ovn-trace"


@pytest.mark.parametrize(("name", "head"), [
    ("acl-drop-detailed.txt", "DROP: dropped by ACL deny-ssh-from-client-1"),
    ("arp-flood-summary.txt", "OUTPUT: output to 2 logical ports"),
    ("lb-vip-minimal.txt", "CONTROLLER: sent to ovn-controller"),
])
def test_ovn_trace_opens_with_its_verdict_and_a_walkable_tree(name: str, head: str) -> None:
    async def scenario(pilot: Pilot[int]) -> None:
        assert verdict(pilot).startswith(head)
        for _ in range(15):
            await pilot.press("j")
        assert tree(pilot).selected is not None

    run(make_app(LAB / name), scenario)
