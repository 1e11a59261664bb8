#!/bin/bash
# bench/check_audit.sh — wall time of a full default qcvn-check audit (every TCP port 1-65535 + the UDP
# probes) of safecamd (demo profile, every automated test), with the deliberate waits (failure pacing,
# lockout) reported on their own, beside Debian's `testssl -p -e` (protocols, each cipher: the work SC-02
# does) on the same HTTPS port, as a ratio; then the same for a third-party server, Debian's nginx with an EC
# and an RSA key and its default cipher list (ARIA-GCM included), audited without a profile on 127.0.0.2;
# for each of the two TLS ports, how far SC-02 and testssl agree (versions, suites by IANA id); and
# `nmap --script ssl-enum-ciphers` on the safecamd port for scale.
# Benchmark harness (root, development machine only): everything runs inside a network namespace it creates.
#
# Usage: sudo bench/check_audit.sh            (build dir: $SAFECAM_BUILD, default <repo>/build)
# Environment (optional): BENCH_TESTSSL=0 skips testssl (about 2 x 100 s); BENCH_THIRDPARTY=0 skips nginx;
# BENCH_KEEP_TMP=1 keeps the reports.
# Exit: 0 when the safecamd audit ran and had no mandatory FAIL, 1 otherwise.

# shellcheck source=bench/common.bash
. "$(dirname "$0")/common.bash"
# shellcheck source=bench/check_lib.sh
. "$(dirname "$0")/check_lib.sh"

bench_require_root
bench_require_tools ip curl openssl jq taskset timeout awk
bench_require_build tools/safecam-provision daemon/safecamd tools/qcvn-check
RUN_TESTSSL=${BENCH_TESTSSL:-1}
RUN_THIRDPARTY=${BENCH_THIRDPARTY:-1}
command -v nginx >/dev/null 2>&1 || RUN_THIRDPARTY=0
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
bench_log "qcvn-check full non-destructive audit (default: TCP 1-65535 + UDP probes)"
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

# testssl_time HOST:PORT NAME: `testssl -p -e` on HOST:PORT into $BENCH_TMP/NAME.json; sets TESTSSL_MS.
testssl_time() {
    local t0 t1
    bench_log "testssl -p -e on $1 (about 100 s)"
    t0=$(date +%s%N)
    ns taskset -c "$CLIENT_CPUS" timeout 600 testssl --quiet --color 0 --warnings batch --ip one -p -e \
        --jsonfile "$BENCH_TMP/$2.json" "$1" >"$BENCH_TMP/$2.log" 2>&1 ||
        bench_log "testssl exited non-zero (it reports findings that way; see its JSON)"
    t1=$(date +%s%N)
    TESTSSL_MS=$(((t1 - t0) / 1000000))
    [ -s "$BENCH_TMP/$2.json" ] || { tail -20 "$BENCH_TMP/$2.log" >&2; bench_die "testssl wrote no JSON"; }
}

# (b) testssl alone on the same port, then nmap for scale
TESTSSL_MS=0
[ "$RUN_TESTSSL" = 1 ] && testssl_time 127.0.0.1:8443 testssl
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
            a / t, act / t, "all automated" }'
    check_tls_agreement "$R" 8443 "$BENCH_TMP/testssl.json"
fi
[ -z "$NMAP_MS" ] || awk -v n="$NMAP_MS" 'BEGIN { printf "nmap --script ssl-enum-ciphers on the HTTPS port: %.1f s\n", n / 1000 }'
if [ "$audit_rc" -ne 0 ]; then
    jq -r '.results[] | select(.verdict == "FAIL" or .verdict == "INCONCLUSIVE") | "  \(.id) \(.verdict): \(.reason)"' "$R" >&2
    bench_log "qcvn-check exit $audit_rc"
fi

# (d) a third-party server: Debian's nginx, EC and RSA keys, its default cipher list, no profile
if [ "$RUN_THIRDPARTY" = 1 ]; then
    NG=$BENCH_TMP/nginx-tp
    mkdir -p "$NG/www" "$NG/tmp"
    chmod 0755 "$NG" "$NG/www"
    echo '<!doctype html><title>IP camera</title><p>Live view' >"$NG/www/index.html"
    chmod 0644 "$NG/www/index.html"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=ipcam \
        -keyout "$NG/ec.key" -out "$NG/ec.pem" >/dev/null 2>&1 || bench_die "openssl could not make the EC certificate"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ipcam \
        -keyout "$NG/rsa.key" -out "$NG/rsa.pem" >/dev/null 2>&1 || bench_die "openssl could not make the RSA certificate"
    chmod 0600 "$NG/ec.key" "$NG/rsa.key"
    {
        echo "# Generated by bench/check_audit.sh: a third-party HTTPS device with nginx's default TLS settings."
        echo "daemon off; master_process on; worker_processes 1; pid $NG/nginx.pid; error_log $NG/error.log warn;"
        echo "events { worker_connections 256; }"
        echo "http {"
        echo "  access_log off; client_body_temp_path $NG/tmp/body; proxy_temp_path $NG/tmp/proxy;"
        echo "  fastcgi_temp_path $NG/tmp/fcgi; uwsgi_temp_path $NG/tmp/uwsgi; scgi_temp_path $NG/tmp/scgi;"
        echo "  types { text/html html; } default_type application/octet-stream;"
        echo "  server { listen 127.0.0.2:443 ssl; root $NG/www;"
        echo "    ssl_certificate $NG/ec.pem; ssl_certificate_key $NG/ec.key;"
        echo "    ssl_certificate $NG/rsa.pem; ssl_certificate_key $NG/rsa.key; }"
        echo "}"
    } >"$NG/nginx.conf"
    bench_bg "$NG/stderr.log" nginx -e "$NG/error.log" -p "$NG" -c "$NG/nginx.conf"
    for _ in $(seq 1 100); do ns curl -sk -o /dev/null https://127.0.0.2/ && break; sleep 0.2; done
    bench_log "qcvn-check full default audit of nginx on 127.0.0.2 (no profile)"
    t0=$(date +%s%N)
    ns taskset -c "$CLIENT_CPUS" timeout 600 "$BENCH_BUILD/tools/qcvn-check" --quiet --target 127.0.0.2 \
        --out "$BENCH_TMP/tp" >"$BENCH_TMP/tp.log" 2>&1 || true
    t1=$(date +%s%N)
    TP_MS=$(((t1 - t0) / 1000000))
    TR=$BENCH_TMP/tp/report.json
    [ -f "$TR" ] || { cat "$BENCH_TMP/tp.log" >&2; bench_die "qcvn-check wrote no report for nginx"; }
    jq -r --arg wall "$TP_MS" '
        "nginx (third party) audit wall time: \($wall | tonumber / 1000) s, active \(.timing.active_ms / 1000) s; ports probed \(.target.ports_probed); TLS endpoints: \(.tls_endpoints | keys | join(","))",
        "  verdicts: \(.summary | {PASS, FAIL, INCONCLUSIVE, NOT_APPLICABLE, NEEDS_EVIDENCE} | tostring)"' "$TR"
    if [ "$RUN_TESTSSL" = 1 ]; then
        testssl_time 127.0.0.2:443 testssl-tp
        awk -v a="$TP_MS" -v t="$TESTSSL_MS" 'BEGIN {
            printf "testssl -p -e on nginx: %.1f s; ratio audit/testssl %.2f\n", t / 1000, a / t }'
        check_tls_agreement "$TR" 443 "$BENCH_TMP/testssl-tp.json"
    fi
fi
[ "$audit_rc" = 0 ]
