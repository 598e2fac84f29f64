#!/usr/bin/env bash
# Training a swap model of your own, step by step: footage -> face sets -> model -> a render with it.
#
# The two identities here are the default model's: GRID speaker s1 (the face to put on) and the Tears of Steel
# scientist (the shot to swap), from the shared footage (../shared/data or $FACESWAP_DATA). With your footage,
# replace the inputs of step 2; everything else is the same.
#
# Usage: examples/train_walkthrough.sh [ITERATIONS]     (default 500: ~5 minutes on 2 CPU cores, enough to see
#        the loss fall and faces appear in the previews, far too few for a usable model: the shipped default
#        model has 37,518, see models/default.md)
set -euo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-500}"
data="${FACESWAP_DATA:-../shared/data}"
work=out/walkthrough
mkdir -p "$work"

# 1. Build the CLI as scripts/demo.sh and .ci/run do (dev profile, dependencies fully optimised; building only
#    `--bin faceswap` would resolve Burn's features differently and compile every dependency again).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faceswap-ofx/target}"
cargo build --workspace --all-targets
faceswap="$CARGO_TARGET_DIR/debug/faceswap"

# 2. Face sets: the face analysis of the node (detector, landmarks, alignment) crops every face into a canonical
#    square, with a hull mask and its landmarks. `--every 5` keeps one frame in five of talking-head clips, where
#    neighbouring frames are near duplicates; the scientist's shot is short, so all of its frames are used.
#    `--size 128` crops are enough for a 64 px model (train resamples them); use 256 for 128 px models.
#    Videos decode with ffmpeg; sequences (`%05d.png`) and folders of images work too.
#    Look at a few crops (faces/*.png): a set with the wrong person's faces trains the wrong decoder.
if [ ! -f "$work/sets/s1/faceset.json" ]; then
    clips=$(ls "$data"/grid_s1/*.mpg | sort | head -8)
    "$faceswap" extract $clips --out "$work/sets/s1" --identity s1 --size 128 --every 5
fi
if [ ! -f "$work/sets/scientist/faceset.json" ]; then
    # The scientist is in frames ~69-200 of the excerpt: decode those frames only.
    mkdir -p "$work/plates"
    ffmpeg -hide_banner -loglevel error -nostdin -y -i "$data/tears_of_steel/clip_01_tears_of_steel.mp4" \
        -fps_mode passthrough -start_number 1 "$work/plates/%05d.png"
    mkdir -p "$work/scientist_frames"
    for i in $(seq 69 200); do cp "$work/plates/$(printf %05d "$i").png" "$work/scientist_frames/"; done
    "$faceswap" extract "$work/scientist_frames" --out "$work/sets/scientist" --identity scientist --size 128
fi

# 3. Train. One shared encoder, one decoder per --set (the order of --set is the order of the identities in the
#    node's Identity menu). The widths below are the default model's; the defaults of `faceswap train --help`
#    are larger and slower. Every 100 iterations a preview sheet and loss.png are written next to the model:
#      out/walkthrough/model.safetensors.previews/preview_0000500.png   input | decoded as s1 | as scientist
#      out/walkthrough/model.safetensors.previews/loss.png             loss per identity, log scale
#    Ctrl-C saves and stops; running this script again with a larger ITERATIONS resumes exactly where it
#    stopped (the optimizer state is kept in model.safetensors.adam).
resume=()
if [ -f "$work/model.safetensors" ]; then resume=(--resume); fi
"$faceswap" train --set "$work/sets/s1" --set "$work/sets/scientist" --out "$work/model.safetensors" \
    --resolution 64 --encoder-channels 16 --decoder-channels 16 --bottleneck 128 --batch 8 \
    --iterations "$iterations" --preview-every 100 --save-every 100 --device cpu "${resume[@]}"

# 4. Held-out quality: mean SSIM of s1's faces from clips the model never saw, reconstructed by s1's decoder.
#    Compare models with it (higher is better); it says nothing about the swap itself, the previews do.
if [ ! -f "$work/sets/s1_held/faceset.json" ]; then
    "$faceswap" extract $(ls "$data"/grid_s1/*.mpg | sort | tail -2) --out "$work/sets/s1_held" --identity s1 --size 128 --every 5
fi
"$faceswap" evaluate --model "$work/model.safetensors" --set "$work/sets/s1_held"

# 5. Use it: the node's exact pipeline on the shot, s1's face on the scientist, mask in its own folder.
#    In a compositor, point the FaceSwap node's Model File at out/walkthrough/model.safetensors instead.
"$faceswap" apply "$work/plates/%05d.png" --frames 69-157 --model "$work/model.safetensors" --identity s1 \
    --out "$work/apply"
echo "previews: $work/model.safetensors.previews/  frames: $work/apply/  masks: $work/apply/FaceMask/"
