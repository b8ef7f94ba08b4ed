#!/usr/bin/env bash
# Fuzz the running service against its own OpenAPI document with schemathesis (PyPI):
# the stub gateway and the service on free loopback ports, then `schemathesis run` with a valid
# session cookie, with an invalid one, and with none. Any failed check fails the script.
#
# Usage: scripts/schemathesis.sh [SESSIONS_API_BIN] [STUB_GATEWAY_BIN]
#   defaults: ${CARGO_TARGET_DIR:-target}/debug/{sessions-api,examples/stub_gateway} (built if missing)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
API_BIN="${1:-$TARGET_DIR/debug/sessions-api}"
STUB_BIN="${2:-$TARGET_DIR/debug/examples/stub_gateway}"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
VENV="${TMPDIR:-/tmp}/sessions-api-schemathesis"
SECRET="schemathesis-secret"
TOKEN="schemathesis-gateway-token"

log() { echo "schemathesis: $*" >&2; }

if [[ ! -x "$API_BIN" || ! -x "$STUB_BIN" ]]; then
  cargo build --quiet --bin sessions-api --example stub_gateway
fi
if [[ ! -x "$VENV/bin/schemathesis" ]]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install --disable-pip-version-check -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sessions-api-st.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

GW_PORT="$(free_port)"
"$STUB_BIN" --listen "127.0.0.1:$GW_PORT" --token "$TOKEN" >"$WORK/stub.log" 2>&1 &
PIDS+=($!)
API_PORT="$(free_port)"
# JWT sessions only: a DATABASE_URL from the caller (CI exports one for the tests) stays out.
env -u DATABASE_URL -u DATABASE_URL_FILE LISTEN_ADDR="127.0.0.1:$API_PORT" OPENCLAW_GATEWAY_URL="http://127.0.0.1:$GW_PORT" \
  OPENCLAW_GATEWAY_TOKEN="$TOKEN" NEXTAUTH_SECRET="$SECRET" RUST_LOG=warn LOG_FORMAT=json \
  "$API_BIN" >"$WORK/api.log" 2>&1 &
PIDS+=($!)

BASE="http://127.0.0.1:$API_PORT"
for _ in $(seq 1 100); do
  curl -sf --max-time 1 "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf --max-time 2 "$BASE/healthz" >/dev/null || { log "service did not start"; cat "$WORK/api.log" >&2; exit 2; }

COOKIE="$(NEXTAUTH_SECRET="$SECRET" "$API_BIN" dev-token --email schemathesis@example.com --sub st-user)"
# A well-formed cookie that is not a session: the 401 path.
BAD_COOKIE="eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA"

passed=0
failed=0
run() { # run NAME [schemathesis args...]
  local name="$1"; shift
  if timeout 300 "$VENV/bin/schemathesis" run "$BASE/api/openapi.json" \
      --checks all --max-examples 50 --workers 1 --seed 1 --no-color "$@" >"$WORK/$name.out" 2>&1; then
    passed=$((passed + 1)); log "ok   - $name"
  else
    failed=$((failed + 1)); log "FAIL - $name"; tail -60 "$WORK/$name.out" >&2
  fi
}

# With a fixed Cookie header every generated "cookie missing" case still carries the cookie, so
# negative_data_rejection cannot hold there; the two runs below check that side.
run valid-cookie -H "Cookie: next-auth.session-token=$COOKIE" --exclude-checks negative_data_rejection
run invalid-cookie -H "Cookie: next-auth.session-token=$BAD_COOKIE"
run no-cookie

echo "schemathesis: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
