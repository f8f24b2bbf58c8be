#!/usr/bin/env bash
# The durable engine alone (the main job is tools/demo.sh): it runs the sample
# ledger workflow through the real durable engine: builds, runs three
# workflows (one step fails once and is retried), kills the controller with
# SIGKILL between a step's intent and its effect, restarts it (the step is
# reconciled, not re-run), then shows the journal with kinemactl.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${KINEMA_JOBS:-2}" --target kinema-sample kinemactl

OUT="${KINEMA_DEMO_DIR:-out/sample-demo}"
rm -rf "$OUT" && mkdir -p "$OUT"
DB="$OUT/kinema.db"
echo "== run 1: the controller is killed (SIGKILL) right after journaling the 5th step intent"
./build/bin/kinema-sample --db "$DB" --ledger "$OUT/ledger" --workflows 3 --flaky --crash-at after_intent:5 || true
echo "== run 2: restart; unfinished workflows resume, the interrupted step is reconciled"
./build/bin/kinema-sample --db "$DB" --ledger "$OUT/ledger" --workflows 3 --flaky
echo "== kinemactl list"
./build/bin/kinemactl --db "$DB" list
echo "== kinemactl show sample-0001"
./build/bin/kinemactl --db "$DB" show sample-0001
echo "== kinemactl verify"
./build/bin/kinemactl --db "$DB" verify
echo "== the ledger (each side effect exactly once)"
cat "$OUT/ledger"
