#!/usr/bin/env bash
# On the GPU machine, the whole comparison in one device command (about 6 minutes): the PEFT
# peer, then ALTO's ways through sweep.mjs with the bundled CLI on alto-cuda — (a) in full, (b)
# in full, (c) timed for 3 steps a configuration — then a short run of (b) with one step timed
# kernel by kernel (its own run, so the filed (b) is not slowed by the profile's syncs).
# Needs .device/ from `node bench/e2e-gpu/bundle.mjs` (carried).
#   OUT=$OUT bash bench/e2e-gpu/device-run.sh      (SKIP_PEFT=1, PROFILE_STEP=N: 0 for none)
# Writes $OUT/{gpu.txt, peft.json, alto-a.json, alto-b.json, alto-c.json, alto-profile.json,
# logs.tgz}; then here: ALTO_RUN_COMMIT=<sha> node bench/e2e-gpu/report.mjs DIR
. "$(dirname "$0")/../device-env.sh"
t0=$SECONDS
logs=/tmp/e2e-logs
mkdir -p "$logs"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
if [ "${SKIP_PEFT:-0}" != 1 ]; then
  python3 bench/e2e-gpu/peft_peer.py "$OUT/peft.json" > "$logs/peft.log" 2>&1
  tail -12 "$logs/peft.log"; echo "peft: $((SECONDS - t0)) s"
fi
common=(--cli .device/alto-cli.mjs --steps 40 --eval-every 2 --valid-rows 8
  --early-exit '{"cutBand":0,"cutNoiseSigmas":0,"deferRank":false,"rankCautionBand":0}')
way() {  # way NAME LIMIT_S ARGS…: one sweep.mjs run into /tmp/e2e
  local name=$1 limit=$2 t=$SECONDS
  shift 2
  timeout "$limit" /tmp/node bench/e2e-gpu/sweep.mjs /tmp/e2e "${common[@]}" "$@" > "$logs/sweep-$name.log" 2>&1
  echo "$name rc=$? ($((SECONDS - t)) s): $(tail -1 "$logs/sweep-$name.log")"
}
way a 150 --ways a
way b 300 --ways b --full-b
way c 90 --ways c --time-steps 3
cp /tmp/e2e/alto-a.json /tmp/e2e/alto-b.json /tmp/e2e/alto-c.json "$OUT/" 2>/dev/null
for w in a b; do cp "/tmp/e2e/$w/log.txt" "$logs/$w-log.txt" 2>/dev/null; done
step=${PROFILE_STEP:-5}
if [ "$step" -gt 0 ] && [ $((SECONDS - t0)) -lt 540 ]; then
  timeout $((580 - (SECONDS - t0))) /tmp/node bench/e2e-gpu/sweep.mjs /tmp/e2e-profile "${common[@]}" --ways b --time-steps 3 --profile-step "$step" \
    > "$logs/sweep-profile.log" 2>&1 && cp /tmp/e2e-profile/alto-b.json "$OUT/alto-profile.json"
fi
(cd /tmp && tar czf "$OUT/logs.tgz" "$(basename "$logs")")
echo "total: $((SECONDS - t0)) s"
