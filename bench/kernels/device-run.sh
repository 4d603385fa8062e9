#!/usr/bin/env bash
# One device run: build the kernels and their native tools, check correctness (full, then
# compute-sanitizer memcheck on the small cases), time ours and the cuBLAS loop, then the
# PyTorch peers, then each kernel's own time. Logs and JSON go to $OUT (or ./out; eight files,
# what a device command brings back). Usage: bash bench/kernels/device-run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > "$OUT/gpu.txt" 2>&1
cmake -S kernels -B /tmp/alto-build -DALTO_KERNEL_TOOLS=ON -DCMAKE_BUILD_TYPE=Release > "$OUT/build.log" 2>&1 &&
  cmake --build /tmp/alto-build -j 16 >> "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
/tmp/alto-build/alto_cuda_check 2>&1 | tee "$OUT/check.log" | tail -3
check=${PIPESTATUS[0]}
compute-sanitizer --tool memcheck --error-exitcode 9 /tmp/alto-build/alto_cuda_check --quick > "$OUT/memcheck.log" 2>&1
memcheck=$?
tail -2 "$OUT/memcheck.log"
[ "${SKIP_BENCH:-0}" = 1 ] && { echo "check=$check memcheck=$memcheck"; exit $((check + memcheck)); }
/tmp/alto-build/alto_cuda_bench "$OUT/cuda_bench.json" 2>&1 | tee /tmp/alto-bench.log
[ "${SKIP_TORCH:-0}" = 1 ] || PYTHONUNBUFFERED=1 python3 bench/kernels/torch_peers.py "$OUT/torch_peers.json" 2>&1 | tee "$OUT/torch.log"
# Each kernel's own time (Nsight Compute, clocks and caches left alone) in one forward + backward
# at d 2048, 32 adapters, b1 and b4: where the time goes. PROFILE=0 skips it.
if [ "${PROFILE:-1}" = 1 ]; then
  for dt in bf16 tf32; do for b in 1 4; do
    ncu --clock-control none --cache-control none --launch-skip 5 --launch-count 6 --metrics gpu__time_duration.sum \
      /tmp/alto-build/alto_cuda_bench --profile 2048 32 "$b" "$dt" > "/tmp/ncu-$dt-b$b.txt" 2>&1
    echo "$dt b$b: $(grep -E '^  [a-zA-Z_].*\(|gpu__time_duration' "/tmp/ncu-$dt-b$b.txt" | paste - - | awk '{n=$1; if (n=="void") n=$2; sub(/[<(].*/, "", n); printf "%s %s %s, ", n, $(NF), $(NF-1)}')"
  done; done | tee "$OUT/kernels.txt"
fi
echo "check=$check memcheck=$memcheck"
