#!/usr/bin/env bash
# A/B on the device in one command: this tree through device-run.sh (check, memcheck, bench,
# torch peers, Nsight per kernel at d 2048), with a second copy of kernels/ (BASE, e.g. main's,
# carried in an ignored folder) built beside it meanwhile; then BASE's bench (bf16 and TF32:
# ALTO_BENCH_DTYPES) and both trees' kernels under Nsight at the shapes of AB_SHAPES, and the
# two benches row by row. What comes back stays at eight files: the logs go into logs.tgz.
#   Usage: AB_SHAPES="4096 8 1;4096 8 2" bash bench/kernels/device-ab.sh BASE_KERNELS_DIR
#   (BASE/CMakeLists.txt must exist: git archive main kernels | tar -x -C .device/base)
set -uo pipefail
cd "$(dirname "$0")/../.."
base_dir="${1:?usage: device-ab.sh BASE_KERNELS_DIR}"
[ -f "$base_dir/CMakeLists.txt" ] || { echo "no CMakeLists.txt in $base_dir"; exit 2; }
OUT="${OUT:-$PWD/out}"
export OUT PATH=/usr/local/cuda/bin:$PATH
t0=$SECONDS
logs=/tmp/ab-logs
mkdir -p "$logs"
(cmake -S "$base_dir" -B /tmp/ab-base -DALTO_KERNEL_TOOLS=ON -DCMAKE_BUILD_TYPE=Release > "$logs/base-build.log" 2>&1 &&
  cmake --build /tmp/ab-base -j 6 >> "$logs/base-build.log" 2>&1; echo "base build rc=$?") &
bash bench/kernels/device-run.sh > "$logs/device-run.log" 2>&1
wait
tail -2 "$logs/device-run.log"; echo "device-run: $((SECONDS - t0)) s"
mv "$OUT/build.log" "$OUT/torch.log" "$logs/" 2>/dev/null
ALTO_BENCH_DTYPES="${AB_DTYPES:-bf16,tf32}" /tmp/ab-base/alto_cuda_bench "$logs/base_bench.json" > "$logs/base-bench.log" 2>&1
IFS=';' read -ra shapes <<< "${AB_SHAPES:-4096 8 1}"
for tree in this base; do
  bin=/tmp/alto-build/alto_cuda_bench; [ "$tree" = base ] && bin=/tmp/ab-base/alto_cuda_bench
  for shape in "${shapes[@]}"; do for dt in bf16 tf32; do
    f="$logs/ncu-$tree-$dt-${shape// /-}.txt"
    # shellcheck disable=SC2086
    ncu --clock-control none --cache-control none --launch-skip 5 --launch-count 6 --metrics gpu__time_duration.sum "$bin" --profile $shape "$dt" > "$f" 2>&1
    echo "$tree $dt ($shape): $(grep -E '^  [a-zA-Z_].*\(|gpu__time_duration' "$f" | paste - - | awk '{n=$1; if (n=="void") n=$2; sub(/[<(].*/, "", n); printf "%s %s %s, ", n, $(NF), $(NF-1)}')"
  done; done
done | tee -a "$OUT/kernels.txt"
# ours ms, this tree against BASE, row by row (the rows BASE ran)
python3 - "$OUT/cuda_bench.json" "$logs/base_bench.json" <<'PY' | tee "$OUT/ab.txt"
import json, sys
a, b = (json.load(open(p))["results"] for p in sys.argv[1:3])
base = {(y["dtype"], y["d_model"], y["adapters"], y["batch"]): y for y in b}
for x in a:
    y = base.get((x["dtype"], x["d_model"], x["adapters"], x["batch"]))
    if y:
        print(f"{x['dtype']:5} d {x['d_model']:5} K {x['adapters']:3} b {x['batch']}: {x['ours_ms']:.4f} ms vs base {y['ours_ms']:.4f} ({y['ours_ms'] / x['ours_ms']:.3f}x)")
PY
tar -czf "$OUT/logs.tgz" -C /tmp "$(basename "$logs")"
echo "total: $((SECONDS - t0)) s"
