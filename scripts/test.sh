#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what the tests need when it is missing
# (Debian packages: Python venv, Open vSwitch, OVN, OpenSSH, tmux, debootstrap; Python packages into .venv),
# builds the Debian 13 root of the OVN 25.03 lab when it is missing (once per machine, cached in
# /var/cache/ovntrace/rootfs-trixie or $OVNTRACE_CACHE_DIR; about a minute), then runs ruff, mypy (as
# tests) and pytest, the lab and truth tests of both releases (23.03 on the host, 25.03 in the chroot)
# included. OVNTRACE_NO_ROOTFS=1 skips the build (the 25.03 tests then build it or skip).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(python3 python3-venv python3-pip openvswitch-switch ovn-central ovn-host openssh-server
          openssh-client uuid-runtime tmux debootstrap sosreport)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
if [ "$(id -u)" -eq 0 ] && [ -z "${OVNTRACE_NO_ROOTFS:-}" ]; then
  t0=$SECONDS
  .venv/bin/python -m ovntrace.lab.rootfs --release 25.03
  echo "OVN 25.03 root ready in $((SECONDS - t0))s"
fi
exec .venv/bin/python -m pytest "$@"
