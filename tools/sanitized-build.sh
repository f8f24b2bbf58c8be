#!/usr/bin/env bash
# The one sanitizer build: clang with ASan + UBSan and libFuzzer's coverage
# instrumentation (-DKINEMA_FUZZ=ON) in build-fuzz/, at -O0 -g1: sanitizer
# reports keep file:line, and -O0 compiles a third faster than -O1 (measured
# on three of the heaviest files: 23 s against 34 s of CPU); the fuzz targets
# run a fixed number of inputs, so their slower execution costs seconds.
# The same object files serve the libFuzzer targets (target `fuzzers`,
# tools/fuzz.sh) and the product's unit tests under ASan+UBSan (target
# `tests_sanitized`, tools/test.sh): CI compiles the product with sanitizers
# once, not twice.
#   tools/sanitized-build.sh TARGET...    configure build-fuzz/ and build TARGETs
# KINEMA_FUZZ_BUILD_DIR overrides the folder, KINEMA_JOBS the parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then echo "sanitized-build.sh: name at least one target (fuzzers, tests_sanitized)" >&2; exit 2; fi
B="${KINEMA_FUZZ_BUILD_DIR:-build-fuzz}"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DKINEMA_FUZZ=ON >/dev/null
cmake --build "$B" -j"${KINEMA_JOBS:-2}" --target "$@"
