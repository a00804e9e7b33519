"""``explain --format json`` (``ovntrace.explain/2``) of every real trace we ship matches its schema."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import FIX, fixture_id, trace_fixtures  # noqa: E402

from ovntrace.cli import run  # noqa: E402
from tests.json.contract import check  # noqa: E402

CTX = FIX / "context"


def explain(path: Path, *extra: str) -> str | None:
    """The JSON printed, or None for an input that holds no trace (exit 2, a message, no document)."""
    out, err = io.StringIO(), io.StringIO()
    code = run(["explain", str(path), "-q", "--format", "json", *extra], io.StringIO(), out, err)
    if code == 2 and not out.getvalue():
        assert "no ofproto/trace output found" in err.getvalue()
        return None
    assert code == 0, err.getvalue()
    return out.getvalue()


@pytest.mark.parametrize("path", trace_fixtures(), ids=fixture_id)
def test_explain_v2_valid(path: Path) -> None:
    for extra in ((), ("--no-ovn",), ("--sb", str(CTX / "lab-sb-dump.json"), "--nb", str(CTX / "lab-nb-dump.json"))):
        text = explain(path, *extra)
        if text is not None:
            check(text, "ovntrace.explain/2")


def test_schema_rejects_a_missing_key_and_a_string_number() -> None:
    """The schema can fail: a key left out, or a decimal port as a string, is an error."""
    import json

    doc = json.loads(explain(FIX / "seed" / "kube-node2-pod-to-sshd2.txt") or "")
    step = doc["traces"][0]["passes"][0]["steps"][0]["children"][0]
    del step["cookie"]
    with pytest.raises(AssertionError, match="cookie"):
        check(json.dumps(doc) + "\n")
    doc = json.loads(explain(FIX / "seed" / "kube-node2-pod-to-sshd2.txt") or "")
    doc["traces"][0]["verdict"]["outputs"][0]["arp_reply"] = "no"
    with pytest.raises(AssertionError, match="arp_reply"):
        check(json.dumps(doc) + "\n")


def test_numbers_are_numbers_hex_stays_text() -> None:
    """``ttl=64`` and ``tp_dst=6081`` of the tunnel, the datapath port: numbers; ``tun_id=0x4``, geneve class: text."""
    import json

    doc = json.loads(explain(FIX / "seed" / "kube-node2-pod-to-sshd2.txt") or "")
    v = doc["traces"][0]["verdict"]
    assert v["ports"] == [2]
    assert v["tunnel"]["ttl"] == 64 and v["tunnel"]["tp_dst"] == 6081 and v["tunnel"]["tun_id"] == "0x4"
    assert v["tunnel"]["geneve"][0] == {"class": "0x102", "type": "0x80", "len": 4, "value": "0x10003"}
    assert v["outputs"][0]["ofport"] == 7 and v["outputs"][0]["dp_port"] == 2
    hop = doc["traces"][0]["path"][-1]
    assert hop["kind"] == "tunnel" and hop["tunnel"]["remote_ip"] == "172.17.42.31"
    assert hop["tunnel"]["encap"] == "geneve" and hop["ports"] == {"in": None, "out": None}


@pytest.mark.parametrize("path", trace_fixtures()[::7], ids=fixture_id)
def test_deep_writer_writes_the_same_document(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tree deeper than DEEP levels is written chunk by chunk (no recursion): the same text as the fast path."""
    from ovntrace.render import json_v2

    fast = explain(path)
    monkeypatch.setattr(json_v2, "DEEP", 0)
    assert explain(path) == fast


def test_json1_is_the_v1_document() -> None:
    """``--format json1`` is ``ovntrace.explain/1`` as before (the perf-identity hashes pin it byte for byte)."""
    import json

    out = io.StringIO()
    assert run(["explain", str(FIX / "seed" / "kube-node2-pod-to-sshd2.txt"), "-q", "-f", "json1"],
               io.StringIO(), out, io.StringIO()) == 0
    doc = json.loads(out.getvalue())
    assert doc["schema"] == "ovntrace.explain/1" and doc["traces"][0]["verdict"]["ports"] == ["2"]


def test_a_string_that_looks_like_a_placeholder_is_kept(tmp_path: Path) -> None:
    """Mutated real trace (hostile): a line starting with \\x01 and digits, as the writer's placeholders do.
    The splice notices (the count differs) and encodes the trace plainly: the text comes back exact."""
    import json

    from ovntrace.parser import parse
    from ovntrace.render import json_v2

    lines = (FIX / "seed" / "kube-node2-pod-to-sshd2.txt").read_text(encoding="utf-8").splitlines()
    k = next(i for i, ln in enumerate(lines) if "set_field:0x1->reg13" in ln)
    lines[k] = lines[k].replace("set_field:0x1->reg13", '\x010"set_field:0x1->reg13')
    result = parse("\n".join(lines) + "\n")
    text = json_v2.render(result)
    assert text == json.dumps(json_v2.to_dict(result)) + "\n"
    doc = check(text)
    found: list[str] = []

    def walk(steps: list[dict[str, object]]) -> None:
        for s in steps:
            found.append(str(s["text"]))
            walk(s["children"])  # type: ignore[arg-type]

    for p in doc["traces"][0]["passes"]:
        walk(p["steps"])
    assert any(t.startswith('\x010"set_field') for t in found)
