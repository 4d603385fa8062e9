#!/usr/bin/env bash
# On the GPU machine: the CUDA backend's op checks against the cpu backend. Needs .device/
# from `node bench/tfjs-cuda/bundle.mjs` (carried). Writes $OUT/tfjs-cuda-check.{json,log}.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node
ALTO_KERNELS_ADDON="$PWD/.device/alto_kernels.node" /tmp/node .device/tfjs-cuda-check.mjs "$OUT/tfjs-cuda-check.json" 2>&1 | tee "$OUT/tfjs-cuda-check.log"
exit "${PIPESTATUS[0]}"
