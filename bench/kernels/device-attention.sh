#!/usr/bin/env bash
# The fused causal attention of the CUDA engine on the device, against PyTorch's in the same
# run: builds kernels/ with its tools, runs alto_attention_bench (a float64 check first, then
# the timings) and attention_peers.py. Writes $OUT/{gpu.txt, attention_bench.json,
# attention_peers.json, attention.log}; then here: node bench/kernels/attention-report.mjs DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > "$OUT/gpu.txt" 2>&1
if [ ! -x /tmp/alto-build/alto_attention_bench ]; then
  cmake -S kernels -B /tmp/alto-build -DALTO_KERNEL_TOOLS=ON -DCMAKE_BUILD_TYPE=Release > /tmp/attention-build.log 2>&1 &&
    cmake --build /tmp/alto-build -j 16 --target alto_attention_bench >> /tmp/attention-build.log 2>&1 || { tail -30 /tmp/attention-build.log; exit 1; }
fi
{
  /tmp/alto-build/alto_attention_bench "$OUT/attention_bench.json"
  PYTHONUNBUFFERED=1 python3 bench/kernels/attention_peers.py "$OUT/attention_peers.json"
} 2>&1 | tee "$OUT/attention.log"
