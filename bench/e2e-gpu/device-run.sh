#!/usr/bin/env bash
# On the GPU machine, one run: the PEFT peer, then ALTO's three ways (sweep.mjs with the bundled
# CLI on alto-cuda). Needs .device/ from `node bench/e2e-gpu/bundle.mjs` (carried).
#   SWEEP_ARGS="--steps 40 --time-steps 8" SKIP_PEFT=0 bash bench/e2e-gpu/device-run.sh
# Writes $OUT/{gpu.txt, alto.json (or alto-<ways>.json with --ways), peft.json, sweep.log, peft.log,
# ways-*.tgz}; then here:
#   node bench/e2e-gpu/report.mjs DIR
. "$(dirname "$0")/../device-env.sh"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
if [ "${SKIP_PEFT:-0}" != 1 ]; then
  python3 bench/e2e-gpu/peft_peer.py "$OUT/peft.json" > "$OUT/peft.log" 2>&1
  tail -3 "$OUT/peft.log"
fi
# shellcheck disable=SC2086
/tmp/node bench/e2e-gpu/sweep.mjs /tmp/e2e --cli .device/alto-cli.mjs ${SWEEP_ARGS:-} > "$OUT/sweep.log" 2>&1
sweep=$?
tail -6 "$OUT/sweep.log"
cp /tmp/e2e/alto*.json "$OUT/" 2>/dev/null
(cd /tmp/e2e && tar czf "$OUT/ways-$(date +%s).tgz" --ignore-failed-read a/summary.json b/summary.json c/summary.json a/log.txt b/log.txt c/log.txt 2>/dev/null)
echo "sweep=$sweep"
exit "$sweep"
