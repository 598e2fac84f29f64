#!/usr/bin/env bash
# The main job on the built-in default: build the plug-in, pack the bundle, and render the demo shot through
# the node with the default model, writing swapped frames, mask frames and a contact sheet under out/demo/.
#
# It builds the same artifacts as the tests (the dev profile, whose dependencies, Burn's kernels included, are
# compiled with full optimisation; see Cargo.toml), so after .ci/run nothing is rebuilt. For a shipping build
# use `cargo build --release` and `faceswap bundle` from target/release.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faceswap-ofx/target}"
if [ -z "${FACESWAP_DATA:-}" ] && [ ! -d ../shared/data ] && [ -d /work/shared/data ]; then
  export FACESWAP_DATA=/work/shared/data
fi
cargo build --workspace --all-targets
faceswap="$CARGO_TARGET_DIR/debug/faceswap"
"$faceswap" bundle --out out
"$faceswap" demo --bundle out/FaceSwap.ofx.bundle --out out/demo "$@"
