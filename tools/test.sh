#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine:
#   1. install the Debian packages (tools/install-deps.sh, idempotent)
#   2. Release build of everything (build/), ctest with every label
#   3. libFuzzer targets (tools/fuzz.sh: clang build in build-fuzz/, each
#      target run for a fixed number of runs over its seed corpus)
#   4. ASan+UBSan build (build-asan/) of the product's unit tests (tests_sanitized)
# Flags: --long  the long kill -9 campaigns (sample: 2000 kills instead of 240;
#                the real controller on the simulator: 100 instead of 20; the
#                landing convergence with the default 10% node budget; the
#                landing kill campaign: up to 12 kills in each of 4 budgeted iterations;
#                load-rebalancing on the VM cluster: 40 instead of 8) and
#                long fuzzing (5,000,000 runs per target instead of 20,000)
#        --no-sanitizers  skip step 4 (local iteration only; CI runs it)
#        --no-fuzz        skip step 3 (local iteration only; CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."

LONG=0
SANITIZERS=1
FUZZ=1
for a in "$@"; do
  case "$a" in
    --long) LONG=1 ;;
    --no-sanitizers) SANITIZERS=0 ;;
    --no-fuzz) FUZZ=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown flag $a" >&2; exit 2 ;;
  esac
done

JOBS="${KINEMA_JOBS:-2}"
./tools/install-deps.sh

echo "== Release build ($(date -u +%T))"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"

if [ "$LONG" = 1 ]; then export KINEMA_CRASH_KILLS=2000 KINEMA_E2E_KILLS=100 KINEMA_LANDING_BUDGET=default KINEMA_LANDING_KILLS=12 KINEMA_LANDING_KILL_ITERATIONS=4 KINEMA_E2E_GKE_KILLS=40 KINEMA_E2E_REBALANCE_KILLS=40; fi
echo "== Tests (all labels) ($(date -u +%T))"
ctest --test-dir build --output-on-failure -j"$JOBS"

if [ "$FUZZ" = 1 ]; then
  echo "== Fuzzing (libFuzzer, ASan+UBSan) ($(date -u +%T))"
  if [ "$LONG" = 1 ]; then ./tools/fuzz.sh --long; else ./tools/fuzz.sh; fi
fi

if [ "$SANITIZERS" = 1 ]; then
  echo "== ASan+UBSan build, unit tests ($(date -u +%T))"
  # -g1: line tables only (sanitizer reports keep file:line), a third less
  # build time than full debug info.
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DKINEMA_SANITIZE=ON >/dev/null
  # The product's unit tests (CMakeLists.txt: tests_sanitized; the simulator's
  # unit tests are left out to keep CI under 30 minutes).
  cmake --build build-asan -j"$JOBS" --target tests_sanitized
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L unit -E '^sim_' --output-on-failure -j"$JOBS"
fi
echo "== Done ($(date -u +%T))"
