#!/usr/bin/env bash
# Where does the service spend its CPU per request? Runs the "caching off, 0 ms gateway, 64
# connections" load (scenario 2 of bench/load.sh) and samples the service with `perf record`
# (software cpu-clock event, so it works in VMs without hardware counters), then prints the
# hottest symbols and the split between the service binary, libc and the kernel.
#
#   bash bench/profile.sh                 # 8 s of samples
#   PROFILE_SECONDS=15 bash bench/profile.sh
#   PROFILE_ENV="SESSIONS_CACHE_TTL_MS=0" bash bench/profile.sh   # extra service environment
#
# Needs perf (`apt-get install -y linux-perf`) and wrk; run as root or with
# kernel.perf_event_paranoid <= 1. Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SECONDS_SAMPLED=${PROFILE_SECONDS:-8}
CONNS=${PROFILE_CONNS:-64}
LATENCY_MS=${PROFILE_LATENCY_MS:-0}
BODY=$ROOT/tests/fixtures/openclaw/sessions_list.ok.60_sessions.noargs.json
TOKEN=bench-gateway-token
SECRET=bench-secret-not-for-production-0123456789
OUT_DIR=${PROFILE_OUT:-$TARGET_DIR/profile}
mkdir -p "$OUT_DIR"

for tool in perf wrk curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 1; }
done
cargo build --release --quiet --bin sessions-api --example stub_gateway
SERVICE_BIN=$TARGET_DIR/release/sessions-api
STUB_BIN=$TARGET_DIR/release/examples/stub_gateway

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

: >"$OUT_DIR/stub.out"
"$STUB_BIN" --listen 127.0.0.1:0 --latency-ms "$LATENCY_MS" --body "$BODY" --token "$TOKEN" \
    >"$OUT_DIR/stub.out" 2>&1 &
PIDS+=($!)
STUB_ADDR=
for _ in $(seq 1 100); do
    STUB_ADDR=$(sed -nE 's/^listening on (.*)$/\1/p' "$OUT_DIR/stub.out")
    [ -n "$STUB_ADDR" ] && break
    sleep 0.05
done
[ -n "$STUB_ADDR" ] || { echo "stub did not start" >&2; exit 1; }

PORT=$((20000 + RANDOM % 40000))
read -r -a EXTRA_ENV <<<"${PROFILE_ENV:-}"
env "${EXTRA_ENV[@]}" LISTEN_ADDR="127.0.0.1:$PORT" OPENCLAW_GATEWAY_URL="http://$STUB_ADDR" \
    OPENCLAW_GATEWAY_TOKEN="$TOKEN" NEXTAUTH_SECRET="$SECRET" LOG_FORMAT=json RUST_LOG=warn \
    "$SERVICE_BIN" >"$OUT_DIR/service.log" 2>&1 &
SVC_PID=$!
PIDS+=("$SVC_PID")
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
    sleep 0.05
done

COOKIE="next-auth.session-token=$(NEXTAUTH_SECRET=$SECRET "$SERVICE_BIN" dev-token --email bench@example.com)"
printf 'wrk.headers["Cookie"] = "%s"\n' "$COOKIE" >"$OUT_DIR/cookie.lua"

wrk -t2 -c"$CONNS" -d"$((SECONDS_SAMPLED + 3))"s -s "$OUT_DIR/cookie.lua" \
    "http://127.0.0.1:$PORT/api/sessions" >"$OUT_DIR/wrk.txt" 2>&1 &
WRK_PID=$!
PIDS+=("$WRK_PID")
sleep 2
perf record -q -e cpu-clock -F 999 -p "$SVC_PID" -o "$OUT_DIR/perf.data" -- sleep "$SECONDS_SAMPLED" 2>/dev/null
wait "$WRK_PID" || true
tail -3 "$OUT_DIR/wrk.txt"

echo
echo "== share of samples by binary"
perf report -i "$OUT_DIR/perf.data" --no-children --sort dso 2>/dev/null |
    grep -vE '^(#|$)' | sed -E 's/ +$//' | head -6 || true # head closes the pipe early
echo
echo "== hottest symbols"
perf report -i "$OUT_DIR/perf.data" --no-children --sort dso,symbol 2>/dev/null |
    grep -vE '^(#|$)' | sed -E 's/ +-? *-? *$//' | cut -c1-140 | head -"${PROFILE_TOP:-30}" || true
echo
echo "perf data: $OUT_DIR/perf.data (perf report -i ... ; for a flamegraph: perf script | inferno-collapse-perf | inferno-flamegraph)"
