#!/usr/bin/env bash
# Load benchmark of sessions-api (issue 6): one machine, one run, loopback only.
#
#   bash bench/load.sh            # builds, runs every scenario, rewrites the load section of BENCHMARKS.md
#   BENCH_DURATION=5 bash bench/load.sh   # shorter runs
#   BENCH_SCENARIOS="1 2 4" BENCH_SERVICE_ENV="LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" \
#       BENCH_OUT=/tmp/jemalloc.md bash bench/load.sh      # a subset, with extra service environment
#
# It builds (release) the service and the stub gateway (examples/stub_gateway.rs), installs wrk
# from Debian if it is missing, mints a session cookie with `sessions-api dev-token`, and for
# each scenario starts a fresh stub and a fresh service on 127.0.0.1, warms up, then measures
# with wrk: requests/s, p50/p99 latency, errors (socket errors + non-2xx + gateway-error bodies,
# counted from the service's warn log), gateway calls (stub /__stats), the service's peak RSS
# (VmHWM) and the CPU time (utime+stime from /proc/PID/stat) per request of the service and the
# stub. The scenarios run in well under 5 minutes (build time excluded).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
DURATION=${BENCH_DURATION:-10}  # seconds measured per scenario
WARMUP=${BENCH_WARMUP:-2}       # seconds of warm-up per scenario (not measured)
THREADS=${BENCH_WRK_THREADS:-2} # wrk threads
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
SCENARIOS=" ${BENCH_SCENARIOS:-1 2 2b 3 4} "
read -r -a SERVICE_ENV <<<"${BENCH_SERVICE_ENV:-}"
BODY=$ROOT/tests/fixtures/openclaw/sessions_list.ok.60_sessions.noargs.json
GATEWAY_TOKEN=bench-gateway-token
BENCH_SECRET=bench-secret-not-for-production-0123456789
HOST=127.0.0.1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessions-api-load.XXXXXX")
PIDS=()
# stop PID: SIGTERM, then SIGKILL if it is still there after 3 s.
stop() {
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 1 30); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        stop "$pid"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[load] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- build and tools
log "building (release) sessions-api and examples/stub_gateway"
cargo build --release --quiet --bin sessions-api --example stub_gateway
SERVICE_BIN=$TARGET_DIR/release/sessions-api
STUB_BIN=$TARGET_DIR/release/examples/stub_gateway

if ! command -v wrk >/dev/null 2>&1; then
    log "wrk not found: installing it from Debian (apt-get)"
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get install -y -qq wrk >/dev/null 2>&1 ||
        { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null; }
fi
for tool in wrk curl awk getconf; do
    command -v "$tool" >/dev/null 2>&1 || { log "missing tool: $tool"; exit 1; }
done

# 1000 connections from wrk + 1000 accepted by the service + their gateway connections.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -n 65536 2>/dev/null || true
log "open files limit: $(ulimit -n)"
CLK_TCK=$(getconf CLK_TCK)

COOKIE="next-auth.session-token=$(NEXTAUTH_SECRET=$BENCH_SECRET "$SERVICE_BIN" dev-token --email bench@example.com --sub bench-user --ttl 86400)"

# wrk scripts: the request, and a done() that prints one machine-readable line.
cat >"$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
EOF
{
    printf 'wrk.method = "POST"\n'
    printf 'wrk.body = %s\n' "'{\"tool\":\"sessions_list\",\"args\":{\"limit\":50}}'"
    printf 'wrk.headers["Content-Type"] = "application/json"\n'
    printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$GATEWAY_TOKEN"
    cat "$WORK/report.lua"
} >"$WORK/stub.lua"
{
    printf 'wrk.headers["Cookie"] = "%s"\n' "$COOKIE"
    cat "$WORK/report.lua"
} >"$WORK/service.lua"

# ---------------------------------------------------------------- helpers
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

# cpu_ticks PID: utime + stime (fields 14 and 15; the command name may hold spaces).
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    # After "pid (comm) ", field 3 is the first: utime is field 14 -> index 12 here.
    awk '{ print $12 + $13 }' <<<"$stat"
}

hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

stub_calls() { curl -fsS "http://$1/__stats" | sed -E 's/.*"calls":([0-9]+).*/\1/'; }

wait_http() { # URL
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    log "not answering: $1"
    return 1
}

start_stub() { # LATENCY_MS -> sets STUB_PID STUB_ADDR
    local out=$WORK/stub.$RANDOM.out
    : >"$out" # created before the stub starts, so reading it cannot race the redirection
    "$STUB_BIN" --listen "$HOST:0" --latency-ms "$1" --body "$BODY" --token "$GATEWAY_TOKEN" \
        >"$out" 2>"$out.err" &
    STUB_PID=$!
    PIDS+=("$STUB_PID")
    for _ in $(seq 1 100); do
        STUB_ADDR=$(sed -nE 's/^listening on (.*)$/\1/p' "$out")
        [ -n "$STUB_ADDR" ] && break
        sleep 0.05
    done
    [ -n "$STUB_ADDR" ] || { log "stub did not start"; cat "$out.err" >&2; exit 1; }
    wait_http "http://$STUB_ADDR/healthz"
}

start_service() { # GATEWAY_ADDR CACHE_TTL_MS(or "default") -> sets SVC_PID SVC_ADDR SVC_LOG
    local port
    port=$(free_port)
    SVC_ADDR=$HOST:$port
    SVC_LOG=$WORK/service.$port.log
    local env_cache=()
    [ "$2" = default ] || env_cache=("SESSIONS_CACHE_TTL_MS=$2")
    env "${env_cache[@]}" "${SERVICE_ENV[@]}" \
        LISTEN_ADDR="$SVC_ADDR" OPENCLAW_GATEWAY_URL="http://$1" \
        OPENCLAW_GATEWAY_TOKEN="$GATEWAY_TOKEN" NEXTAUTH_SECRET="$BENCH_SECRET" \
        LOG_FORMAT=json RUST_LOG=warn MAX_CONCURRENT_REQUESTS=100000 \
        "$SERVICE_BIN" >"$SVC_LOG" 2>&1 &
    SVC_PID=$!
    PIDS+=("$SVC_PID")
    wait_http "http://$SVC_ADDR/healthz" || { tail -5 "$SVC_LOG" >&2; exit 1; }
    # One real request: it must be a gateway answer, not 401 or gateway-error.
    local sample
    sample=$(curl -fsS -H "Cookie: $COOKIE" "http://$SVC_ADDR/api/sessions")
    case $sample in
        *'"source":"gateway"'*) ;;
        *) log "unexpected sample response: ${sample:0:300}"; exit 1 ;;
    esac
}


# run_wrk CONNS SECONDS SCRIPT URL -> prints the WRK line
run_wrk() {
    local threads=$THREADS
    [ "$1" -ge "$threads" ] || threads=$1
    wrk -t"$threads" -c"$1" -d"$2"s --timeout 5s -s "$3" "$4" | grep '^WRK ' || {
        log "wrk failed"
        exit 1
    }
}

kv() { sed -nE "s/.* $2=([0-9.]+).*/\1/p" <<<" $1"; }

RESULTS=$WORK/results.tsv
: >"$RESULTS"
: >"$WORK/raw.txt"

# scenario ID TITLE TARGET(stub|service) LATENCY_MS CONNS CACHE_TTL
scenario() {
    local id=$1 title=$2 target=$3 latency=$4 conns=$5 cache=$6
    [[ $SCENARIOS == *" $id "* ]] || return 0
    log "scenario $id: $title"
    start_stub "$latency"
    local url script
    if [ "$target" = stub ]; then
        url="http://$STUB_ADDR/tools/invoke"
        script=$WORK/stub.lua
        SVC_PID=
    else
        start_service "$STUB_ADDR" "$cache"
        url="http://$SVC_ADDR/api/sessions"
        script=$WORK/service.lua
    fi
    run_wrk "$conns" "$WARMUP" "$script" "$url" >/dev/null

    local calls0 stub0 svc0=0 gwerr0=0
    calls0=$(stub_calls "$STUB_ADDR")
    stub0=$(cpu_ticks "$STUB_PID")
    if [ -n "$SVC_PID" ]; then
        svc0=$(cpu_ticks "$SVC_PID")
        gwerr0=$(grep -c 'gateway call failed' "$SVC_LOG" || true)
    fi
    local line
    line=$(run_wrk "$conns" "$DURATION" "$script" "$url")
    local stub1 svc1=0 calls1 hwm=0 gwerr1=0
    stub1=$(cpu_ticks "$STUB_PID")
    if [ -n "$SVC_PID" ]; then
        svc1=$(cpu_ticks "$SVC_PID")
        hwm=$(hwm_kib "$SVC_PID")
        gwerr1=$(grep -c 'gateway call failed' "$SVC_LOG" || true)
    fi
    calls1=$(stub_calls "$STUB_ADDR")

    local req dur p50 p99 sock status
    req=$(kv "$line" requests)
    dur=$(kv "$line" duration_us)
    p50=$(kv "$line" p50_us)
    p99=$(kv "$line" p99_us)
    sock=$(($(kv "$line" connect) + $(kv "$line" read) + $(kv "$line" write) + $(kv "$line" timeout)))
    status=$(kv "$line" status)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$id" "$title" "$conns" "$latency" "$req" "$dur" "$p50" "$p99" "$sock" "$status" \
        "$((gwerr1 - gwerr0))" "$((calls1 - calls0))" "$hwm" "$((svc1 - svc0))" "$((stub1 - stub0))" \
        >>"$RESULTS"
    log "  $line"
    printf '%s: %s\n' "$id" "$line" >>"$WORK/raw.txt"
    [ -z "$SVC_PID" ] || stop "$SVC_PID"
    stop "$STUB_PID"
}

START=$(date +%s)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
scenario 1 "stub directly (0 ms gateway)" stub 0 64 -
scenario 2 "service, caching off (0 ms gateway)" service 0 64 0
scenario 2b "service, caching off, 50 ms gateway" service 50 256 0
scenario 3 "service, default coalescing/TTL, 50 ms gateway" service 50 256 default
scenario 4 "service, default coalescing/TTL, 50 ms gateway" service 50 1000 default
ELAPSED=$(($(date +%s) - START))
log "scenarios took ${ELAPSED}s"

# ---------------------------------------------------------------- report
MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
REPORT=$WORK/report.md
awk -F'\t' -v tck="$CLK_TCK" -v dur="$DURATION" -v warm="$WARMUP" -v threads="$THREADS" \
    -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v nproc="$(nproc)" -v model="$MODEL" -v mem="$MEM" \
    -v kernel="$(uname -sr)" -v rustc="$(rustc -V)" -v wrkv="$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)" \
    -v svcenv="${BENCH_SERVICE_ENV:-}" -v loadavg="$LOADAVG" -v raw="$WORK/raw.txt" -v elapsed="$ELAPSED" -v commit="$(git rev-parse --short HEAD 2>/dev/null || echo '?')" '
function ms(us) { return sprintf("%.2f", us / 1000) }
function cpu_us(ticks, n) { return n > 0 ? ticks * 1e6 / tck / n : 0 }
{
    id[NR] = $1; title[NR] = $2; conns[NR] = $3; lat[NR] = $4; req[NR] = $5; dus[NR] = $6
    p50[NR] = $7; p99[NR] = $8; sock[NR] = $9; st[NR] = $10; gwe[NR] = $11; calls[NR] = $12
    hwm[NR] = $13; svc[NR] = $14; stub[NR] = $15; row[$1] = NR
}
END {
    print "## Load (`bench/load.sh`)"
    print ""
    printf "Run %s at commit `%s`: %s s measured per scenario after %s s of warm-up, wrk with %s threads, scenarios took %s s.\n\n", date, commit, dur, warm, threads, elapsed
    if (svcenv != "") printf "Extra service environment: `%s`.\n\n", svcenv
    printf "Machine: %s CPU(s), %s, %s RAM, %s, %s, %s. Load average at start: %s (the machine may be shared).\n\n", nproc, model, mem, kernel, rustc, wrkv, loadavg
    print "| # | scenario | conns | gateway latency | requests/s | p50 ms | p99 ms | errors (socket / non-2xx / gateway-error) | gateway calls | calls per 50 ms | service peak RSS MiB | service CPU µs/req | stub CPU µs/call |"
    print "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"
    for (i = 1; i <= NR; i++) {
        secs = dus[i] / 1e6
        rps = req[i] / secs
        svc_cell = id[i] == "1" ? "–" : sprintf("%.1f", cpu_us(svc[i], req[i]))
        rss_cell = id[i] == "1" ? "–" : sprintf("%.1f", hwm[i] / 1024)
        per_cell = id[i] == "1" ? "–" : sprintf("%.2f", calls[i] / (secs / 0.05))
        printf "| %s | %s | %d | %d ms | %.0f | %s | %s | %d / %d / %d | %d | %s | %s | %s | %.1f |\n", \
            id[i], title[i], conns[i], lat[i], rps, ms(p50[i]), ms(p99[i]), sock[i], st[i], gwe[i], \
            calls[i], per_cell, rss_cell, svc_cell, cpu_us(stub[i], calls[i])
    }
    print ""
    print "CPU time is utime+stime from `/proc/PID/stat` before and after the measured run, divided by the"
    print "requests wrk completed (service) or by the gateway calls the stub answered (stub). Peak RSS is"
    print "`VmHWM` of a service process started fresh for the scenario. Gateway-error bodies (answered 200)"
    print "are counted from the service'\''s `gateway call failed` warnings."
    print ""
    print "<details><summary>raw wrk lines</summary>"
    print ""
    print "```"
    while ((getline l < raw) > 0) print l
    print "```"
    print ""
    print "</details>"
    print ""
    print "### Targets"
    print ""
    print "| target | measured | result |"
    print "|---|---|---|"
    a = row["1"]; b = row["2"]
    if (a && b) {
    stub_cpu = cpu_us(stub[a], calls[a]); svc_cpu = cpu_us(svc[b], req[b])
    ratio = stub_cpu > 0 ? svc_cpu / stub_cpu : 0
    printf "| overhead: service CPU/req ≤ 2× stub CPU/req (64 conns, caching off) | %.1f µs vs %.1f µs = %.2f× | %s |\n", \
        svc_cpu, stub_cpu, ratio, ratio <= 2 ? "met" : "**missed**"
    d = (p99[b] - p99[a]) / 1000
    printf "| overhead: p99 via service − p99 direct ≤ 1 ms (64 conns) | %.2f − %.2f = %.2f ms | %s |\n", \
        p99[b] / 1000, p99[a] / 1000, d, d <= 1 ? "met" : "**missed**"
    }
    c = row["3"]
    if (c) {
    secs = dus[c] / 1e6; rps = req[c] / secs; per = calls[c] / (secs / 0.05)
    printf "| coalescing: ≥ 10 000 req/s at 256 conns, 50 ms gateway | %.0f req/s | %s |\n", rps, rps >= 10000 ? "met" : "**missed**"
    printf "| coalescing: about one gateway call per 50 ms | %.2f calls per 50 ms (%d calls) | %s |\n", per, calls[c], per <= 1.5 ? "met" : "**missed**"
    }
    m = row["4"]
    if (m) {
    mib = hwm[m] / 1024
    printf "| memory: peak RSS ≤ 30 MiB at 1 000 conns | %.1f MiB | %s |\n", mib, mib <= 30 ? "met" : "**missed**"
    }
}' "$RESULTS" >"$REPORT"

cat "$REPORT"

# Replace the section between the markers in BENCHMARKS.md (create the file if needed).
BEGIN_MARK='<!-- load.sh:begin -->'
END_MARK='<!-- load.sh:end -->'
if [ -f "$OUT" ] && grep -qF "$BEGIN_MARK" "$OUT" && grep -qF "$END_MARK" "$OUT"; then
    awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v report="$REPORT" '
        $0 == b { print; while ((getline l < report) > 0) print l; skip = 1; next }
        $0 == e { skip = 0 }
        !skip { print }' "$OUT" >"$WORK/out.md"
    cp "$WORK/out.md" "$OUT"
else
    { printf '# Benchmarks\n\n%s\n' "$BEGIN_MARK"; cat "$REPORT"; printf '%s\n' "$END_MARK"; } >>"$OUT"
fi
log "wrote $OUT"
