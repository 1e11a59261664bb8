# bench/common.bash — helpers sourced by the bench/*.sh scripts: root and tool checks, a private network
# namespace with guaranteed clean-up, provisioning and starting safecamd, and the nginx peer.
# Benchmark harness only (runs as root on a development machine); never installed on a camera.
#
# Every process the scripts start runs inside the namespace "safecam-bench-<pid>" that the script creates,
# so all traffic stays on that namespace's loopback; on exit (normal, error or signal) the processes are
# stopped by pid, the namespace is deleted and the temporary directory (which holds a throw-away device's
# keys) is removed.

set -euo pipefail

BENCH_NAME=$(basename "$0")
BENCH_TOP=$(cd "$(dirname "$0")/.." && pwd)
BENCH_BUILD=${SAFECAM_BUILD:-$BENCH_TOP/build}
BENCH_NS=""
BENCH_TMP=""
BENCH_PIDS=()

bench_die() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}

bench_log() {
    echo "[$BENCH_NAME] $*" >&2
}

# bench_require_root: network namespaces need CAP_SYS_ADMIN.
bench_require_root() {
    [ "$(id -u)" -eq 0 ] || bench_die "must run as root (it creates a network namespace with 'ip netns add'); try: sudo $0"
}

# bench_require_tools TOOL...: each must be on PATH.
bench_require_tools() {
    local t missing=()
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    [ ${#missing[@]} -eq 0 ] ||
        bench_die "missing tools: ${missing[*]} (Debian: apt-get install iproute2 nginx-light wrk curl openssl jq util-linux)"
}

# bench_require_build BIN...: paths relative to the build dir.
bench_require_build() {
    local b
    for b in "$@"; do
        [ -x "$BENCH_BUILD/$b" ] || bench_die "$BENCH_BUILD/$b not built (set SAFECAM_BUILD or run 'make build')"
    done
}

# bench_cpus: the CPU list both servers are pinned to (same core budget for safecamd and nginx): by default
# every CPU but CPU 0, which is left to the load generator (all CPUs on a one-CPU machine).
bench_cpus() {
    local n
    n=$(nproc --all)
    if [ -n "${BENCH_CPUS:-}" ]; then
        echo "$BENCH_CPUS"
    elif [ "$n" -ge 2 ]; then
        if [ "$n" -eq 2 ]; then echo 1; else echo "1-$((n - 1))"; fi
    else
        echo 0
    fi
}

# bench_client_cpus: the CPU list the load generator is pinned to (default CPU 0).
bench_client_cpus() {
    echo "${BENCH_CLIENT_CPUS:-0}"
}

# bench_cpu_count LIST: how many CPUs LIST names.
bench_cpu_count() {
    taskset -c "$1" nproc
}

bench_cleanup() {
    local rc=$? pid i
    trap - EXIT INT TERM
    for pid in "${BENCH_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${BENCH_PIDS[@]}"; do
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$BENCH_NS" ] && ip netns list | grep -qw "^$BENCH_NS"; then
        # Anything still in our own namespace (a child of a server we started) is ours: stop it by pid.
        for pid in $(ip netns pids "$BENCH_NS" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$BENCH_NS" 2>/dev/null || bench_log "warning: could not delete namespace $BENCH_NS"
    fi
    if [ -n "$BENCH_TMP" ] && [ -d "$BENCH_TMP" ]; then
        if [ -n "${BENCH_KEEP_TMP:-}" ]; then
            bench_log "kept $BENCH_TMP"
        else
            rm -rf "$BENCH_TMP"
        fi
    fi
    exit "$rc"
}

# bench_setup: temp dir + namespace with loopback up; installs the clean-up trap.
bench_setup() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    BENCH_TMP=$(mktemp -d /tmp/safecam-bench.XXXXXX)
    chmod 0711 "$BENCH_TMP" # nginx workers (unprivileged) must traverse to their docroot; nothing else is readable
    BENCH_NS="safecam-bench-$$"
    ip netns add "$BENCH_NS" || bench_die "ip netns add $BENCH_NS failed"
    ip -n "$BENCH_NS" link set lo up || bench_die "cannot bring lo up in $BENCH_NS"
}

# ns CMD...: run CMD inside the namespace.
ns() {
    ip netns exec "$BENCH_NS" "$@"
}

# bench_bg LOGFILE CMD...: start CMD in the namespace, pinned to the server CPU budget, in the background;
# sets BENCH_LAST_PID (taskset and ip netns exec both exec, so the pid is CMD's own).
bench_bg() {
    local log=$1
    shift
    taskset -c "$(bench_cpus)" ip netns exec "$BENCH_NS" "$@" >"$log" 2>&1 &
    BENCH_LAST_PID=$!
    BENCH_PIDS+=("$BENCH_LAST_PID")
}

# bench_wait_https PORT PID LOG [CACERT]: wait (<= 20 s) until https://127.0.0.1:PORT answers in the namespace.
bench_wait_https() {
    local port=$1 pid=$2 log=$3 ca=${4:-} tls
    if [ -n "$ca" ]; then tls=(--cacert "$ca"); else tls=(-k); fi
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; bench_die "server on port $port exited during start-up"; }
        if ns curl -s -o /dev/null --max-time 2 "${tls[@]}" "https://127.0.0.1:$port/"; then
            return 0
        fi
        sleep 0.1
    done
    tail -20 "$log" >&2
    bench_die "server on port $port not answering after 20 s"
}

# bench_camera_start [safecamd options...]: provision a camera in $BENCH_TMP/cam and start safecamd in the
# namespace on 127.0.0.1:8443 (HTTPS) and :8322 (RTSPS). Sets CAM_PID, CAM_STATE, CAM_LABEL, CAM_CACERT, CAM_LOG.
bench_camera_start() {
    local cam=$BENCH_TMP/cam
    mkdir -m 0711 "$cam" # the camera's per-process users (when run as root) must reach its state dir
    CAM_STATE=$cam/state
    CAM_LABEL=$cam/label.json
    CAM_LOG=$cam/safecamd.log
    CAM_CACERT=$CAM_STATE/factory/tls.crt
    "$BENCH_BUILD/tools/safecam-provision" --state-dir "$CAM_STATE" --label-out "$CAM_LABEL" >"$cam/provision.log" 2>&1 ||
        { cat "$cam/provision.log" >&2; bench_die "safecam-provision failed"; }
    bench_bg "$CAM_LOG" "$BENCH_BUILD/daemon/safecamd" --state-dir "$CAM_STATE" --bind 127.0.0.1 \
        --https-port 8443 --rtsps-port 8322 "$@"
    CAM_PID=$BENCH_LAST_PID
    bench_wait_https 8443 "$CAM_PID" "$CAM_LOG" "$CAM_CACERT"
}

# bench_cam_curl OUTFILE CURL-ARGS...: one request to the camera; prints the HTTP status.
bench_cam_curl() {
    local out=$1
    shift
    ns curl -sS --max-time 20 --cacert "$CAM_CACERT" -o "$out" -w '%{http_code}' "$@"
}

# bench_camera_admin_session: log in with the label's password, change it (the forced change), log in again.
# Sets CAM_COOKIE to "safecam_session=<id>". No password is printed or put on a command line.
bench_camera_admin_session() {
    local d=$BENCH_TMP/cam st user newpw csrf
    user=$(jq -r .admin_user "$CAM_LABEL")
    jq '{username: .admin_user, password: .initial_password}' "$CAM_LABEL" >"$d/login1.json"
    st=$(bench_cam_curl "$d/r1.json" -c "$d/jar1" -H 'Content-Type: application/json' \
        --data-binary "@$d/login1.json" https://127.0.0.1:8443/api/v1/session)
    [ "$st" = 200 ] || { cat "$d/r1.json" >&2; bench_die "login with the label password: HTTP $st"; }
    csrf=$(jq -r .csrf_token "$d/r1.json")
    newpw="Qz7#$(openssl rand -hex 9)!9a"
    jq --arg n "$newpw" '{current_password: .initial_password, new_password: $n}' "$CAM_LABEL" >"$d/chpw.json"
    st=$(bench_cam_curl "$d/r2.json" -b "$d/jar1" -X PUT -H 'Content-Type: application/json' \
        -H "X-CSRF-Token: $csrf" -H 'Origin: https://127.0.0.1:8443' \
        --data-binary "@$d/chpw.json" "https://127.0.0.1:8443/api/v1/users/$user/password")
    [ "$st" = 204 ] || { cat "$d/r2.json" >&2; bench_die "initial password change: HTTP $st"; }
    jq -n --arg u "$user" --arg p "$newpw" '{username: $u, password: $p}' >"$d/login2.json"
    unset newpw
    st=$(bench_cam_curl "$d/r3.json" -c "$d/jar2" -H 'Content-Type: application/json' \
        --data-binary "@$d/login2.json" https://127.0.0.1:8443/api/v1/session)
    [ "$st" = 200 ] || { cat "$d/r3.json" >&2; bench_die "login with the new password: HTTP $st"; }
    rm -f "$d/login1.json" "$d/login2.json" "$d/chpw.json"
    local sid
    sid=$(awk '$6 == "safecam_session" { print $7 }' "$d/jar2")
    [ -n "$sid" ] || bench_die "no safecam_session cookie after login"
    CAM_COOKIE="safecam_session=$sid"
}

# bench_nginx_start BODYFILE: Debian's nginx in the namespace on 127.0.0.1:9443, TLS 1.2/1.3, ECDSA P-256
# certificate made now, one worker per CPU of the budget, keep-alive, serving BODYFILE as /device.json with
# the same security headers safecamd sends. Sets NGX_PID (master), NGX_DIR, NGX_LOG.
bench_nginx_start() {
    local body=$1 workers
    NGX_DIR=$BENCH_TMP/nginx
    mkdir -p "$NGX_DIR/www" "$NGX_DIR/tmp"
    chmod 0755 "$NGX_DIR" "$NGX_DIR/www"
    cp "$body" "$NGX_DIR/www/device.json"
    chmod 0644 "$NGX_DIR/www/device.json"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' -keyout "$NGX_DIR/key.pem" -out "$NGX_DIR/cert.pem" \
        >/dev/null 2>&1 || bench_die "openssl could not make the nginx certificate"
    chmod 0600 "$NGX_DIR/key.pem"
    workers=$(bench_cpu_count "$(bench_cpus)")
    cat >"$NGX_DIR/nginx.conf" <<EOF
# Generated by bench/common.bash: the peer server for the safecamd benchmarks.
daemon off;
master_process on;
worker_processes $workers;
pid $NGX_DIR/nginx.pid;
error_log $NGX_DIR/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    server_tokens off;
    sendfile on;
    keepalive_timeout 65;
    keepalive_requests 10000000;
    client_body_temp_path $NGX_DIR/tmp/body;
    proxy_temp_path $NGX_DIR/tmp/proxy;
    fastcgi_temp_path $NGX_DIR/tmp/fastcgi;
    uwsgi_temp_path $NGX_DIR/tmp/uwsgi;
    scgi_temp_path $NGX_DIR/tmp/scgi;
    types { application/json json; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:9443 ssl;
        ssl_certificate $NGX_DIR/cert.pem;
        ssl_certificate_key $NGX_DIR/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        root $NGX_DIR/www;
        location = /device.json {
            add_header Cache-Control "no-store" always;
            add_header Strict-Transport-Security "max-age=31536000" always;
            add_header Content-Security-Policy "default-src 'self'" always;
            add_header X-Frame-Options "DENY" always;
            add_header X-Content-Type-Options "nosniff" always;
            add_header Referrer-Policy "no-referrer" always;
        }
        location / { return 404; }
    }
}
EOF
    NGX_LOG=$NGX_DIR/stderr.log
    bench_bg "$NGX_LOG" nginx -e "$NGX_DIR/error.log" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf"
    NGX_PID=$BENCH_LAST_PID
    bench_wait_https 9443 "$NGX_PID" "$NGX_LOG"
}

# bench_rss_kib PID: VmRSS of PID in KiB (from /proc/PID/status).
bench_rss_kib() {
    awk '/^VmRSS:/ { print $2; found = 1 } END { if (!found) print "?" }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# bench_children PPID: pids whose parent is PPID.
bench_children() {
    local p
    for p in /proc/[0-9]*; do
        [ -r "$p/stat" ] || continue
        awk -v want="$1" -v pid="${p#/proc/}" '{ sub(/^.*\) /, ""); if ($2 == want) print pid }' "$p/stat" 2>/dev/null || true
    done
}

# bench_comm PID: the process name.
bench_comm() {
    cat "/proc/$1/comm" 2>/dev/null || echo "?"
}
