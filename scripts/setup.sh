#!/usr/bin/env bash
# Installs the C libraries HybridSim links (GSL, OpenBLAS) and pkg-config, only when missing.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
for pkg in libgsl-dev libopenblas-dev pkg-config; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    need+=("$pkg")
  fi
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: ${need[*]} missing and not root; install them with apt-get as root" >&2; exit 1
  fi
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
