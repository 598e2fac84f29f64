#!/usr/bin/env bash
# The main job on the built-in default: build the plug-in, pack the bundle, and render the demo shot through
# the node with the default model, writing swapped frames, mask frames and a contact sheet under out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faceswap-ofx/target}"
cargo build --release --bin faceswap --lib
faceswap="$CARGO_TARGET_DIR/release/faceswap"
"$faceswap" bundle --out out
"$faceswap" demo --bundle out/FaceSwap.ofx.bundle --out out/demo "$@"
