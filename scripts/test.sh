#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit tests and
# the integration tests (real server, boto3, AWS CLI) under AddressSanitizer
# and UndefinedBehaviorSanitizer, and each libFuzzer target for
# TEGATA_FUZZ_SECONDS (default 30). The last line is "ctest: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

scripts/install-deps.sh

# 1. The build users run (gcc, warnings are errors).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTEGATA_TESTS=ON >/dev/null
cmake --build build -j"$jobs"

# 2. The sanitizer build (clang) that runs every test.
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTEGATA_SANITIZE=ON \
  -DTEGATA_FUZZ=ON -DTEGATA_FUZZ_SECONDS="${TEGATA_FUZZ_SECONDS:-30}" >/dev/null
cmake --build build-asan -j"$jobs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
log=$(mktemp)
set +e
(cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 900) 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
rm -f "$log"
if [ -z "$summary" ]; then
  echo "ctest: 0 passed, 1 failed"
  exit 1
fi
failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
total=$(echo "$summary" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
echo "ctest: $((total - failed)) passed, ${failed} failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
