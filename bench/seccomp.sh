#!/bin/bash
# bench/seccomp.sh — what the seccomp allowlists cost: the media process's CPU streaming to 4 RTSPS viewers,
# whole camera of the product build beside the same tree built with -Dseccomp=false (build-noseccomp, made
# here when missing), alternating rounds, median ratio. Benchmark harness (root, development machine only):
# everything runs inside a network namespace it creates.
#
# Usage: sudo bench/seccomp.sh   (product build dir: $SAFECAM_BUILD, default <repo>/build)
# Environment: BENCH_VIEWERS=4, BENCH_ROUNDS=3, BENCH_MEASURE_SECS=10, BENCH_WARM_SECS=3.

# shellcheck source=bench/common.bash
. "$(dirname "$0")/common.bash"

bench_require_root
bench_require_tools ip taskset meson ninja /usr/bin/python3
bench_require_build daemon/safecamd tools/safecam-provision
NOFILTER=$BENCH_TOP/build-noseccomp
if [ ! -f "$NOFILTER/build.ninja" ]; then
    meson setup --wrap-mode=nodownload -Dseccomp=false "$NOFILTER" >/dev/null || bench_die "meson setup $NOFILTER failed"
fi
ninja -C "$NOFILTER" >/dev/null || bench_die "ninja -C $NOFILTER failed"
bench_setup
"$BENCH_TOP/scripts/create-users" >/dev/null

bench_log "running in namespace $BENCH_NS (servers on CPUs $(bench_cpus), viewers on $(bench_client_cpus))"
BENCH_TMP="$BENCH_TMP" BENCH_CPUS=$(bench_cpus) BENCH_BUILD_FILTER="$BENCH_BUILD" BENCH_BUILD_NOFILTER="$NOFILTER" \
    taskset -c "$(bench_client_cpus)" ip netns exec "$BENCH_NS" /usr/bin/python3 "$BENCH_TOP/bench/seccomp.py"
