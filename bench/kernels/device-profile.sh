#!/usr/bin/env bash
# Nsight Compute report of our kernels on one shape (default: d 2048, 32 adapters, batch 4, bf16).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
cmake -S kernels -B /tmp/alto-build -DALTO_KERNEL_TOOLS=ON > "$OUT/build.log" 2>&1 && cmake --build /tmp/alto-build -j 16 >> "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
shape="${SHAPE:-2048 32 4 bf16}"
ncu --clock-control none --launch-skip "${SKIP:-5}" --launch-count "${COUNT:-5}" --section SpeedOfLight --section Occupancy \
  --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum,smsp__inst_executed.sum,dram__bytes.sum" \
  /tmp/alto-build/alto_cuda_bench --profile $shape > "$OUT/ncu.txt" 2>&1
grep -E "^  [a-z_]+.*\(|Duration|DRAM Throughput|Achieved Occupancy|stalled_(long_scoreboard|barrier|short_scoreboard|mio_throttle|lg_throttle|wait|math_pipe|not_selected|selected|no_instruction|dispatch)[a-z_]*_per|bank_conflicts|inst_executed|dram__bytes" "$OUT/ncu.txt" | head -120
