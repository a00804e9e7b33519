"""Real incident bundles of the session labs, made at test time.

- sosreports: the real ``sos`` tool (Debian 12's sos 4.0, ``apt-get install sosreport``; scripts/test.sh installs
  it) run against each lab node (``sos report --batch -o openvswitch,ovn_host`` with the node's environment,
  ``ovn_central`` too on the central node), exactly as a user would on a node. Nothing is mocked.
- "augmented" copies: sos 4.0 lacks ``dump-groups`` and ``dump-tlv-map``; a newer sos (4.x, its openvswitch
  plugin's per-protocol loop) collects ``ovs-ofctl -O OpenFlow15 dump-groups|dump-tlv-map|dump-flows BRIDGE``.
  The augmented copy is the extracted sos 4.0 report plus those three outputs, made by running the same commands
  on the same live node right after sos, named the way sos names them. Said so in every test that uses them.
- must-gather: must-gather itself needs an OpenShift cluster (``oc adm must-gather``), so the archive is built
  here from the interconnect lab's per-node databases, laid out exactly as openshift/must-gather's
  ``collection-scripts/gather_network_logs_basics`` writes it: ``network_logs/ovnk_database_store.tar.gz``
  holding ``ovnk_database_store/<ovnkube-node pod>_nbdb`` / ``_sbdb``, each converted to the clustered (raft)
  format as the pods' files are (``ovsdb-tool create-cluster``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovntrace.lab.lab import Lab

SOS = shutil.which("sos")


def make_sosreport(lab: Lab, node: str, out: Path) -> Path:
    """A real sosreport of ``node`` (sos 4.0), its ``.tar.xz`` path."""
    if SOS is None:
        pytest.skip("sos is not installed (apt-get install sosreport; scripts/test.sh installs it)")
    out.mkdir(parents=True, exist_ok=True)
    plugins = "openvswitch,ovn_host" + (",ovn_central" if node == lab.inventory.cluster.central else "")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    for k, v in lab.env(node).items():  # a chroot lab (25.03): its sockets and files as the host sees them
        env[k] = str(lab.host_path(v)) if lab.root is not None and v.startswith(lab.run_base) else v
    env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    res = subprocess.run([SOS, "report", "--batch", "-o", plugins, "--tmp-dir", str(out)], env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    got = sorted(out.glob("sosreport-*.tar.xz"))
    assert len(got) == 1, list(out.iterdir())
    return got[0]


def augment(lab: Lab, node: str, tarball: Path, out: Path) -> Path:
    """The extracted sosreport plus the OpenFlow 1.5 groups / TLV map / flows a newer sos collects."""
    with tarfile.open(tarball) as tf:
        tf.extractall(out, filter="data")
    (top,) = [p for p in out.iterdir() if p.is_dir()]
    d = top / "sos_commands" / "openvswitch"
    for cmd in ("dump-groups", "dump-tlv-map", "dump-flows"):
        (d / f"ovs-ofctl_-O_OpenFlow15_{cmd}_br-int").write_text(
            lab.run(node, ["ovs-ofctl", "-O", "OpenFlow15", cmd, "br-int"]))
    return top


@pytest.fixture(scope="session")
def sos_lab(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """node -> its real sos 4.0 sosreport (.tar.xz) of the session lab (central topology)."""
    base = tmp_path_factory.mktemp("sos", numbered=True)
    for n in lab.inventory.node_names:
        lab._refresh_neighbors(n)
    return {n: make_sosreport(lab, n, base / n) for n in lab.inventory.node_names}


@pytest.fixture(scope="session")
def sos_lab25(lab25: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """node -> a real sos 4.0 sosreport of the OVN 25.03 lab (OVS 3.5.0 in the Debian 13 chroot): the host's
    sos and OVS tools, run against the chroot's daemons through their sockets as the host sees them."""
    base = tmp_path_factory.mktemp("sos25", numbered=True)
    for n in lab25.inventory.node_names:
        lab25._refresh_neighbors(n)
    return {n: make_sosreport(lab25, n, base / n) for n in lab25.inventory.node_names}


@pytest.fixture(scope="session")
def sos_aug(lab: Lab, sos_lab: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """node -> the augmented sosreport folder (see the module doc)."""
    base = tmp_path_factory.mktemp("sosaug", numbered=True)
    return {n: augment(lab, n, p, base / n) for n, p in sos_lab.items()}


def _clustered(src: Path, dst: Path) -> None:
    """``src`` (standalone) as a one-server clustered (raft) database, as a pod's ``/etc/ovn/ovn?b_db.db``."""
    subprocess.run(["ovsdb-tool", "create-cluster", str(dst), str(src), "unix:/tmp/ovntrace-mg-raft.sock"],
                   check=True, capture_output=True, timeout=60)


def make_must_gather(lab: Lab, out: Path, legacy: bool = False) -> Path:
    """A must-gather folder (``must-gather.local.N/<image>/network_logs/...``) of ``lab``'s databases."""
    mg = out / "must-gather.local.5157046186390101337"
    net = mg / "quay-io-openshift-release-dev-ocp-v4-0-art-dev-sha256-0123" / "network_logs"
    net.mkdir(parents=True)
    work = out / "work"
    work.mkdir()
    if legacy:  # legacy (single zone): the leader's dbs, each gzipped, beside the store
        central = lab.inventory.cluster.central
        for db in ("nb", "sb"):
            _clustered(lab.node_dir(central) / f"ovn{db}_db.db", work / f"leader_{db}db")
            with open(net / f"leader_{db}db.gz", "wb") as f:
                subprocess.run(["gzip", "-c", str(work / f"leader_{db}db")], check=True, stdout=f)
        return mg
    store = work / "ovnk_database_store"
    store.mkdir()
    for i, node in enumerate(lab.inventory.node_names):
        pod = f"ovnkube-node-{'xk7q2'[i:] + 'abcde'[:i]}"  # pod names, as ovnkube-node-<5 chars>
        for db in ("nb", "sb"):
            _clustered(lab.node_dir(node) / f"ovn{db}_db.db", store / f"{pod}_{db}db")
    for lock in store.glob(".*~lock~"):  # ovsdb-tool's lock files: not in a pod's copy
        lock.unlink()
    subprocess.run(["tar", "-zcf", str(net / "ovnk_database_store.tar.gz"), "-C", str(work),
                    "ovnk_database_store"], check=True)
    (net / "cluster_scale").write_text("endpoints amount: 2\nnetwork policies amount: 0\n")
    return mg


@pytest.fixture(scope="session")
def must_gather_ic(lab_ic: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("mg", numbered=True)
    for n in lab_ic.inventory.node_names:  # compacted, as a pod's file after a snapshot
        lab_ic.run(n, ["ovs-appctl", "-t", str(lab_ic.node_dir(n) / "ovnsb_db.ctl"), "ovsdb-server/compact"],)
    yield make_must_gather(lab_ic, d)
