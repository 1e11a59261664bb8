#!/bin/bash
# bench/link_recovery.sh — time from a linked service's (MQTT broker's) return to the first delivered event,
# beside the back-off bound (bench/link_recovery.py). Benchmark harness (root, development machine only):
# runs inside a network namespace it creates, loopback only.
#
# Usage: sudo bench/link_recovery.sh   (build dir: $SAFECAM_BUILD, default <repo>/build)
# Environment: BENCH_ROUNDS=6, BENCH_OUTAGE_S=10.
# Exit: 0 when every recovery stayed within the cap (5 s) plus 2 s for one connection, 1 otherwise.

# shellcheck source=bench/common.bash
. "$(dirname "$0")/common.bash"

bench_require_root
bench_require_tools ip mosquitto mosquitto_passwd openssl /usr/bin/python3
bench_require_build daemon/safecam-link
bench_setup

bench_log "running in namespace $BENCH_NS"
SAFECAM_BUILD="$BENCH_BUILD" ip netns exec "$BENCH_NS" /usr/bin/python3 "$BENCH_TOP/bench/link_recovery.py"
