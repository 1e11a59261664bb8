#!/bin/sh
# Argon2id verification time for candidate costs and the product cost (results: bench/argon2id.md).
set -eu
BUILD=${SAFECAM_BUILD:-build}
exec "$BUILD/bench/bench_argon2id" "${BENCH_ARGON2_ROUNDS:-10}"
