#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and demo faceswap-ofx. Idempotent: quick when
# everything is already there.
#   libclang-dev        ofx_sys generates its OFX bindings with bindgen at build time
#   mesa-vulkan-drivers Mesa lavapipe, a software Vulkan device: the GPU code path is tested on it
#   ffmpeg              decodes footage for extract/apply/tests
#   pkg-config, gcc     build scripts of C-backed crates
#   procps              `kill`, with which a test stops a training run the way a scheduler does
set -euo pipefail
need=()
for pkg in libclang-dev mesa-vulkan-drivers ffmpeg pkg-config gcc procps; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
echo "setup: ok"
