"""Live OVSDB over ssl: a real ovsdb-server with a PKI made by Open vSwitch's own ovs-pki."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ovntrace.sources import SourceError, load_remote, load_sb
from tests.conftest import FIX

pytestmark = pytest.mark.skipif(shutil.which("ovs-pki") is None or shutil.which("ovsdb-server") is None,
                                reason="openvswitch-common (ovs-pki, ovsdb-server) missing")


def _run(*argv: str, cwd: Path) -> None:
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, timeout=120)


def test_ssl_remote_with_key_cert_and_ca(tmp_path: Path) -> None:
    _run("ovs-pki", "-d", "pki", "init", "--force", cwd=tmp_path)
    _run("ovs-pki", "-d", "pki", "req+sign", "server", "switch", cwd=tmp_path)
    _run("ovs-pki", "-d", "pki", "req+sign", "client", "switch", cwd=tmp_path)
    db = tmp_path / "sb.db"
    shutil.copy(FIX / "lab" / "ovnsb_db.db", db)
    log = tmp_path / "server.log"
    _run("ovsdb-server", "--detach", "--no-chdir", f"--pidfile={tmp_path / 'server.pid'}", f"--log-file={log}",
         f"--unixctl={tmp_path / 'ctl'}", "--remote=pssl:0:127.0.0.1", "--private-key=server-privkey.pem",
         "--certificate=server-cert.pem", "--ca-cert=pki/switchca/cacert.pem", str(db), cwd=tmp_path)
    try:
        port = None
        for _ in range(50):
            m = re.search(r"listening on port (\d+)", log.read_text()) if log.exists() else None
            if m:
                port = m.group(1)
                break
            time.sleep(0.1)
        assert port, "ovsdb-server did not listen"
        remote = f"ssl:127.0.0.1:{port}"
        live = load_remote(remote, "OVN_Southbound", private_key=str(tmp_path / "client-privkey.pem"),
                           certificate=str(tmp_path / "client-cert.pem"),
                           ca_cert=str(tmp_path / "pki/switchca/cacert.pem"))
        assert list(live.logical_flows) == list(load_sb(db).logical_flows)
        with pytest.raises(SourceError, match="ssl needs"):
            load_remote(remote, "OVN_Southbound")
    finally:
        pid = (tmp_path / "server.pid").read_text().strip() if (tmp_path / "server.pid").exists() else ""
        if pid:
            subprocess.run(["kill", pid], check=False)
