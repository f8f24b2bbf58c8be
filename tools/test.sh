#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine:
#   1. install the Debian packages (tools/install-deps.sh, idempotent)
#   2. Release build (build/) of the programs and the tests not in step 5;
#      ctest: the unit tests one per core, then the integration, crash and
#      conformance tests two per core
#   3. one clang ASan+UBSan build (tools/sanitized-build.sh, build-fuzz/) of
#      the libFuzzer targets and the product's unit tests (tests_sanitized):
#      the product is compiled with sanitizers once for both
#   4. the libFuzzer targets (tools/fuzz.sh), each run for a fixed number of
#      runs over its seed corpus
#   5. the product's unit tests under ASan+UBSan, from the same build (their
#      only run: the Release build does not compile them)
# Flags: --long  the long kill -9 campaigns (sample: 2000 kills instead of 240;
#                the real controller on the simulator: 100 instead of 20; the
#                landing convergence with the default 10% node budget; the
#                landing kill campaign: up to 12 kills in each of 4 budgeted iterations;
#                load-rebalancing on the VM cluster: 40 instead of 8) and
#                long fuzzing (5,000,000 runs per target instead of 20,000)
#        --no-sanitizers  no steps 3 and 5 for the unit tests: they run in the
#                         Release build instead (local iteration only)
#        --no-fuzz        skip step 4 (local iteration only; CI runs it)
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
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown flag $a" >&2; exit 2 ;;
  esac
done

JOBS="${KINEMA_JOBS:-2}"
./tools/install-deps.sh

# The product's unit tests run once, under ASan+UBSan (step 5): the Release
# build compiles the programs and every other test, not those (with
# --no-sanitizers it compiles and runs them too).
RELEASE_TARGETS=(programs tests_unsanitized tests_integration tests_crash tests_conformance)
[ "$SANITIZERS" = 1 ] || RELEASE_TARGETS+=(tests_sanitized)
echo "== Release build: ${RELEASE_TARGETS[*]} ($(date -u +%T))"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS" --target "${RELEASE_TARGETS[@]}"

if [ "$LONG" = 1 ]; then export KINEMA_CRASH_KILLS=2000 KINEMA_E2E_KILLS=100 KINEMA_LANDING_BUDGET=default KINEMA_LANDING_KILLS=12 KINEMA_LANDING_KILL_ITERATIONS=4 KINEMA_E2E_GKE_KILLS=40 KINEMA_E2E_REBALANCE_KILLS=40; fi
# Every test in exactly one of the passes below.
count_tests() { ctest --test-dir build -N "$@" | grep -c 'Test *#' || true; }
passes=$(( $(count_tests -L '^unit$') + $(count_tests -L '^(integration|crash|conformance)$') ))
if [ "$passes" != "$(count_tests)" ]; then
  echo "test.sh: $(( $(count_tests) - passes )) test(s) carry none of the labels unit, integration, crash, conformance (or two)" >&2
  exit 1
fi
# The unit tests are CPU-bound: one per core. The integration, crash and
# conformance tests spend ~95 % of their wall time waiting on real processes
# (kinema-sim, Prometheus, the controller, kubectl; measured: 24 s of CPU in
# 416 s of wall for spot_e2e + rebalance_e2e), so twice as many run at once.
UNIT_ARGS=(-L '^unit$')
UNIT_WHAT="all unit tests"
if [ "$SANITIZERS" = 1 ]; then UNIT_ARGS+=(-R '^sim_'); UNIT_WHAT="the simulator unit tests"; fi
echo "== Tests: $UNIT_WHAT ($(date -u +%T))"
ctest --test-dir build --output-on-failure "${UNIT_ARGS[@]}" -j"$JOBS"
echo "== Tests: integration, crash, conformance ($(date -u +%T))"
ctest --test-dir build --output-on-failure -L '^(integration|crash|conformance)$' -j"$((JOBS * 2))"

SAN_TARGETS=()
[ "$FUZZ" = 1 ] && SAN_TARGETS+=(fuzzers)
[ "$SANITIZERS" = 1 ] && SAN_TARGETS+=(tests_sanitized)
if [ ${#SAN_TARGETS[@]} -gt 0 ]; then
  echo "== ASan+UBSan clang build: ${SAN_TARGETS[*]} ($(date -u +%T))"
  KINEMA_JOBS="$JOBS" ./tools/sanitized-build.sh "${SAN_TARGETS[@]}"
fi

if [ "$FUZZ" = 1 ]; then
  echo "== Fuzzing (libFuzzer, ASan+UBSan) ($(date -u +%T))"
  if [ "$LONG" = 1 ]; then ./tools/fuzz.sh --long; else ./tools/fuzz.sh; fi
fi

if [ "$SANITIZERS" = 1 ]; then
  echo "== Unit tests under ASan+UBSan ($(date -u +%T))"
  # The product's unit tests (CMakeLists.txt: tests_sanitized; the simulator's
  # unit tests are left out: test tooling, see there).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "${KINEMA_FUZZ_BUILD_DIR:-build-fuzz}" -L unit -E '^sim_' --output-on-failure -j"$JOBS"
fi
echo "== Done ($(date -u +%T))"
