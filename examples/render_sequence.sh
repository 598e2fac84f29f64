#!/usr/bin/env bash
# Headless render of an image sequence through the FaceSwap OFX node, step by step.
#
# `faceswap render` loads the real plug-in bundle with dlopen and drives it through the OFX C ABI, exactly as
# Natron or Nuke would, but with no GUI: what it writes is what a compositor's render would write.
#
# Usage: examples/render_sequence.sh [FIRST-LAST]     (default 69-80; run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
frames="${1:-69-80}"

# 1. Build the CLI and the plug-in library. Keep the target folder outside the clone so the (long) first build
#    of Burn and wgpu is reused by fresh clones. The default is the dev profile, as scripts/demo.sh and the tests
#    use: its dependencies (Burn's kernels included) are fully optimised, so it renders at near-release speed
#    and after .ci/run nothing is rebuilt. PROFILE=release builds a separate shipping build (long the first time).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faceswap-ofx/target}"
profile="${PROFILE:-debug}"
# The dev build is the one scripts/demo.sh and .ci/run make: building a subset (`--bin faceswap --lib`) would
# resolve Burn's features without the tests' and benches' and compile every dependency a second time.
if [ "$profile" = release ]; then cargo build --release; else cargo build --workspace --all-targets; fi
faceswap="$CARGO_TARGET_DIR/$profile/faceswap"

# 2. Pack the plug-in as hosts expect it: out/FaceSwap.ofx.bundle/Contents/Linux-x86-64/FaceSwap.ofx.
"$faceswap" bundle --out out --library "$CARGO_TARGET_DIR/$profile/libfaceswap_ofx.so"

# 3. Source frames: decode the Tears of Steel excerpt once (frames numbered from 1, as ffmpeg numbers them).
#    Any numbered PNG or EXR sequence works: pass its pattern to --input (%05d, %d or ####).
src=out/example/source
if [ ! -d "$src" ]; then
    mkdir -p "$src.partial"
    ffmpeg -hide_banner -loglevel error -nostdin -i "${FACESWAP_DATA:-../shared/data}/tears_of_steel/clip_01_tears_of_steel.mp4" \
        -fps_mode passthrough -start_number 1 "$src.partial/%05d.png"
    mv "$src.partial" "$src"
fi

# 4. Render. Parameters are set by script name (the names in README.md's table):
#    - blend is keyframed: 0 at the first frame, 1 twelve frames later, linear in between (`@smooth` and
#      `@constant` are the other interpolations). Keys are `time:value` pairs separated by commas.
#    - model points at a trained swap model: here the default one (s1's face; models/default.md), or one of
#      yours (examples/train_walkthrough.sh). With a missing or unreadable file the node renders anyway,
#      passes the plate through unchanged, and says why on the node (printed below each frame).
#    At the first frame blend is 0, so the node tells the host it is an identity there: that frame is a copy
#    of the plate and has no FaceMask file.
#    --planes also writes the node's custom planes: the FaceMask plane lands in out/example/render/FaceMask/,
#    as 16-bit grey PNGs (one float channel in EXR with --depth float).
first="${frames%-*}"
"$faceswap" render \
    --bundle out/FaceSwap.ofx.bundle \
    --input "$src/%05d.png" \
    --frames "$frames" \
    --out out/example/render \
    --param "blend=$first:0,$((first + 12)):1@linear" \
    --param "model=models/default.safetensors" \
    --param "maskFeather=12" \
    --planes

# 5. What was written:
#    out/example/render/%05d.png            the node's output (colour plane)
#    out/example/render/FaceMask/%05d.png   the face mask plane
# A proxy render at half resolution writes the same files at 320x180:
#    "$faceswap" render ... --scale 0.5
# and --depth float renders every clip in 32-bit float and writes OpenEXR instead of PNG.
ls out/example/render | head
