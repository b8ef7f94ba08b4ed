#!/usr/bin/env bash
# End-to-end test of deploy/nginx/sessions-api.conf:
#   client (curl) -> nginx -> sessions-api -> stub OpenClaw gateway
# all on loopback, on free ports, in a temp dir, cleaned up on exit.
#
# Usage: deploy/nginx/test.sh [SESSIONS_API_BIN] [STUB_GATEWAY_BIN]
#   defaults: ${CARGO_TARGET_DIR:-target}/debug/sessions-api
#             ${CARGO_TARGET_DIR:-target}/debug/examples/stub_gateway
#   (built with cargo when a default is missing)
# Needs curl; installs nginx from Debian (apt-get, as root) when it is missing.
# Prints "N passed, N failed" and exits non-zero when a check failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
API_BIN="${1:-$TARGET_DIR/debug/sessions-api}"
STUB_BIN="${2:-$TARGET_DIR/debug/examples/stub_gateway}"
SITE_CONF="$ROOT/deploy/nginx/sessions-api.conf"
SECRET="some-test-secret"
GATEWAY_TOKEN="nginx-test-gateway-token"
CURL=(curl -sS --max-time 10 --noproxy '*')

log() { echo "nginx-test: $*" >&2; }
die() { log "$*"; exit 2; }

# --- prerequisites ------------------------------------------------------------
command -v curl >/dev/null 2>&1 || die "curl is required"

if [[ ! -x "$API_BIN" || ! -x "$STUB_BIN" ]]; then
  if [[ $# -eq 0 ]] && command -v cargo >/dev/null 2>&1; then
    log "building sessions-api and the stub_gateway example"
    cargo build --quiet --bin sessions-api --example stub_gateway
  fi
fi
[[ -x "$API_BIN" ]] || die "no sessions-api binary at $API_BIN"
[[ -x "$STUB_BIN" ]] || die "no stub_gateway binary at $STUB_BIN"

find_nginx() {
  command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; }
}
NGINX="$(find_nginx || true)"
if [[ -z "$NGINX" ]]; then
  [[ "$(id -u)" == 0 ]] || die "nginx is missing and installing it needs root"
  log "installing nginx from Debian"
  # Keep the package's init script from starting a system nginx on :80.
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq >/dev/null
  timeout 600 apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 \
    || timeout 600 apt-get install -y -qq --no-install-recommends nginx >/dev/null
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  NGINX="$(find_nginx)" || die "nginx install failed"
fi

# --- process management -----------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sessions-api-nginx-test.XXXXXX")"
chmod 0755 "$WORK" # nginx workers (user nobody when run as root) traverse it
mkdir -p "$WORK/logs" "$WORK/tmp"
STUB_PID=""
API_PID=""
NGINX_STARTED=0

stop_pid() { # stop_pid PID: TERM, then KILL after ~5 s
  local pid="$1" i
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  if ((NGINX_STARTED)) && [[ -s "$WORK/nginx.pid" ]]; then
    stop_pid "$(cat "$WORK/nginx.pid")"
  fi
  stop_pid "$API_PID"
  stop_pid "$STUB_PID"
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { # prints a loopback TCP port that nothing listens on
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  return 1
}

wait_http_ok() { # wait_http_ok URL: up to ~15 s for a 2xx
  local url="$1" i
  for ((i = 0; i < 75; i++)); do
    if curl -fsS --max-time 1 --noproxy '*' -o /dev/null "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

start_stub() {
  "$STUB_BIN" --listen 127.0.0.1:0 --token "$GATEWAY_TOKEN" \
    >"$WORK/logs/stub.out" 2>"$WORK/logs/stub.err" &
  STUB_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    STUB_ADDR="$(sed -n 's/^listening on //p' "$WORK/logs/stub.out")"
    [[ -n "$STUB_ADDR" ]] && return 0
    kill -0 "$STUB_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/logs/stub.err" >&2
  die "stub gateway did not start"
}

start_api() { # start_api GATEWAY_URL
  stop_pid "$API_PID"
  API_PID=""
  env LISTEN_ADDR="127.0.0.1:$API_PORT" \
    OPENCLAW_GATEWAY_URL="$1" \
    OPENCLAW_GATEWAY_TOKEN="$GATEWAY_TOKEN" \
    NEXTAUTH_SECRET="$SECRET" \
    TRUSTED_PROXIES="127.0.0.1/32" \
    LOG_FORMAT=json RUST_LOG="${RUST_LOG:-info}" \
    "$API_BIN" serve >>"$WORK/logs/api.log" 2>&1 &
  API_PID=$!
  if ! wait_http_ok "http://127.0.0.1:$API_PORT/healthz"; then
    tail -n 50 "$WORK/logs/api.log" >&2
    die "sessions-api did not become healthy on 127.0.0.1:$API_PORT"
  fi
}

start_nginx() {
  sed -e "s#server 127\.0\.0\.1:3000 #server 127.0.0.1:$API_PORT #" \
    -e "s#^\([[:space:]]*\)listen 80;#\1listen 127.0.0.1:$NGINX_PORT;#" \
    -e "s#/var/log/nginx/#$WORK/logs/#g" \
    "$SITE_CONF" >"$WORK/site.conf"
  grep -q "server 127.0.0.1:$API_PORT " "$WORK/site.conf" || die "upstream substitution failed"
  grep -q "listen 127.0.0.1:$NGINX_PORT;" "$WORK/site.conf" || die "listen substitution failed"
  cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 256; }
http {
    client_body_temp_path $WORK/tmp/client_body;
    proxy_temp_path       $WORK/tmp/proxy;
    fastcgi_temp_path     $WORK/tmp/fastcgi;
    uwsgi_temp_path       $WORK/tmp/uwsgi;
    scgi_temp_path        $WORK/tmp/scgi;
    access_log            $WORK/logs/access.log;
    default_type          application/octet-stream;
    include               $WORK/site.conf;
}
EOF
  "$NGINX" -t -q -p "$WORK" -e "$WORK/logs/error.log" -c "$WORK/nginx.conf" \
    || die "nginx -t failed"
  # Daemonised (the default): the master writes its pid file; cleanup stops it.
  "$NGINX" -p "$WORK" -e "$WORK/logs/error.log" -c "$WORK/nginx.conf"
  NGINX_STARTED=1
  wait_http_ok "http://127.0.0.1:$NGINX_PORT/healthz" || {
    tail -n 20 "$WORK/logs/error.log" >&2
    die "nginx did not proxy /healthz"
  }
}

# --- checks -----------------------------------------------------------------------
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1${2:+: $2}"; }

# request NAME [curl args...]: sets STATUS, BODY and HEADERS (a file)
request() {
  local name="$1"
  shift
  HEADERS="$WORK/$name.headers"
  BODY="$("${CURL[@]}" -D "$HEADERS" -o - -w '\n%{http_code}' "$@" 2>"$WORK/$name.curlerr")" || true
  STATUS="${BODY##*$'\n'}"
  BODY="${BODY%$'\n'*}"
}

json_check() { # json_check PYTHON_EXPR: evaluates it with d = the parsed $BODY
  python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$1" <<<"$BODY" 2>/dev/null
}

header_value() { # header_value NAME: value of the last NAME header in $HEADERS
  tr -d '\r' <"$HEADERS" | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" '
    { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); last = v } }
    END { print last }'
}

command -v python3 >/dev/null 2>&1 || die "python3 is required to check JSON bodies"

API_PORT="$(free_port)"
NGINX_PORT="$(free_port)"
while [[ "$NGINX_PORT" == "$API_PORT" ]]; do NGINX_PORT="$(free_port)"; done

start_stub
start_api "http://$STUB_ADDR"
start_nginx
BASE="http://127.0.0.1:$NGINX_PORT"
log "stub=$STUB_ADDR api=127.0.0.1:$API_PORT nginx=127.0.0.1:$NGINX_PORT"

COOKIE_VALUE="$(NEXTAUTH_SECRET="$SECRET" "$API_BIN" dev-token --email dev@example.com | tr -d '[:space:]')"
[[ -n "$COOKIE_VALUE" ]] || die "dev-token printed nothing"
COOKIE="next-auth.session-token=$COOKIE_VALUE"

# 1. authenticated request: sessions from the gateway
request with_cookie -H "Cookie: $COOKIE" "$BASE/api/sessions"
if [[ "$STATUS" == 200 ]] && json_check 'd.get("source") == "gateway" and isinstance(d.get("sessions"), list) and len(d["sessions"]) > 0'; then
  pass "cookie -> 200, source=gateway, ${#BODY} bytes"
else
  fail "cookie -> 200 source=gateway" "status=$STATUS body=${BODY:0:300}"
fi

# 1b. the gateway saw the call, with the right bearer (the stub 401s otherwise)
stats="$("${CURL[@]}" "http://$STUB_ADDR/__stats" || true)"
if [[ "$stats" =~ \"calls\":([0-9]+) ]] && ((BASH_REMATCH[1] >= 1)); then
  pass "stub gateway was called ($stats)"
else
  fail "stub gateway was called" "$stats"
fi

# 2. no cookie: 401 from the service (through nginx)
request no_cookie "$BASE/api/sessions"
if [[ "$STATUS" == 401 ]] && json_check 'd.get("error") == "Unauthorized"'; then
  pass "no cookie -> 401 Unauthorized"
else
  fail "no cookie -> 401" "status=$STATUS body=${BODY:0:300}"
fi

# 3. the client's X-Request-Id comes back
request rid -H "Cookie: $COOKIE" -H "X-Request-Id: test-rid-123" "$BASE/api/sessions"
rid="$(header_value x-request-id)"
if [[ "$STATUS" == 200 && "$rid" == "test-rid-123" ]]; then
  pass "X-Request-Id: test-rid-123 echoed"
else
  fail "X-Request-Id echoed" "status=$STATUS x-request-id='$rid'"
fi
n_rid="$(tr -d '\r' <"$HEADERS" | grep -ci '^x-request-id:' || true)"
if [[ "$n_rid" == 1 ]]; then
  pass "exactly one X-Request-Id header"
else
  fail "exactly one X-Request-Id header" "got $n_rid"
fi

# 3b. without one, nginx's $request_id is used and returned
request rid_gen "$BASE/api/sessions"
rid="$(header_value x-request-id)"
if [[ "$rid" =~ ^[0-9a-f]{32}$ ]]; then
  pass "X-Request-Id generated when absent ($rid)"
else
  fail "X-Request-Id generated when absent" "x-request-id='$rid'"
fi

# 4. the other routed paths
request openapi "$BASE/api/openapi.json"
if [[ "$STATUS" == 200 ]] && json_check '"openapi" in d and "/api/sessions" in d.get("paths", {})'; then
  pass "/api/openapi.json -> 200"
else
  fail "/api/openapi.json -> 200" "status=$STATUS body=${BODY:0:200}"
fi
request healthz "$BASE/healthz"
if [[ "$STATUS" == 200 ]]; then
  pass "/healthz -> 200"
else
  fail "/healthz -> 200" "status=$STATUS"
fi
request unrouted "$BASE/not-routed"
if [[ "$STATUS" == 404 ]]; then
  pass "unrouted path -> 404 from nginx"
else
  fail "unrouted path -> 404" "status=$STATUS"
fi

# 5. gateway down: restart the service against a closed loopback port
CLOSED_PORT="$(free_port)"
start_api "http://127.0.0.1:$CLOSED_PORT"
request gw_down -H "Cookie: $COOKIE" "$BASE/api/sessions"
if [[ "$STATUS" == 200 ]] && json_check 'd.get("source") == "gateway-error" and d.get("error") == "Gateway unreachable" and d.get("sessions") == []'; then
  pass "gateway down -> 200, source=gateway-error, Gateway unreachable"
else
  fail "gateway down -> 200 gateway-error" "status=$STATUS body=${BODY:0:300}"
fi

# 6. service down: nginx's own JSON 503 (still with a request id)
stop_pid "$API_PID"
API_PID=""
request api_down -H "X-Request-Id: test-rid-456" "$BASE/api/sessions"
rid="$(header_value x-request-id)"
if [[ "$STATUS" == 503 && "$rid" == "test-rid-456" ]] && json_check 'd.get("error") == "Service unavailable"'; then
  pass "service down -> 503 JSON from nginx with X-Request-Id"
else
  fail "service down -> 503 JSON" "status=$STATUS x-request-id='$rid' body=${BODY:0:200}"
fi

if ((FAILED)); then
  log "failed; rerun with KEEP_WORK=1 to keep $WORK/logs. Last log lines:"
  tail -n 20 "$WORK/logs/api.log" >&2 || true
  tail -n 10 "$WORK/logs/error.log" >&2 || true
fi
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
