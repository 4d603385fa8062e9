#!/usr/bin/env bash
# On the GPU machine: the CUDA backend's op checks against the cpu backend, then tfjs-core's own
# op tests on it, and matmuls with TF32 and bf16 inputs. Needs .device/ from
# `node bench/tfjs-cuda/bundle.mjs` (carried). Writes $OUT/tfjs-cuda-check.{json,log},
# $OUT/tfjs-cuda-{tf32,bf16}.json and $OUT/tfjs-core-tests.{json,log}.
. "$(dirname "$0")/../device-env.sh"
/tmp/node .device/tfjs-cuda-check.mjs "$OUT/tfjs-cuda-check.json" > "$OUT/tfjs-cuda-check.log" 2>&1
check=$?
grep -v "^ok " "$OUT/tfjs-cuda-check.log" | tail -20
for p in tf32 bf16; do
  ALTO_MATMUL_PRECISION=$p /tmp/node .device/tfjs-cuda-check.mjs "$OUT/tfjs-cuda-$p.json" 2>&1 | grep -E "^(ok|FAIL)" || check=1
done
timeout "${CORE_TIMEOUT:-400}" /tmp/node .device/tfjs-core-tests.cjs "$OUT/tfjs-core-tests.json" > "$OUT/tfjs-core-tests.log" 2>&1
core=$?
grep -E "^FAIL|op tests on" "$OUT/tfjs-core-tests.log" | tail -60
echo "check=$check core=$core"
exit "$check"
