#!/usr/bin/env bash
# The main job: Kinema on a simulated over-provisioned cluster.
#   1. installs the Debian packages and builds (Release)
#   2. generates the demo cluster (40 e2-standard-8 nodes running a 12-service
#      shop, ~20% of their capacity requested; tools/scenarios/) and starts
#      kinema-sim on it (simulated time 10x), plus a real Prometheus scraping
#      it if installed
#   3. runs Kinema iterations (kinema --once, one after the other) with the
#      documented defaults — one disruption budget of 10% of the nodes,
#      decision.maxNodesRetired 10, maxPodsMoved 500, minSavings 0.10 — so
#      each iteration is one bounded step: stability wait, prediction,
#      optimization within the budget, decision, node boot, labeling,
#      deployment patch, drain-and-delete, every step journaled
#   4. prints each step (cost after it from the simulator's own report, nodes
#      retired, pods moved, share of the way to the target) until an
#      iteration finds nothing left worth a step, then the totals and the
#      journal (kinemactl list / explain)
# The cloud is GKE's (cloud.provider: gke on the simulator's cloud.mode: gke):
# new nodes join through a Kinema-owned node pool's managed instance group
# (createInstances), retired ones leave through their pool's group
# (deleteInstances), and plans use live prices from the (simulated) Cloud
# Billing Catalog. --gce shows the self-managed path (instances.insert).
# Flags: --keep  leave kinema-sim and Prometheus running afterwards
#        --gce   cloud.provider gce instead of gke
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP=0
MODE=gke
for a in "$@"; do
  case "$a" in
    --keep) KEEP=1 ;;
    --gce) MODE=gce ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown flag $a" >&2; exit 2 ;;
  esac
done

./tools/install-deps.sh
echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${KINEMA_JOBS:-2}" --target kinema kinema-sim kinemactl

OUT="${KINEMA_DEMO_DIR:-out/demo}"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PIDS=()
cleanup() {
  if [ "$KEEP" = 0 ]; then
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
}
trap cleanup EXIT

NODES="${KINEMA_DEMO_NODES:-40}"
echo "== demo cluster: $NODES nodes, 12 services (tools/scenarios/make_scenario.py)"
python3 tools/scenarios/make_scenario.py --out "$OUT" --nodes "$NODES" --scale 4
python3 - "$MODE" tools/scenarios/demo/scenario.json "$OUT/scenario.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[2]))
s.setdefault("cloud", {})["mode"] = sys.argv[1]
json.dump(s, open(sys.argv[3], "w"), indent=1)
PY
./build/bin/kinema-sim --snapshot "$OUT/snapshot.json" --catalog "$OUT/catalog.json" \
  --scenario "$OUT/scenario.json" --listen 127.0.0.1:0 \
  --write-kubeconfig "$OUT/kubeconfig" --time-scale 10 --log-level warn 2>"$OUT/sim.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -f "$OUT/kubeconfig" ] && break; sleep 0.1; done
[ -f "$OUT/kubeconfig" ] || { echo "kinema-sim did not start:"; cat "$OUT/sim.log"; exit 1; }
SERVER="$(sed -n 's/^ *server: *//p' "$OUT/kubeconfig" | head -1 | tr -d '"')"
echo "kinema-sim: $SERVER (kubectl --kubeconfig $OUT/kubeconfig get nodes)"

PROM_YAML=""
if [ -x /usr/bin/prometheus ]; then
  PORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
  cat >"$OUT/prometheus.yml" <<YML
global: {scrape_interval: 2s, evaluation_interval: 2s}
scrape_configs:
  - job_name: kinema-sim
    static_configs: [{targets: ['${SERVER#http://}']}]
YML
  /usr/bin/prometheus --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/prom-data" \
    --web.listen-address="127.0.0.1:$PORT" --log.level=warn 2>"$OUT/prometheus.log" &
  PIDS+=($!)
  PROM_YAML="prometheus:
  url: http://127.0.0.1:$PORT"
  echo "prometheus: http://127.0.0.1:$PORT (scraping the simulated cAdvisor metrics)"
  sleep 20  # a short usage history for the prediction step
else
  echo "prometheus: not installed; the prediction step plans on requests as they are"
fi

CLOUD_YAML=""
if [ "$MODE" = gke ]; then
  CLOUD_YAML="  containerEndpoint: $SERVER/container/v1
  location: us-central1
  cluster: sim-cluster
pricing:
  source: billing
  endpoint: $SERVER/cloudbilling/v1"
  echo "cloud: GKE (node pools and managed instance groups; live prices from the Cloud Billing Catalog)"
else
  echo "cloud: self-managed GCE (instances.insert)"
fi

cat >"$OUT/kinema.yaml" <<YML
kubeconfig: $OUT/kubeconfig
journal: $OUT/kinema.db
catalog: $OUT/catalog.json
$PROM_YAML
cloud:
  provider: $MODE
  endpoint: $SERVER/compute/v1
  project: shop-project
$CLOUD_YAML
stability:
  quietWindow: 5s
prediction:
  window: 20s
  horizon: 15m
  step: 2s
optimizer:
  timeLimit: 10s
rollout:
  stallTimeout: 30s
server:
  address: 127.0.0.1:0
YML

curl -s "$SERVER/sim/v1/report" >"$OUT/report-before.json"
python3 - "$OUT/report-before.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("== before: %d nodes, %d running pods, %.2f $/h" % (d["nodes"], d["runningPods"], d["costPerHour"]))
PY
echo "== iterations with the default budgets (log: $OUT/kinema.log)"
START=$(date +%s)
MAX_ITER="${KINEMA_DEMO_ITERATIONS:-15}"
for i in $(seq 1 "$MAX_ITER"); do
  curl -s "$SERVER/sim/v1/report" >"$OUT/report-$i-before.json"
  ./build/bin/kinema --config "$OUT/kinema.yaml" --once 2>>"$OUT/kinema.log" || {
    echo "kinema failed; last log lines:"; tail -30 "$OUT/kinema.log"; exit 1; }
  curl -s "$SERVER/sim/v1/report" >"$OUT/report-$i-after.json"
  ID="$(./build/bin/kinemactl --db "$OUT/kinema.db" --json list | python3 -c '
import json, sys
ws = json.load(sys.stdin)
print(max(ws, key=lambda w: (w["createdAt"], w["id"]))["id"])')"
  ./build/bin/kinemactl --db "$OUT/kinema.db" --json explain "$ID" >"$OUT/explain-$i.json"
  ./build/bin/kinemactl --db "$OUT/kinema.db" --json show "$ID" >"$OUT/show-$i.json"
  if ! python3 - "$i" "$OUT/report-$i-before.json" "$OUT/report-$i-after.json" "$OUT/explain-$i.json" "$OUT/show-$i.json" <<'PY'
import json, sys
i = int(sys.argv[1])
before, after, ex, show = (json.load(open(f)) for f in sys.argv[2:6])
retired = sum(1 for n in ex.get("nodes", []) if n.get("action") == "retire")
booted = sum(1 for n in ex.get("nodes", []) if n.get("action") == "boot")
plan = ex.get("plan") or {}
target = (ex.get("budget") or {}).get("targetCostPerHour")
b, a = before["costPerHour"], after["costPerHour"]
way = (b - a) / (b - target) if target is not None and b - target > 1e-9 else 0.0
outcome = show.get("outcome") or show["status"]
moved = sum(1 for m in ex.get("moves", []) if not m["to"].startswith("(rescheduled"))
if show.get("outcome"):
    print("step %2d: %s — %s" % (i, outcome, ex.get("summary", "")))
    sys.exit(1)  # no step taken: converged (or, when discarded/unstable, the summary says why)
print("step %2d: %.2f -> %.2f $/h  retired %2d, booted %d, pods moved %3d  target %.2f $/h, this step %5.1f%% of the way (budget: %s)"
      % (i, b, a, retired, booted, moved, target if target is not None else float("nan"), 100 * way,
         (ex.get("budget") or {}).get("binding", "-")))
PY
  then break; fi
done
END=$(date +%s)
curl -s "$SERVER/sim/v1/report" >"$OUT/report-after.json"

echo
echo "== result ($((END - START)) s)"
python3 - "$OUT/report-before.json" "$OUT/report-after.json" "$OUT/explain-1.json" <<'PY'
import json, sys
before, after, first = (json.load(open(f)) for f in sys.argv[1:4])
target = (first.get("budget") or {}).get("targetCostPerHour")
print("cost before : %.2f $/h on %d nodes" % (before["costPerHour"], before["nodes"]))
print("cost after  : %.2f $/h on %d nodes (%d pending, %d running pods)"
      % (after["costPerHour"], after["nodes"], after["pendingPods"], after["runningPods"]))
if target is not None:
    gap = 100 * (after["costPerHour"] / target - 1)
    print("first target: %.2f $/h (now %.1f%% %s it; later plans refine the target)"
          % (target, abs(gap), "above" if gap >= 0 else "below"))
c, e, a = after["cloud"], after["evictions"], after["availability"]
print("nodes       : %d booted, %d retired; %d evictions (%d refused by PDBs)"
      % (c["instancesCreated"], c["instancesDeleted"], e["accepted"], e["rejectedByPdb"]))
print("harm        : %.1f s below minAvailable, %d PDB violations, %d orphan and %d duplicate instances"
      % (a["secondsBelowMinAvailable"], after["pdbViolations"], c["orphanInstances"], c["duplicateCreateRequests"]))
PY
echo
echo "== kinemactl list"
./build/bin/kinemactl --db "$OUT/kinema.db" list
echo "== kinemactl explain (first step)"
FIRST="$(./build/bin/kinemactl --db "$OUT/kinema.db" --json list | python3 -c '
import json, sys
print(min(json.load(sys.stdin), key=lambda w: (w["createdAt"], w["id"]))["id"])')"
./build/bin/kinemactl --db "$OUT/kinema.db" explain "$FIRST" >"$OUT/explain-first.txt"
head -40 "$OUT/explain-first.txt"
./build/bin/kinemactl --db "$OUT/kinema.db" verify >/dev/null && echo "== kinemactl verify: ok"
if [ "$KEEP" = 1 ]; then echo "still running (--keep): kubectl --kubeconfig $OUT/kubeconfig get nodes"; fi
