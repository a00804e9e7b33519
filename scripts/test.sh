#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what the tests need when it is missing
# (Debian packages: Python venv, Open vSwitch, OVN, OpenSSH, tmux; Python packages into .venv), then
# runs ruff, mypy (as tests) and pytest, lab tests included.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(python3 python3-venv python3-pip openvswitch-switch ovn-central ovn-host openssh-server
          openssh-client uuid-runtime tmux)
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
exec .venv/bin/python -m pytest "$@"
