#!/usr/bin/env bash
# Installs every Debian package Kinema's build and tests need. Idempotent:
# packages already present are skipped, and apt is only touched when
# something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libsqlite3-dev sqlite3 libsqlitecpp-dev
  libboost-dev libboost-system-dev
  libcurl4-openssl-dev libssl-dev openssl
  liblpsolve55-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev googletest
  libyaml-cpp-dev
  prometheus python3-kubernetes python3-yaml
  curl procps
  clang libclang-rt-dev zlib1g-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

check_kubectl() {
  # kubectl 1.32 is a real client of kinema-sim in the conformance tests. It
  # ships with this machine image (Google Cloud SDK), not with Debian
  # (Debian's kubernetes-client is far older), so it is checked, not installed.
  if ! command -v kubectl >/dev/null 2>&1; then
    echo "install-deps: WARNING: kubectl not found on PATH; the kinema-sim conformance tests need kubectl >= 1.30" >&2
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  check_kubectl
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
check_kubectl
