#!/bin/bash
# bench/idle_rss.sh — resident memory of each safecamd process (supervisor, vault, web, media with the
# built-in test pattern) after 10 s idle, beside Debian's nginx (master + workers) idle as a peer.
# Benchmark harness (root, development machine only): everything runs inside a network namespace it creates.
#
# Usage: sudo bench/idle_rss.sh        (build dir: $SAFECAM_BUILD, default <repo>/build)
# Environment: BENCH_IDLE_SECS=10 (1..120), BENCH_CPUS (CPU list the servers are pinned to).
# Columns: VmRSS and RssAnon from /proc/PID/status (RssAnon = the process's own heap/stack, without shared
# library pages), Pss from /proc/PID/smaps_rollup (shared pages divided among the processes sharing them).
# Exit: 0 when all four camera processes were found and measured, 1 otherwise.

# shellcheck source=bench/common.bash
. "$(dirname "$0")/common.bash"

IDLE=${BENCH_IDLE_SECS:-10}
[[ "$IDLE" =~ ^[0-9]+$ && "$IDLE" -ge 1 && "$IDLE" -le 120 ]] || bench_die "BENCH_IDLE_SECS must be 1..120"

bench_require_root
bench_require_tools ip nginx curl openssl jq taskset awk
bench_require_build tools/safecam-provision daemon/safecamd
bench_cpu_count "$(bench_cpus)" >/dev/null 2>&1 || bench_die "BENCH_CPUS='$(bench_cpus)' is not a usable CPU list"

bench_setup

bench_log "provisioning and starting safecamd (testsrc media) in namespace $BENCH_NS"
bench_camera_start --source testsrc
printf '%s\n' '{"model":"SC-100","serial":"SC0000000000","firmware_version":"0.1.0"}' >"$BENCH_TMP/device.json"
bench_log "starting nginx in namespace $BENCH_NS"
bench_nginx_start "$BENCH_TMP/device.json"
bench_log "idle for $IDLE s"
sleep "$IDLE"

status_kib() { # PID FIELD
    awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print "?" }' "/proc/$1/status" 2>/dev/null || echo "?"
}
pss_kib() {
    awk '$1 == "Pss:" { print $2; found = 1 } END { if (!found) print "?" }' "/proc/$1/smaps_rollup" 2>/dev/null || echo "?"
}
mib() {
    awk -v k="$1" 'BEGIN { if (k ~ /^[0-9]+$/) printf "%.1f", k / 1024; else printf "?" }'
}

declare -A PID
PID[supervisor]=$CAM_PID
for c in $(bench_children "$CAM_PID"); do
    comm=$(bench_comm "$c")
    case "$comm" in safecam-*) PID[${comm#safecam-}]=$c ;; esac
done

ok=1
echo "idle RSS after $IDLE s — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc --all) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %8s %10s %11s %9s %8s\n' process pid VmRSS_MiB RssAnon_MiB Pss_MiB threads
tot_rss=0
tot_pss=0
for name in supervisor vault web media; do
    p=${PID[$name]:-}
    if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then
        printf '%-22s %8s %10s\n' "safecamd $name" - "not running"
        ok=0
        continue
    fi
    rss=$(status_kib "$p" VmRSS)
    anon=$(status_kib "$p" RssAnon)
    pss=$(pss_kib "$p")
    printf '%-22s %8s %10s %11s %9s %8s\n' "safecamd $name" "$p" "$(mib "$rss")" "$(mib "$anon")" "$(mib "$pss")" \
        "$(status_kib "$p" Threads)"
    [[ "$rss" =~ ^[0-9]+$ ]] && tot_rss=$((tot_rss + rss))
    [[ "$pss" =~ ^[0-9]+$ ]] && tot_pss=$((tot_pss + pss))
done
printf '%-22s %8s %10s %11s %9s\n' "safecamd total" "" "$(mib $tot_rss)" "" "$(mib $tot_pss)"

ngx_rss=0
ngx_pss=0
for p in "$NGX_PID" $(bench_children "$NGX_PID"); do
    role=worker
    [ "$p" = "$NGX_PID" ] && role=master
    rss=$(status_kib "$p" VmRSS)
    pss=$(pss_kib "$p")
    printf '%-22s %8s %10s %11s %9s %8s\n' "nginx $role" "$p" "$(mib "$rss")" "$(mib "$(status_kib "$p" RssAnon)")" \
        "$(mib "$pss")" "$(status_kib "$p" Threads)"
    [[ "$rss" =~ ^[0-9]+$ ]] && ngx_rss=$((ngx_rss + rss))
    [[ "$pss" =~ ^[0-9]+$ ]] && ngx_pss=$((ngx_pss + pss))
done
printf '%-22s %8s %10s %11s %9s\n' "nginx total" "" "$(mib $ngx_rss)" "" "$(mib $ngx_pss)"
[ "$ok" = 1 ] || { tail -20 "$CAM_LOG" >&2; bench_die "not every camera process was running"; }
