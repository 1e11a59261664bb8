#!/bin/bash
# bench/check_audit.sh — wall time of a full non-destructive qcvn-check audit of safecamd (demo profile,
# common camera ports + UDP probes, every automated test), with the deliberate waits (failure pacing,
# lockout) reported on their own, beside Debian's `testssl` alone on the same HTTPS port, as a ratio; and
# `nmap --script ssl-enum-ciphers` on that port for scale.
# Benchmark harness (root, development machine only): everything runs inside a network namespace it creates.
#
# Usage: sudo bench/check_audit.sh            (build dir: $SAFECAM_BUILD, default <repo>/build)
# Environment (optional): BENCH_TESTSSL=0 skips testssl (its ~70 s); BENCH_KEEP_TMP=1 keeps the reports.
# Exit: 0 when the audit ran and had no mandatory FAIL, 1 otherwise.

# shellcheck source=bench/common.bash
. "$(dirname "$0")/common.bash"
# shellcheck source=bench/check_lib.sh
. "$(dirname "$0")/check_lib.sh"

bench_require_root
bench_require_tools ip curl openssl jq taskset timeout awk
bench_require_build tools/safecam-provision daemon/safecamd tools/qcvn-check
RUN_TESTSSL=${BENCH_TESTSSL:-1}
if [ "$RUN_TESTSSL" = 1 ] && ! command -v testssl >/dev/null 2>&1; then
    bench_log "testssl not found (Debian: apt-get install testssl.sh); measuring the audit alone"
    RUN_TESTSSL=0
fi
PROFILE=$BENCH_TOP/data/check/profiles/safecamd-demo.json
CLIENT_CPUS=$(bench_client_cpus)

bench_setup
check_lab_passwords
bench_log "provisioning and starting safecamd in namespace $BENCH_NS (lab admin password set, viewer added)"
check_camera_start 127.0.0.1 cam
# the label's password too (PW-02 judges it; it no longer logs in after the installer's change)
QCVN_INITIAL_PASSWORD=$(jq -r .initial_password "$BENCH_TMP/cam/label.json")
export QCVN_INITIAL_PASSWORD

# (a) the audit: what a lab runs against a delivered camera (PW-03 needs a unit in factory state: skipped,
# the bench camera was set up like an installed one)
OUT=$BENCH_TMP/audit
bench_log "qcvn-check full non-destructive audit (common ports + UDP probes)"
t0=$(date +%s%N)
set +e
ns taskset -c "$CLIENT_CPUS" timeout 600 "$BENCH_BUILD/tools/qcvn-check" --quiet --target 127.0.0.1 \
    --profile "$PROFILE" --https-port 8443 --rtsps-port 8322 --udp --skip PW-03 --out "$OUT" \
    --format json,html,sarif,junit >"$BENCH_TMP/audit.log" 2>&1
audit_rc=$?
set -e
t1=$(date +%s%N)
AUDIT_MS=$(((t1 - t0) / 1000000))
[ -f "$OUT/report.json" ] || { cat "$BENCH_TMP/audit.log" >&2; bench_die "qcvn-check wrote no report (exit $audit_rc)"; }
kill -0 "$CAM_PID" 2>/dev/null || bench_die "safecamd died during the audit"

# (b) testssl alone on the same port (its default checks), then nmap for scale
TESTSSL_MS=0
if [ "$RUN_TESTSSL" = 1 ]; then
    bench_log "testssl on 127.0.0.1:8443 (default checks; about a minute)"
    t0=$(date +%s%N)
    ns taskset -c "$CLIENT_CPUS" timeout 600 testssl --quiet --color 0 --warnings batch --ip one \
        --jsonfile "$BENCH_TMP/testssl.json" 127.0.0.1:8443 >"$BENCH_TMP/testssl.log" 2>&1 ||
        bench_log "testssl exited non-zero (it reports findings that way; see its JSON)"
    t1=$(date +%s%N)
    TESTSSL_MS=$(((t1 - t0) / 1000000))
    [ -s "$BENCH_TMP/testssl.json" ] || { tail -20 "$BENCH_TMP/testssl.log" >&2; bench_die "testssl wrote no JSON"; }
fi
NMAP_MS=""
if command -v nmap >/dev/null 2>&1; then
    t0=$(date +%s%N)
    ns taskset -c "$CLIENT_CPUS" timeout 120 nmap -Pn -n -p 8443 --script ssl-enum-ciphers 127.0.0.1 >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    NMAP_MS=$(((t1 - t0) / 1000000))
fi

# (c) report
R=$OUT/report.json
echo "qcvn-check audit of safecamd — $(check_machine_line)"
jq -r --arg wall "$AUDIT_MS" '
    "audit wall time: \($wall | tonumber / 1000) s (qcvn-check total \(.timing.total_ms / 1000) s)",
    "  active (requests, handshakes, scans): \(.timing.active_ms / 1000) s",
    "  failure pacing wait (lockout budget): \(.timing.pacing_wait_ms / 1000) s",
    "  lockout wait: \(.timing.lockout_wait_ms / 1000) s (duration not measured without --measure-lockout)",
    "  other waits (--delay, idle timeout): \(.timing.other_wait_ms / 1000) s",
    "verdicts: \(.summary | {PASS, FAIL, INCONCLUSIVE, NOT_APPLICABLE, NEEDS_EVIDENCE, mandatory_fail} | tostring)",
    "ports probed: \(.target.ports_probed) TCP + UDP probes \(.target.udp); TLS endpoints: \(.tls_endpoints | keys | join(","))",
    "slowest tests: \([.results | sort_by(-.duration_ms)[:5][] | "\(.id) \(.duration_ms / 1000)s"] | join(", "))"
' "$R"
if [ "$RUN_TESTSSL" = 1 ]; then
    awk -v a="$AUDIT_MS" -v t="$TESTSSL_MS" -v act="$(jq .timing.active_ms "$R")" 'BEGIN {
        printf "testssl alone on the HTTPS port: %.1f s\n", t / 1000
        printf "ratio audit/testssl: %.2f wall, %.2f active (the audit covers %s tests, testssl one TLS port)\n",
            a / t, act / t, "every automated" }'
fi
[ -z "$NMAP_MS" ] || awk -v n="$NMAP_MS" 'BEGIN { printf "nmap --script ssl-enum-ciphers on the HTTPS port: %.1f s\n", n / 1000 }'
if [ "$audit_rc" -ne 0 ]; then
    jq -r '.results[] | select(.verdict == "FAIL" or .verdict == "INCONCLUSIVE") | "  \(.id) \(.verdict): \(.reason)"' "$R" >&2
    bench_log "qcvn-check exit $audit_rc"
fi
[ "$audit_rc" = 0 ]
