# bench/check_lib.sh — helpers sourced by bench/check_audit.sh and bench/check_fleet.sh (after
# bench/common.bash): a safecamd camera on a chosen loopback address of the benchmark's own network
# namespace, brought to the state a lab audits (the lab's admin password set, a viewer account), and the
# lab passwords handed to qcvn-check through the environment only.
# Benchmark harness only (root, development machine); never installed on a camera.

# check_lab_passwords: fresh lab passwords in QCVN_ADMIN_PASSWORD / QCVN_USER_PASSWORD (exported for
# qcvn-check's profile *_env keys; never printed, never on a command line).
check_rand() { # 16 random letters and digits (mixed case, so the policy's dictionary check rarely matches)
    openssl rand -base64 24 | tr -d '/+=\n' | tr '0-9' 'QWERTYUPKZ' | cut -c1-16
}
check_lab_passwords() {
    QCVN_ADMIN_PASSWORD="Lb7#$(check_rand)!4a"
    QCVN_USER_PASSWORD="Vw4%$(check_rand)?9r"
    export QCVN_ADMIN_PASSWORD QCVN_USER_PASSWORD
}

# check_wait_https ADDR PORT PID LOG: wait (<= 30 s) until https://ADDR:PORT completes a request in the
# namespace (readiness only: the audit itself decides how the certificate is verified).
check_wait_https() {
    local addr=$1 port=$2 pid=$3 log=$4
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; bench_die "server on $addr:$port exited during start-up"; }
        if ns curl -s -o /dev/null --max-time 2 -k "https://$addr:$port/"; then
            return 0
        fi
        sleep 0.1
    done
    tail -20 "$log" >&2
    bench_die "server on $addr:$port not answering after 30 s"
}

# check_cam_req DIR ADDR OUT JAR_IN JAR_OUT METHOD PATH [BODYFILE [CSRF]]: one API request; prints the status.
check_cam_req() {
    local dir=$1 addr=$2 out=$3 jin=$4 jout=$5 method=$6 path=$7 body=${8:-} csrf=${9:-}
    local args=(-sS --max-time 20 -k -o "$out" -w '%{http_code}' -X "$method")
    [ -n "$jin" ] && args+=(-b "$jin")
    [ -n "$jout" ] && args+=(-c "$jout")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
    [ -n "$csrf" ] && args+=(-H "X-CSRF-Token: $csrf" -H "Origin: https://$addr:8443")
    ns curl "${args[@]}" "https://$addr:8443$path"
}

# check_camera_start ADDR NAME [safecamd options]: provision a camera in $BENCH_TMP/NAME, start safecamd on
# ADDR:8443 (HTTPS) and ADDR:8322 (RTSPS) in the namespace, set the lab's admin password (the forced change
# an installer makes) and add the viewer the demo profile declares. Sets CAM_PID. Uses the lab passwords.
check_camera_start() {
    local addr=$1 name=$2 d st csrf ucsrf
    shift 2
    d=$BENCH_TMP/$name
    # search-only for others: safecamd's children (their own users) must reach the state dir below it; the
    # label and the request bodies with passwords are created 0600 (umask 077 while this function runs)
    mkdir -m 0711 "$d"
    local umask_was
    umask_was=$(umask)
    umask 077
    "$BENCH_BUILD/tools/safecam-provision" --state-dir "$d/state" --label-out "$d/label.json" >"$d/provision.log" 2>&1 ||
        { cat "$d/provision.log" >&2; bench_die "safecam-provision failed"; }
    bench_bg "$d/safecamd.log" "$BENCH_BUILD/daemon/safecamd" --state-dir "$d/state" --bind "$addr" \
        --https-port 8443 --rtsps-port 8322 --ui-dir "$BENCH_TOP/ui" "$@"
    CAM_PID=$BENCH_LAST_PID
    check_wait_https "$addr" 8443 "$CAM_PID" "$d/safecamd.log"
    # bodies carrying passwords: files in the 0700 directory, removed at once
    jq '{username: .admin_user, password: .initial_password}' "$d/label.json" >"$d/b1"
    st=$(check_cam_req "$d" "$addr" "$d/r1" "" "$d/jar1" POST /api/v1/session "$d/b1")
    [ "$st" = 200 ] || { cat "$d/r1" >&2; bench_die "$name: login with the label password: HTTP $st"; }
    csrf=$(jq -r .csrf_token "$d/r1")
    jq --arg n "$QCVN_ADMIN_PASSWORD" '{current_password: .initial_password, new_password: $n}' "$d/label.json" >"$d/b2"
    st=$(check_cam_req "$d" "$addr" "$d/r2" "$d/jar1" "" PUT /api/v1/users/admin/password "$d/b2" "$csrf")
    [ "$st" = 204 ] || { cat "$d/r2" >&2; bench_die "$name: initial password change: HTTP $st"; }
    jq -n --arg p "$QCVN_ADMIN_PASSWORD" '{username: "admin", password: $p}' >"$d/b3"
    st=$(check_cam_req "$d" "$addr" "$d/r3" "" "$d/jar2" POST /api/v1/session "$d/b3")
    [ "$st" = 200 ] || { cat "$d/r3" >&2; bench_die "$name: login with the lab password: HTTP $st"; }
    csrf=$(jq -r .csrf_token "$d/r3")
    local first
    first="Fv9&$(check_rand)#2p"
    jq -n --arg p "$first" '{username: "viewer", password: $p, role: "viewer"}' >"$d/b4"
    st=$(check_cam_req "$d" "$addr" "$d/r4" "$d/jar2" "" POST /api/v1/users "$d/b4" "$csrf")
    case "$st" in 200 | 201 | 204) ;; *) cat "$d/r4" >&2; bench_die "$name: add viewer: HTTP $st" ;; esac
    jq -n --arg p "$first" '{username: "viewer", password: $p}' >"$d/b5"
    st=$(check_cam_req "$d" "$addr" "$d/r5" "" "$d/jar3" POST /api/v1/session "$d/b5")
    [ "$st" = 200 ] || { cat "$d/r5" >&2; bench_die "$name: viewer login: HTTP $st"; }
    ucsrf=$(jq -r .csrf_token "$d/r5")
    jq -n --arg c "$first" --arg n "$QCVN_USER_PASSWORD" '{current_password: $c, new_password: $n}' >"$d/b6"
    st=$(check_cam_req "$d" "$addr" "$d/r6" "$d/jar3" "" PUT /api/v1/users/viewer/password "$d/b6" "$ucsrf")
    [ "$st" = 204 ] || { cat "$d/r6" >&2; bench_die "$name: viewer password change: HTTP $st"; }
    unset first
    rm -f "$d"/b[0-9] "$d"/r[0-9] "$d"/jar[0-9]
    umask "$umask_was"
}

# check_machine_line: one line describing the machine and its load.
check_machine_line() {
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc --all) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# check_tls_agreement REPORT PORT TESTSSL_JSON: one line comparing qcvn-check's SC-02 facts for PORT in
# REPORT with testssl's `-p -e` JSON of the same port: protocol versions, and the accepted suites by IANA id
# (testssl -e lists them without their version; the union over the versions is compared).
check_tls_agreement() {
    jq -r --slurpfile t "$3" --arg p "$2" '
        .tls_endpoints[$p] as $f
        | {"TLS1": "TLS1.0", "TLS1_1": "TLS1.1", "TLS1_2": "TLS1.2", "TLS1_3": "TLS1.3"} as $vn
        | [$t[0][] | select($vn[.id] != null) | {v: $vn[.id], offered: (.finding | startswith("offered"))}] as $tv
        | [$tv[] | select(($f.versions[.v] == true) == .offered)] as $same
        | ([$f.suites[].id | ascii_upcase | sub("^0X"; "0x")] | unique) as $ours
        | ([$t[0][] | select(.id | test("^cipher_x[0-9a-f]+$")) | .id | sub("cipher_x"; "")
            | ("0x" + (("0000" + ascii_upcase)[-4:]))] | unique) as $theirs
        | "tcp/\($p): versions agree \($same | length)/\($tv | length); suites qcvn-check \($ours | length), testssl \($theirs | length), both \([$ours[] | select(. as $x | $theirs | index($x))] | length)"
          + " (only qcvn-check: \($ours - $theirs | join(" ")), only testssl: \($theirs - $ours | join(" ")))"
          + "; \([$f.suites[] | select(.probe == "raw ClientHello")] | length) by raw ClientHello"
    ' "$1"
}
