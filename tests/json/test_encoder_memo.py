"""json_v2's per-document memo of encoded actions (:class:`ovntrace.render.json_v2.Encoder`): the JSON of an
action is remembered by its text, reused for the same or an equal action (the same text parsed in another
trace) and never for an action that differs. Real traces: the shipped fixtures."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import FIX  # noqa: E402

from ovntrace.correlate import Correlator  # noqa: E402
from ovntrace.model import Step  # noqa: E402
from ovntrace.parser import parse  # noqa: E402
from ovntrace.render import json_v2  # noqa: E402

TRACE = FIX / "ovn-24.03.9" / "trace2.txt"


def _texts(enc: json_v2.Encoder, text: str) -> list[str]:
    r = parse(text)
    c = Correlator(None, None, None)
    return [enc.trace(t, c.annotate(t)) for t in r.traces]


def test_one_encoder_for_separately_parsed_copies_writes_what_fresh_encoders_write() -> None:
    text = TRACE.read_text()
    fresh = _texts(json_v2.Encoder(), text)
    enc = json_v2.Encoder()
    first = _texts(enc, text)
    assert enc.actions  # the actions were remembered
    again = _texts(enc, text)  # parsed again: other Action objects, equal ones, same text
    assert first == fresh
    assert again == fresh


def _first_action_step(steps: tuple[Step, ...]) -> Step:
    for s in steps:
        if s.action is not None:
            return s
        if s.children:
            try:
                return _first_action_step(s.children)
            except LookupError:
                pass
    raise LookupError


def test_an_action_with_a_remembered_text_but_other_content_is_encoded_afresh() -> None:
    t = parse(TRACE.read_text()).traces[0]
    s = _first_action_step(t.passes[0].steps)
    a = s.action
    assert a is not None
    tree = json_v2._Tree(None)
    got = tree._action(a)
    assert got == json_v2._DUMP(json_v2.action_dict(a))
    other = dataclasses.replace(a, known=not a.known)  # same text, different content
    assert tree._action(other) == json_v2._DUMP(json_v2.action_dict(other)) != got
