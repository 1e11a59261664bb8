#!/bin/bash
# bench/media_rtsps.sh — safecam-media (product defaults: main + sub stream, encoders on demand) vs a bare
# gst-rtsp-server doing the same work (bench_rtsps_bare: same two streams, same x264 settings, TLS, media built
# for the first viewer): CPU, CPU ratio, frames per viewer per second and RSS per viewer at 0, 1, 4, 16 and 32
# RTSPS viewers (a row whose viewers failed prints FAILED); a matching file passed through vs
# `filesrc ! qtdemux ! h264parse ! rtph264pay` (goal CPU <= 2x); time from DESCRIBE to the first complete
# keyframe; live-view fMP4 latency from the test pattern's timecode. Benchmark harness (root, development
# machine only): everything runs inside a network namespace it creates. Servers are pinned to $BENCH_CPUS,
# the viewers (python threads) to $BENCH_CLIENT_CPUS.
#
# Usage: sudo bench/media_rtsps.sh   (build dir: $SAFECAM_BUILD, default <repo>/build)
# Environment: BENCH_MEASURE_SECS=10, BENCH_WARM_SECS=3.
# Exit: 0 when no row failed, the pass-through CPU ratio meets its goal and RSS per extra viewer is <= 1 MiB,
# 1 otherwise.

# shellcheck source=bench/common.bash
. "$(dirname "$0")/common.bash"

bench_require_root
bench_require_tools ip taskset openssl ffmpeg /usr/bin/python3
bench_require_build daemon/safecam-media bench/bench_rtsps_bare
bench_setup

bench_log "running in namespace $BENCH_NS (servers on CPUs $(bench_cpus), viewers on $(bench_client_cpus))"
BENCH_CPUS=$(bench_cpus) BENCH_CLIENT_CPUS=$(bench_client_cpus) SAFECAM_BUILD="$BENCH_BUILD" \
    ip netns exec "$BENCH_NS" /usr/bin/python3 "$BENCH_TOP/bench/media_rtsps.py"
