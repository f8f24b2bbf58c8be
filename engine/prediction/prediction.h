// Prediction: per-workload, per-container planning requests with their
// explanation, as the prediction step journals them and the optimizer uses
// them (the lead applies `planned` to the snapshot's pods).
//
// PredictFromPrometheus runs two range queries over [now − window, now]:
//   cpu:    sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total
//             {container!="", container!="POD", namespace=~"<snapshot namespaces>"}[rate_window]))
//   memory: sum by (namespace, pod, container) (container_memory_working_set_bytes{...same})
// maps each series' pod to its workload — pod → ReplicaSet → Deployment (or
// pod → StatefulSet) through the snapshot's ownerReferences; pods already
// gone (an earlier rollout) through their ReplicaSet if the snapshot still
// has it, else by the Deployment naming rule <deployment>-<hash>-<suffix> —
// and forecasts each container of each workload's pod template
// (forecaster.h). Current requests come from the workload's pod template.
//
// rate() under-reads until its range is filled, so for a CPU series that
// begins inside the window (a new pod) the first rate_window of samples is
// dropped.
// Missing data: a container without series keeps its request
// (has_data = false, why = "no usage samples ...") and the workload is
// listed in `notes`; series of pods that map to no workload are counted in
// `unmatched_series`. A failed query (Prometheus unreachable, bad PromQL)
// is an error Status naming the query: the caller plans on requests as they
// are and journals why.
// Thread-safety: pure apart from the client calls; the client is thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/prediction/forecaster.h"
#include "engine/prometheus/client.h"
#include "engine/snapshot/cluster_snapshot.h"

namespace kinema::prediction {

struct ContainerPlan {
  std::string name;
  ResourceForecast cpu;     // cores
  ResourceForecast memory;  // bytes
  // The planning requests, rounded up: what to put in the pod spec.
  int64_t PlannedCpuMilli() const;
  int64_t PlannedMemoryBytes() const;
};

struct WorkloadPlan {
  std::string ns, kind, name;  // kind: Deployment | StatefulSet
  int pods = 0;                // pods in the snapshot
  std::vector<ContainerPlan> containers;
};

struct Prediction {
  std::string source = "prometheus";
  std::chrono::system_clock::time_point at;
  PredictionOptions options;
  std::vector<WorkloadPlan> workloads;
  std::vector<std::string> notes;  // missing series and other caveats
  int unmatched_series = 0;

  // {"source","at","window","horizon","step","factor","headroom",
  //  "workloads":[{"namespace","kind","name","pods","containers":[{"name",
  //    "cpu":{explanation},"memory":{explanation},"plannedCpu":"250m",
  //    "plannedMemory":"268435456"}]}],
  //  "adjustments":{"ns/Kind/name":{"container":{"cpu":"250m","memory":"268435456"}}},
  //  "notes":[...],"unmatchedSeries":N}
  nlohmann::json ToJson() const;

  const WorkloadPlan* Find(const std::string& ns, const std::string& kind, const std::string& name) const;
};

StatusOr<Prediction> PredictFromPrometheus(const prometheus::Client& client, const ClusterSnapshot& snapshot,
                                           const PredictionOptions& options,
                                           std::chrono::system_clock::time_point now);

// Sets each pod's container requests to its workload's planned requests
// (pods of workloads without a plan, and containers without data, keep
// theirs). Returns the number of containers changed. `snapshot_list` is a
// ClusterSnapshot::list.
int ApplyPrediction(const Prediction& prediction, nlohmann::json* snapshot_list);

// The PromQL the source runs (exposed for logs and tests).
std::string CpuQuery(const std::vector<std::string>& namespaces, std::chrono::milliseconds rate_window);
std::string MemoryQuery(const std::vector<std::string>& namespaces);

}  // namespace kinema::prediction
