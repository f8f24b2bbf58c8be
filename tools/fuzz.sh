#!/usr/bin/env bash
# The libFuzzer targets (tests/fuzz): built by tools/sanitized-build.sh (clang,
# ASan+UBSan, coverage instrumentation, build-fuzz/; only the fuzz targets and
# the libraries they need), then each target run for a FIXED NUMBER OF RUNS over
# its checked-in seed corpus and its regression inputs.
#   tools/fuzz.sh              CI: KINEMA_FUZZ_RUNS (default 20000) runs per target
#   tools/fuzz.sh --long       KINEMA_FUZZ_LONG_RUNS (default 5000000) runs per target
#   tools/fuzz.sh TARGET...    only these targets (e.g. fuzz_kube_decode)
# fuzz_journal_rows writes every input into a real SQLite journal (on tmpfs)
# and reads it back as kinemactl does: ~100x slower per run, it gets a tenth
# of the runs.
# New inputs found are kept in build-fuzz/fuzz-work/<target>/ (never in the
# checked-in corpus); a crash leaves its input in build-fuzz/fuzz-crashes/
# and fails the script: reproduce it with build-fuzz/fuzz/<target> <file>,
# fix the code, and add the file to tests/fuzz/regressions/<target>/ plus a
# unit test named after the behaviour.
# Prints per target: runs, seed corpus, corpus at the end, crashes; the same
# table goes to build-fuzz/fuzz-summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${KINEMA_FUZZ_RUNS:-20000}"
JOBS="${KINEMA_JOBS:-2}"
TARGETS=()
for a in "$@"; do
  case "$a" in
    --long) RUNS="${KINEMA_FUZZ_LONG_RUNS:-5000000}" ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown flag $a" >&2; exit 2 ;;
    *) TARGETS+=("$a") ;;
  esac
done

B="${KINEMA_FUZZ_BUILD_DIR:-build-fuzz}"
KINEMA_JOBS="$JOBS" ./tools/sanitized-build.sh fuzzers
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cd tests/fuzz/corpus && ls -d fuzz_* | sort)
fi

mkdir -p "$B/fuzz-work" "$B/fuzz-crashes" "$B/fuzz-logs"
SLOW_TARGETS=" fuzz_journal_rows "
runs_for() {
  if [[ "$SLOW_TARGETS" == *" $1 "* ]]; then echo $((RUNS / 10)); else echo "$RUNS"; fi
}

run_one() {
  local t="$1"
  local dirs=("$B/fuzz-work/$t" "tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
  mkdir -p "$B/fuzz-work/$t"
  # -runs: a fixed amount of work whatever the machine's speed; -timeout and
  # -rss_limit_mb turn a hang or a memory blow-up into a failure too.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$B/fuzz/$t" "${dirs[@]}" -runs="$(runs_for "$t")" -max_len=65536 -timeout=20 -rss_limit_mb=2560 \
    -artifact_prefix="$B/fuzz-crashes/$t-" -print_final_stats=1 >"$B/fuzz-logs/$t.log" 2>&1
}

fail=0
pids=()
names=()
for t in "${TARGETS[@]}"; do
  run_one "$t" & pids+=($!); names+=("$t")
  if [ ${#pids[@]} -ge "$JOBS" ]; then
    wait "${pids[0]}" || fail=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done

summary="$B/fuzz-summary.txt"
printf '%-24s %10s %6s %7s %8s\n' TARGET RUNS SEEDS CORPUS CRASHES >"$summary"
for t in "${TARGETS[@]}"; do
  log="$B/fuzz-logs/$t.log"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  seeds=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
  corpus=$(find "$B/fuzz-work/$t" "tests/fuzz/corpus/$t" -type f | wc -l)
  crashes=$(find "$B/fuzz-crashes" -name "$t-*" -type f | wc -l)
  printf '%-24s %10s %6s %7s %8s\n' "$t" "${runs:-?}" "$seeds" "$corpus" "$crashes" >>"$summary"
  if [ "$crashes" -gt 0 ] || [ -z "$runs" ]; then
    fail=1
    echo "== $t failed; the end of its log ($log):" >&2
    tail -40 "$log" >&2
  fi
done
cat "$summary"
exit "$fail"
