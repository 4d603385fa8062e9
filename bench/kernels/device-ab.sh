#!/usr/bin/env bash
# A/B on the device in one command: this tree through device-run.sh (check, memcheck, bench,
# torch peers, Nsight per kernel), then a second copy of kernels/ (BASE, e.g. main's, carried
# in an ignored folder) built beside it, timed by the same bench and Nsight. What comes back
# stays at eight files: the logs go into logs.tgz.
#   Usage: bash bench/kernels/device-ab.sh BASE_KERNELS_DIR     (BASE/CMakeLists.txt must exist)
set -uo pipefail
cd "$(dirname "$0")/../.."
base_dir="${1:?usage: device-ab.sh BASE_KERNELS_DIR}"
[ -f "$base_dir/CMakeLists.txt" ] || { echo "no CMakeLists.txt in $base_dir"; exit 2; }
OUT="${OUT:-$PWD/out}"
export OUT PATH=/usr/local/cuda/bin:$PATH
t0=$SECONDS
bash bench/kernels/device-run.sh > /tmp/device-run.log 2>&1
tail -3 /tmp/device-run.log
mkdir -p /tmp/ab-logs
cp /tmp/device-run.log /tmp/ab-logs/
mv "$OUT/build.log" "$OUT/torch.log" /tmp/ab-logs/ 2>/dev/null
cmake -S "$base_dir" -B /tmp/ab-base -DALTO_KERNEL_TOOLS=ON -DCMAKE_BUILD_TYPE=Release > /tmp/ab-logs/base-build.log 2>&1 &&
  cmake --build /tmp/ab-base -j 16 >> /tmp/ab-logs/base-build.log 2>&1 || { tail -20 /tmp/ab-logs/base-build.log; exit 1; }
/tmp/ab-base/alto_cuda_bench "$OUT/base_bench.json" > /tmp/ab-logs/base-bench.log 2>&1
for dt in bf16 tf32; do for b in 1 4; do
  ncu --clock-control none --cache-control none --launch-skip 5 --launch-count 6 --metrics gpu__time_duration.sum \
    /tmp/ab-base/alto_cuda_bench --profile 2048 32 "$b" "$dt" > "/tmp/ab-logs/ncu-base-$dt-b$b.txt" 2>&1
  echo "base $dt b$b: $(grep -E '^  [a-zA-Z_].*\(|gpu__time_duration' "/tmp/ab-logs/ncu-base-$dt-b$b.txt" | paste - - | awk '{n=$1; if (n=="void") n=$2; sub(/[<(].*/, "", n); printf "%s %s %s, ", n, $(NF), $(NF-1)}')"
done; done | tee /tmp/ab-logs/base-kernels.txt
echo "this tree:"; cat "$OUT/kernels.txt" 2>/dev/null
# ours ms, this tree against BASE, row by row
python3 - "$OUT/cuda_bench.json" "$OUT/base_bench.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["results"] for p in sys.argv[1:3])
for x, y in zip(a, b):
    print(f"{x['dtype']:5} d {x['d_model']:5} K {x['adapters']:3} b {x['batch']}: {x['ours_ms']:.4f} ms vs base {y['ours_ms']:.4f} ({y['ours_ms'] / x['ours_ms']:.3f}x)")
PY
tar -czf "$OUT/logs.tgz" -C /tmp ab-logs
echo "total: $((SECONDS - t0)) s"
