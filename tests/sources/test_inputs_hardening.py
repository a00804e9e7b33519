"""Issue 17 items 8-9 and issue 11 item 9 (offline parts): every read is capped (files, devices, FIFOs,
stdin, compressed files), damaged inputs are warnings naming file and record, non-OVSDB JSON in a folder is
skipped with a note, bad option values are one line with exit 2, the same database given twice is one
database, ``.gz`` is read transparently, and outputs in a folder are tied to their node.

Inputs are the real lab fixtures (fixtures/lab: real db files and show outputs) and real dumps of them
(fixtures/context), copied, renamed, compressed or cut; ``pod.json`` is a hand-written non-OVN file (the kind
of stray file a sosreport or must-gather holds), not a fixture of OVN data."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import resource
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ovntrace.cli import run
from ovntrace.sources import SourceError, load_context, load_sb
from ovntrace.sources.limits import InputTooLarge, parse_size, read_path, set_max_input_size
from tests.conftest import FIX

LAB = FIX / "lab"
CTX = FIX / "context"
TRACE = LAB / "same-node-icmp.txt"


@pytest.fixture(autouse=True)
def _reset_limit() -> object:
    yield
    set_max_input_size(None)


def cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = run(list(argv), io.StringIO(stdin), out, err)
    set_max_input_size(None)
    return rc, out.getvalue(), err.getvalue()


def _fifo_fed(tmp_path: Path, size: int) -> Path:
    """A FIFO a thread writes ``size`` bytes of NULs into, then closes (an input with no size to stat)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        try:
            with open(fifo, "wb") as f:
                for _ in range(size >> 16):
                    f.write(b"\0" * (1 << 16))
        except BrokenPipeError:
            pass  # the reader stopped at its cap

    threading.Thread(target=feed, daemon=True).start()
    return fifo


# -- size caps --------------------------------------------------------------------------------------


def test_parse_size() -> None:
    assert parse_size("512M") == 512 << 20 and parse_size("2G") == 2 << 30 and parse_size("4096") == 4096
    assert parse_size("1GiB") == 1 << 30
    for bad in ("banana", "-1", "0", "1.5G"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_explain_fifo_larger_than_the_cap_is_one_line(tmp_path: Path) -> None:
    rc, _, err = cli("explain", str(_fifo_fed(tmp_path, 4 << 20)), "--max-input-size", "1M")
    assert rc == 1 and err.count("\n") == 1 and "more than 1 MiB" in err and "--max-input-size" in err


def test_sb_fifo_is_read_with_the_cap_not_its_stat_size(tmp_path: Path) -> None:
    rc, _, err = cli("explain", str(TRACE), "--sb", str(_fifo_fed(tmp_path, 4 << 20)), "--max-input-size", "1M")
    assert rc == 1 and err.count("\n") == 1 and "more than 1 MiB" in err


def test_stdin_cap() -> None:
    text = TRACE.read_text()
    rc, _, err = cli("explain", "-", "--max-input-size", "1k", stdin=text)
    assert rc == 1 and "stdin: more than 1 KiB" in err
    rc, out, _ = cli("explain", "-", stdin=text)
    assert rc == 0 and out


def test_env_var_sets_the_cap_and_a_bad_value_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVNTRACE_MAX_INPUT_SIZE", "2k")
    rc, _, err = cli("explain", str(TRACE))
    assert rc == 1 and "more than 2 KiB" in err
    monkeypatch.setenv("OVNTRACE_MAX_INPUT_SIZE", "lots")
    rc, _, err = cli("explain", str(TRACE))
    assert rc == 2 and err.count("\n") == 1 and "OVNTRACE_MAX_INPUT_SIZE" in err
    rc, _, err = cli("explain", str(TRACE), "--max-input-size", "huge")
    assert rc == 2 and err.count("\n") == 1 and "--max-input-size" in err


@pytest.mark.parametrize("option", ["file", "--sb"])
def test_dev_zero_is_refused_in_bounded_memory(option: str) -> None:
    """The real /dev/zero, in a child process whose address space is capped at 1.5 GiB: without the size
    guard it would read until MemoryError (or this limit); with it, it stops at the 64 MiB asked for."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))

    argv = ["explain", "/dev/zero"] if option == "file" else ["explain", str(TRACE), "--sb", "/dev/zero"]
    proc = subprocess.run([sys.executable, "-m", "ovntrace.cli", *argv, "--max-input-size", "64M"],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit, check=False)
    assert proc.returncode == 1, proc.stderr[-500:]
    assert proc.stderr.count("\n") == 1 and "/dev/zero: more than 64 MiB" in proc.stderr


def test_compressed_bomb_is_capped_on_the_decompressed_size(tmp_path: Path) -> None:
    p = tmp_path / "sb.db.gz"
    p.write_bytes(gzip.compress(b"\0" * (8 << 20)))
    assert p.stat().st_size < 64 << 10
    with pytest.raises(InputTooLarge, match="more than 1 MiB"):
        read_path(p, limit=1 << 20)


# -- compressed inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix,compress", [(".gz", gzip.compress), (".xz", lzma.compress),
                                             (".bz2", bz2.compress)])
def test_compressed_db_file_equals_the_plain_one(tmp_path: Path, suffix: str, compress: object) -> None:
    p = tmp_path / f"ovnsb_db.db{suffix}"
    p.write_bytes(compress((LAB / "ovnsb_db.db").read_bytes()))  # type: ignore[operator]
    got, want = load_sb(p), load_sb(LAB / "ovnsb_db.db")
    assert got.datapaths == want.datapaths and tuple(got.logical_flows) == tuple(want.logical_flows)


def test_cut_gzip_is_one_line(tmp_path: Path) -> None:
    data = gzip.compress((LAB / "ovnsb_db.db").read_bytes())
    p = tmp_path / "sb.db.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="cut short or damaged"):
        load_sb(p)


# -- damaged databases are warnings naming file and record ------------------------------------------


def test_truncated_db_file_warns_naming_file_and_record(tmp_path: Path) -> None:
    data = (LAB / "ovnsb_db.db").read_bytes()
    cut = tmp_path / "ovnsb_db.db"
    cut.write_bytes(data[:-10])
    ctx = load_sb(cut)
    assert len(ctx.notes) == 1
    note = ctx.notes[0]
    assert str(cut) in note and "record 2" in note and "cut short" in note and "no rows at all" in note
    rc, out, err = cli("explain", str(TRACE), "--sb", str(cut))
    assert rc == 0 and out
    assert f"ovntrace: warning: {cut}: the last record (record 2" in err


def test_bad_checksum_of_the_last_record_warns(tmp_path: Path) -> None:
    data = bytearray((LAB / "ovnsb_db.db").read_bytes())
    data[-50] ^= 1
    p = tmp_path / "sb.db"
    p.write_bytes(bytes(data))
    ctx = load_sb(p)
    assert any("record 2" in n and "checksum" in n for n in ctx.notes)


def test_truncated_json_dump_warns_and_keeps_the_complete_tables(tmp_path: Path) -> None:
    lines = (CTX / "lab-sb-dump.json").read_text().splitlines(keepends=True)
    idx = next(i for i, ln in enumerate(lines) if '"caption":"Port_Binding table"' in ln)
    p = tmp_path / "sb-dump.json"
    p.write_text("".join(lines[:idx]) + lines[idx][: len(lines[idx]) // 2])
    ctx = load_sb(p)
    assert ctx.datapaths and not ctx.port_bindings
    assert len(ctx.notes) == 1 and str(p) in ctx.notes[0] and f"line {idx + 1}" in ctx.notes[0]


# -- folders --------------------------------------------------------------------------------------------


POD_JSON = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "default"},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}}


def test_folder_with_a_non_ovn_json_file_skips_it_with_a_note(tmp_path: Path) -> None:
    shutil.copy(LAB / "ovnsb_db.db", tmp_path / "ovnsb_db.db")
    (tmp_path / "pod.json").write_text(json.dumps(POD_JSON, indent=2))
    ctx = load_context(tmp_path)
    assert len(ctx.logical_flows) == 362
    assert any(f"{tmp_path / 'pod.json'}: skipped" in n for n in ctx.notes)


def test_folder_file_larger_than_the_cap_is_skipped_with_a_note(tmp_path: Path) -> None:
    shutil.copy(LAB / "ovnsb_db.db", tmp_path / "ovnsb_db.db")
    (tmp_path / "ovs-vswitchd.log.gz").write_bytes(gzip.compress(b"2026-01-01T00:00:00Z|vlog|INFO|x\n" * 100_000))
    set_max_input_size(1 << 20)
    ctx = load_context(tmp_path)
    assert len(ctx.logical_flows) == 362
    assert any("ovs-vswitchd.log.gz: more than 1 MiB" in n and "skipped" in n for n in ctx.notes)


def test_folder_with_gzipped_files(tmp_path: Path) -> None:
    (tmp_path / "ovnsb_db.db.gz").write_bytes(gzip.compress((LAB / "ovnsb_db.db").read_bytes()))
    (tmp_path / "kube-node1.ovs-vsctl-show.txt.gz").write_bytes(
        gzip.compress((LAB / "kube-node1-ovs-vsctl-show.txt").read_bytes()))
    ctx = load_context(tmp_path)
    assert len(ctx.logical_flows) == 362 and [n.name for n in ctx.nodes] == ["kube-node1"]


# -- one-line errors of options ----------------------------------------------------------------------


def test_bad_ovn_version_is_one_line_exit_2() -> None:
    rc, out, err = cli("explain", str(TRACE), "--ovn-version", "banana")
    assert rc == 2 and not out and err.count("\n") == 1 and "--ovn-version 'banana'" in err
    assert "ValueError" not in err


def test_snapshot_into_a_directory_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, _ = cli("snapshot", "-o", str(tmp_path), "--inventory", str(tmp_path / "none.toml"))
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "a directory" in err and "Error" not in err


# -- the same database twice is one database -----------------------------------------------------


def _ovn_meaning(out: str) -> object:
    """What the JSON says about OVN: per trace the path, verdict and every step's OVN annotation."""
    doc = json.loads(out)

    def steps(ss: list[dict[str, object]]) -> list[object]:
        got: list[object] = []
        for s in ss:
            got.append((s.get("line"), s.get("ovn")))
            got += steps(s.get("children") or [])  # type: ignore[arg-type]
        return got

    return [(t["path"], t["verdict"], t["ovn"], [steps(p["steps"]) for p in t["passes"]]) for t in doc["traces"]]


@pytest.mark.parametrize("second", ["dump", "gz", "clustered-copy"])
def test_same_sb_twice_is_one_database(tmp_path: Path, second: str) -> None:
    sb = LAB / "ovnsb_db.db"
    if second == "dump":
        other = CTX / "lab-sb-dump.json"
    elif second == "gz":
        other = tmp_path / "copy.db.gz"
        other.write_bytes(gzip.compress(sb.read_bytes()))
    else:
        if shutil.which("ovsdb-tool") is None:
            pytest.skip("ovsdb-tool missing (openvswitch-common)")
        other = tmp_path / "clustered.db"  # the real ovsdb-tool makes a clustered copy of the same data
        subprocess.run(["ovsdb-tool", "create-cluster", str(other), str(sb), "unix:/nonexistent.sock"],
                       check=True, capture_output=True)
    rc, once, _ = cli("explain", str(TRACE), "--sb", str(sb), "--format", "json")
    rc2, twice, err = cli("explain", str(TRACE), "--sb", str(sb), "--sb", str(other), "--format", "json")
    assert rc == rc2 == 0
    assert '"lflow_ambiguous": ["' not in twice  # explain/2: the key is always there, empty
    assert _ovn_meaning(twice) == _ovn_meaning(once)
    assert f"{other}: the same OVN_Southbound as {sb}" in err


# -- outputs in a folder are tied to their node ----------------------------------------------------


def test_show_outputs_in_a_folder_are_tied_to_their_node(tmp_path: Path) -> None:
    shutil.copy(LAB / "ovnsb_db.db", tmp_path / "ovnsb_db.db")
    shutil.copy(LAB / "kube-node1-ovs-ofctl-show-br-int.txt", tmp_path / "kube-node1.ovs-ofctl-show-br-int.txt")
    (tmp_path / "kube-node2").mkdir()
    shutil.copy(LAB / "kube-node2-ovs-vsctl-show.txt", tmp_path / "kube-node2" / "ovs-vsctl_show")
    shutil.copy(LAB / "kube-master-ovs-ofctl-show-br-int.txt", tmp_path / "kube-master-ovs-ofctl-show.txt")
    ctx = load_context(tmp_path)
    assert sorted(n.name for n in ctx.nodes) == ["kube-master", "kube-node1", "kube-node2"]


def test_on_names_a_node_of_the_folder_or_warns_with_the_nodes_present(tmp_path: Path) -> None:
    shutil.copy(LAB / "ovnsb_db.db", tmp_path / "ovnsb_db.db")
    shutil.copy(LAB / "kube-node1-ovs-ofctl-show-br-int.txt", tmp_path / "kube-node1.ovs-ofctl-show-br-int.txt")
    shutil.copy(LAB / "kube-node2-ovs-ofctl-show-br-int.txt", tmp_path / "kube-node2.ovs-ofctl-show-br-int.txt")
    rc, out, err = cli("explain", str(TRACE), "--context", str(tmp_path), "--on", "kube-node1")
    assert rc == 0 and "warning" not in err
    assert "delivered to pod default/sshd-2" in out and "to interface " in out  # the node's ports named
    rc, _, err = cli("explain", str(TRACE), "--context", str(tmp_path), "--on", "kube-node9")
    assert rc == 0
    assert "--on kube-node9: no such node in the context; nodes present: kube-node1, kube-node2" in err
    rc, _, err = cli("explain", str(TRACE), "--on", "kube-node1")
    assert rc == 0 and "--on kube-node1: no cluster facts were given" in err
