"""Model objects built the fast way are the same objects: equal, frozen, replaceable, picklable."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path

import pytest

from ovntrace.model import Step, StepKind
from ovntrace.model._empty import EMPTY_MAP, FrozenMap
from ovntrace.model.trace import make_step
from ovntrace.parser import parse

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "fixtures" / "ovn-24.03.9" / "trace2.txt"


def test_make_step_equals_the_dataclass_constructor() -> None:
    kw = dict(table=4, match="ip", priority=100, cookie="0x1", state=FrozenMap({"reg0": "0x1"}), via=3)
    a = make_step(StepKind.TABLE, 7, "4. ip, priority 100", (), **kw)  # type: ignore[arg-type]
    b = Step(StepKind.TABLE, 7, "4. ip, priority 100", (), **kw)  # type: ignore[arg-type]
    assert type(a) is Step and a == b and repr(a) == repr(b)
    assert make_step(StepKind.ACTION, 1, "drop") == Step(StepKind.ACTION, 1, "drop")
    for f in dataclasses.fields(Step):
        assert getattr(make_step(StepKind.DETAIL, 1, "x"), f.name) == getattr(Step(StepKind.DETAIL, 1, "x"), f.name)


def test_fast_steps_are_frozen_and_replaceable() -> None:
    s = make_step(StepKind.ACTION, 1, "drop")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.line = 2  # type: ignore[misc]
    assert dataclasses.replace(s, line=2) == Step(StepKind.ACTION, 2, "drop")


def test_frozen_map_is_read_only_and_a_dict_for_readers() -> None:
    m = FrozenMap({"reg0": "0x1"})
    assert m == {"reg0": "0x1"} and m.get("reg0") == "0x1" and dict(m) == {"reg0": "0x1"}
    for op in (lambda: m.__setitem__("a", "1"), lambda: m.update(a="1"), lambda: m.pop("reg0"),
               lambda: m.clear(), lambda: m.setdefault("a", "1"), lambda: m.popitem(), lambda: m.__delitem__("reg0")):
        with pytest.raises(TypeError):
            op()
    assert m == {"reg0": "0x1"}
    assert pickle.loads(pickle.dumps(m)) == m and type(copy.deepcopy(m)) is FrozenMap
    assert EMPTY_MAP == {}


def test_a_whole_parse_result_pickles() -> None:
    r = parse(TRACE.read_text(encoding="utf-8"))
    back = pickle.loads(pickle.dumps(r))
    assert back == r
    tables = [s for s in back.traces[0].walk() if s.kind is StepKind.TABLE]
    assert tables and type(tables[0].state) is FrozenMap


def test_walk_is_depth_first_in_input_order() -> None:
    r = parse(TRACE.read_text(encoding="utf-8"))

    def rec(s: Step) -> list[int]:
        out = [s.line]
        for c in s.children:
            out.extend(rec(c))
        return out

    for t in r.traces:
        for p in t.passes:
            expect = [ln for s in p.steps for ln in rec(s)]
            assert [s.line for s in p.walk()] == expect == sorted(expect)
