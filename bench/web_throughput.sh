#!/bin/bash
# bench/web_throughput.sh — authenticated GET /api/v1/device throughput and p99 latency of safecamd over
# keep-alive TLS with wrk, beside Debian's nginx serving the same bytes as a static file over TLS, as a ratio.
# Benchmark harness (root, development machine only): everything runs inside a network namespace it creates.
#
# Usage: sudo bench/web_throughput.sh            (build dir: $SAFECAM_BUILD, default <repo>/build)
# Environment (all optional):
#   BENCH_DURATION=10s  BENCH_THREADS=2  BENCH_CONNS=16   one wrk run (a 2 s warm-up precedes the first)
#   BENCH_RUNS=3        runs per server, interleaved safecamd/nginx; the run with the median requests/s is shown
#   BENCH_CPUS          CPU list both servers are pinned to (same core budget; default: CPUs 1..N-1)
#   BENCH_CLIENT_CPUS   CPU list for wrk (default: CPU 0, so the load generator does not eat the servers' budget)
#   BENCH_ONLY=nginx    measure nginx alone (to check the harness when safecamd is not available)
# Exit: 0 when every measured request got a 2xx answer without socket errors, 1 otherwise.

# shellcheck source=bench/common.bash
. "$(dirname "$0")/common.bash"

DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-16} # safecamd allows 16 connections per source address (lib/http/server.c)
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ONLY:-both}
case "$ONLY" in both | nginx) ;; *) bench_die "BENCH_ONLY must be 'both' or 'nginx'" ;; esac
[[ "$DURATION" =~ ^[0-9]+s$ && "${DURATION%s}" -ge 1 && "${DURATION%s}" -le 300 ]] ||
    bench_die "BENCH_DURATION must be 1s..300s"
[[ "$THREADS" =~ ^[0-9]+$ && "$CONNS" =~ ^[0-9]+$ && "$THREADS" -ge 1 && "$CONNS" -ge "$THREADS" && "$CONNS" -le 1000 ]] ||
    bench_die "need 1 <= BENCH_THREADS <= BENCH_CONNS <= 1000"
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 && "$RUNS" -le 9 ]] || bench_die "BENCH_RUNS must be 1..9"

bench_require_root
bench_require_tools ip nginx wrk curl openssl jq taskset timeout awk
[ "$ONLY" = nginx ] || bench_require_build tools/safecam-provision daemon/safecamd
CLIENT_CPUS=$(bench_client_cpus)
bench_cpu_count "$(bench_cpus)" >/dev/null 2>&1 || bench_die "BENCH_CPUS='$(bench_cpus)' is not a usable CPU list"
bench_cpu_count "$CLIENT_CPUS" >/dev/null 2>&1 || bench_die "BENCH_CLIENT_CPUS='$CLIENT_CPUS' is not a usable CPU list"

bench_setup

# (a) the camera: provision, start without media, forced password change, a fresh admin session.
if [ "$ONLY" = both ]; then
    bench_log "provisioning and starting safecamd (no media) in namespace $BENCH_NS"
    bench_camera_start --no-media
    bench_camera_admin_session
    st=$(bench_cam_curl "$BENCH_TMP/device.json" -H "Cookie: $CAM_COOKIE" https://127.0.0.1:8443/api/v1/device)
    [ "$st" = 200 ] || { cat "$BENCH_TMP/device.json" >&2; bench_die "GET /api/v1/device with the session: HTTP $st"; }
else
    # The shape of safecamd's answer, for when only the harness is being checked.
    printf '%s\n' '{"model":"SC-100","serial":"SC5W4I7UBD4V","mac":"02:a6:bf:7f:6d:87","firmware_version":"0.1.0","manufacturer":"safecam","hardware_version":"1"}' \
        >"$BENCH_TMP/device.json"
fi

# (b) nginx serving the very same bytes.
bench_log "starting nginx ($(bench_cpu_count "$(bench_cpus)") workers) in namespace $BENCH_NS"
bench_nginx_start "$BENCH_TMP/device.json"

tls_of() { # PORT -> "TLSv1.3 TLS_AES_256_GCM_SHA384"
    ns timeout 5 openssl s_client -connect "127.0.0.1:$1" -brief </dev/null 2>&1 |
        awk -F': *' '/^Protocol version/ { p = $2 } /^Ciphersuite/ { c = $2 } END { print (p ? p : "?") " " (c ? c : "?") }'
}

# wrk_run NAME RUN URL [wrk -H args...]: the measured run into $BENCH_TMP/wrk-NAME-RUN.txt (run 1: warm-up first).
wrk_run() {
    local name=$1 run=$2 url=$3 secs=${DURATION%s}
    shift 3
    if [ "$run" = 1 ]; then
        ns taskset -c "$CLIENT_CPUS" timeout 30 wrk -t"$THREADS" -c"$CONNS" -d2s "$@" "$url" >/dev/null 2>&1 || true
    fi
    # Let the server finish closing the previous run's connections: safecamd counts them against its
    # per-source limit until their threads end, and a refused connect would make the run invalid.
    sleep 2
    ns taskset -c "$CLIENT_CPUS" timeout $((secs + 30)) wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" "$url" \
        >"$BENCH_TMP/wrk-$name-$run.txt" 2>&1 || { cat "$BENCH_TMP/wrk-$name-$run.txt" >&2; bench_die "wrk against $name failed"; }
}

# wrk_parse FILE -> "rps p50_ms p99_ms requests non2xx socket_errors"
wrk_parse() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return v * 0.001
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/) return v * 60000
            if (v ~ /s$/) return v * 1000
            return -1
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        / requests in / { reqs = $1 }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { gsub(/,/, ""); errs = $4 + $6 + $8 + $10 }
        END { printf "%s %.3f %.3f %s %d %d\n", (rps == "" ? "0" : rps), p50, p99, (reqs == "" ? 0 : reqs), bad, errs }
    ' "$1"
}

# keepalive_of URL [curl args...] -> "yes" when a second request reuses the first one's connection.
keepalive_of() {
    local url=$1 n
    shift
    n=$(ns curl -s --max-time 10 "$@" -o /dev/null -o /dev/null -w '%{num_connects} ' "$url" "$url" || true)
    if [ "$n" = "1 0 " ]; then echo yes; else echo "no (new connections per request: ${n% })"; fi
}

# (c) measure: RUNS rounds, each server in turn, so slow drift of the machine hits all alike.
declare -A R TLS ALL KA
KA[nginx]=$(keepalive_of https://127.0.0.1:9443/device.json -k)
SERVERS=(nginx)
if [ "$ONLY" = both ]; then
    KA[safecamd]=$(keepalive_of https://127.0.0.1:8443/api/v1/device --cacert "$CAM_CACERT" -H "Cookie: $CAM_COOKIE")
    SERVERS=(safecamd nginx)
    # When safecamd closes every connection, also measure nginx doing the same (a TLS handshake per
    # request), so the ratio can be read apart from the keep-alive difference.
    if [ "${KA[safecamd]}" != yes ] || [ -n "${BENCH_NGINX_CLOSE:-}" ]; then
        SERVERS+=(nginx-close)
        KA[nginx-close]="no (client sends Connection: close)"
    fi
fi
for run in $(seq 1 "$RUNS"); do
    for s in "${SERVERS[@]}"; do
        bench_log "run $run/$RUNS: wrk -t$THREADS -c$CONNS -d$DURATION against $s"
        case "$s" in
        safecamd)
            wrk_run safecamd "$run" https://127.0.0.1:8443/api/v1/device -H "Cookie: $CAM_COOKIE"
            kill -0 "$CAM_PID" 2>/dev/null || bench_die "safecamd died during the run"
            ;;
        nginx) wrk_run nginx "$run" https://127.0.0.1:9443/device.json ;;
        nginx-close) wrk_run nginx-close "$run" https://127.0.0.1:9443/device.json -H "Connection: close" ;;
        esac
        ALL[$s]+="$(wrk_parse "$BENCH_TMP/wrk-$s-$run.txt")"$'\n'
    done
done
for s in "${SERVERS[@]}"; do
    # The run with the median requests/s; invalid runs (non-2xx, socket errors) sort as they are and are flagged below.
    R[$s]=$(printf '%s' "${ALL[$s]}" | sort -g -k1,1 | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
done
TLS[nginx]=$(tls_of 9443)
TLS[nginx-close]=${TLS[nginx]}
if [ "$ONLY" = both ]; then
    TLS[safecamd]=$(tls_of 8443)
    # The session must still be valid after the runs (the numbers measured authenticated answers).
    st=$(bench_cam_curl /dev/null -H "Cookie: $CAM_COOKIE" https://127.0.0.1:8443/api/v1/device)
    [ "$st" = 200 ] || bench_die "session no longer valid after the runs (HTTP $st)"
fi

# (d) report.
ok=1
echo "safecamd web throughput — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc --all) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, keep-alive TLS, median of $RUNS runs by requests/s; servers pinned to CPUs $(bench_cpus), wrk to CPUs $CLIENT_CPUS"
echo "answer body: $(wc -c <"$BENCH_TMP/device.json") bytes (nginx serves the same bytes as a static file)"
printf '%-11s %12s %9s %9s %10s %8s %8s  %s\n' server requests/s p50_ms p99_ms requests non-2xx sock_err TLS
for s in safecamd nginx nginx-close; do
    [ -n "${R[$s]:-}" ] || continue
    read -r rps p50 p99 reqs bad errs <<<"${R[$s]}"
    printf '%-11s %12s %9s %9s %10s %8s %8s  %s\n' "$s" "$rps" "$p50" "$p99" "$reqs" "$bad" "$errs" "${TLS[$s]}"
done
for s in "${SERVERS[@]}"; do
    echo "$s keep-alive: ${KA[$s]}"
done
for s in "${SERVERS[@]}"; do
    # Every run must be clean, not just the one shown.
    while read -r rps p50 p99 reqs bad errs; do
        if [ "$bad" -ne 0 ] || [ "$errs" -ne 0 ] || [ "$reqs" -eq 0 ]; then
            ok=0
            echo "WARNING: a $s run had $bad non-2xx answers and $errs socket errors in $reqs requests; not valid" >&2
            [ "${KA[$s]}" = yes ] || [ "$bad" -ne 0 ] ||
                echo "  ($s closes every connection: wrk reconnects at once and can meet the server's per-source connection limit while the old connection is still counted)" >&2
        fi
    done <<<"$(printf '%s' "${ALL[$s]}")"
    echo "$s all runs (requests/s p99_ms): $(printf '%s' "${ALL[$s]}" | awk '{ printf "%s%s/%s", (NR > 1 ? ", " : ""), $1, $3 }')"
done
if [ -n "${R[safecamd]:-}" ]; then
    read -r s_rps _ s_p99 _ <<<"${R[safecamd]}"
    read -r n_rps _ n_p99 _ <<<"${R[nginx]}"
    awk -v a="$s_rps" -v b="$n_rps" -v c="$s_p99" -v d="$n_p99" 'BEGIN {
        printf "ratio safecamd/nginx: requests/s %.3f (nginx is %.1fx faster), p99 latency %.1fx nginx\n",
            (b > 0 ? a / b : 0), (a > 0 ? b / a : 0), (d > 0 ? c / d : 0) }'
    if [ -n "${R[nginx-close]:-}" ]; then
        read -r c_rps _ c_p99 _ <<<"${R[nginx-close]}"
        awk -v a="$s_rps" -v b="$c_rps" -v c="$s_p99" -v d="$c_p99" 'BEGIN {
            printf "ratio safecamd/nginx-close (both a TLS handshake per request): requests/s %.3f, p99 latency %.1fx\n",
                (b > 0 ? a / b : 0), (d > 0 ? c / d : 0) }'
    fi
fi
# Memory after the load: VmRSS now and VmHWM (peak) of every server process.
mem_line() { # LABEL PID
    awk -v l="$1" -v p="$2" '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 }
        END { printf "  %-20s pid %-7s VmRSS %6.1f MiB  peak VmHWM %6.1f MiB\n", l, p, r / 1024, h / 1024 }' "/proc/$2/status" 2>/dev/null || true
}
echo "memory after the runs:"
if [ "$ONLY" = both ]; then
    mem_line "safecamd supervisor" "$CAM_PID"
    for c in $(bench_children "$CAM_PID"); do
        mem_line "safecamd $(bench_comm "$c" | sed 's/^safecam-//')" "$c"
    done
fi
mem_line "nginx master" "$NGX_PID"
for c in $(bench_children "$NGX_PID"); do
    mem_line "nginx worker" "$c"
done
[ "$ok" = 1 ]
