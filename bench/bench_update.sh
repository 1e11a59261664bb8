#!/bin/sh
# Update bundle verification (200 MB) beside sha256sum, and peak extra RSS of a streamed install.
set -eu
BUILD=${SAFECAM_BUILD:-build}
exec "$BUILD/bench/bench_update" "${BENCH_UPDATE_MIB:-200}" "${TMPDIR:-/tmp}"
