"""Stopping doctor (escape in the TUI): the commands not started yet are not run. On the session lab's
real sshd; read-only."""

from __future__ import annotations

import pytest

from ovntrace.doctor.facts import PARALLEL, collect
from ovntrace.lab.apply import load_inventory, open_pool
from ovntrace.lab.lab import Lab

pytestmark = pytest.mark.lab


class Stop(Exception):
    pass


def test_a_raising_progress_callback_stops_the_queued_commands(lab: Lab) -> None:
    inv, path = load_inventory(str(lab.inventory_path))
    totals: list[int] = []

    def step(done: int, total: int, what: str) -> None:
        totals.append(total)
        raise Stop()  # the first answer: stop

    with open_pool(inv, path) as pool:
        with pytest.raises(Stop):
            collect(inv, pool, inv.node_names, step)
        ran = pool.commands
    assert totals and totals[0] > PARALLEL  # there were commands waiting for a slot
    assert ran <= PARALLEL, (ran, totals[0])  # only those already running when it stopped
