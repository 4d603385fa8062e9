#!/usr/bin/env bash
# On the GPU machine: ALTO's ways (b) in full (with a profiled step) and (c) timed, each its own
# sweep so that (b)'s files are kept even if (c) runs out of the command's time.
# Needs .device/ from `node bench/e2e-gpu/bundle.mjs` (carried). Writes $OUT/{alto-b.json,
# alto-c.json, sweep-b.log, sweep-c.log, ways-bc.tgz}.
#   PSTEP=12 TS=3 CT=200 OUT=$OUT bash bench/e2e-gpu/device-run-bc.sh
. "$(dirname "$0")/../device-env.sh"
common=(--cli .device/alto-cli.mjs --steps 40 --eval-every 2 --valid-rows 8
  --early-exit '{"cutBand":0,"cutNoiseSigmas":0,"deferRank":false,"rankCautionBand":0}')
/tmp/node bench/e2e-gpu/sweep.mjs /tmp/e2e "${common[@]}" --ways b --full-b --profile-step "${PSTEP:-12}" > "$OUT/sweep-b.log" 2>&1
echo "b rc=$?"; tail -3 "$OUT/sweep-b.log"
cp /tmp/e2e/alto-b.json "$OUT/" 2>/dev/null
timeout "${CT:-200}" /tmp/node bench/e2e-gpu/sweep.mjs /tmp/e2e "${common[@]}" --ways c --time-steps "${TS:-3}" > "$OUT/sweep-c.log" 2>&1
echo "c rc=$?"; tail -3 "$OUT/sweep-c.log"
cp /tmp/e2e/alto-c.json "$OUT/" 2>/dev/null
(cd /tmp/e2e && tar czf "$OUT/ways-bc.tgz" --ignore-failed-read b/summary.json c/summary.json b/log.txt c/log.txt 2>/dev/null)
