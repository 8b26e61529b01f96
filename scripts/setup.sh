#!/usr/bin/env bash
# Installs everything Liquid needs on a Debian machine with Node 20: Debian toolchains
# (C, ARM cross compiler, QEMU, clang for wasm benchmarks and fuzzing) and the npm packages.
# Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(cmake gcc g++ make gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
  clang-14 lld-14 libfuzzer-14-dev libclang-rt-14-dev
  socat openocd)  # socat: pty pairs for the simulated ESP32; openocd: nRF52840 flashing via a probe

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi
echo "setup: ok"
