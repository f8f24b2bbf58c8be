// UsageComponent: the simulated cluster's resource usage. It follows every
// pod in the store, evaluates the UsageModel for each container of each
// running pod, integrates CPU into a cAdvisor-style counter, OOM-kills
// containers whose memory passes their limit (usage.oomKill), and serves:
//
//   GET /metrics                          Prometheus text exposition (no auth):
//       container_cpu_usage_seconds_total, container_memory_working_set_bytes
//       (cAdvisor shape), kube-state-metrics-style series (metrics_text.h)
//       and node-exporter-shaped node series (node_exporter.h)
//   GET /apis/metrics.k8s.io[/v1beta1/...] PodMetrics / NodeMetrics (auth as
//       for the API), so `kubectl top pods/nodes` works (metrics_api.h)
//
// Time: the counter is ∫ usage d(wall time). Prometheus scrapes and computes
// rate() in wall time, so rate(container_cpu_usage_seconds_total[w]) equals
// the scenario's usage in cores whatever --time-scale is. Profiles, surges
// and OOM back-off run in simulated time.
//
// Integration happens on a periodic tick (every 5 simulated seconds, clamped
// to 250 ms–1 s of wall time) and before every read, with the trapezoid rule.
// Thread-safety: all public methods are thread-safe (one internal mutex);
// the tick runs on the server's io().
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/sim_component.h"
#include "tools/kinema-sim/usage/node_exporter.h"
#include "tools/kinema-sim/usage/usage_model.h"

namespace kinema::sim {
class SimServer;
}

namespace kinema::sim::usage {

// One container as the metrics and the HPA see it.
struct ContainerSample {
  std::string name;
  std::string image;
  double cpu_cores = 0;
  double memory_bytes = 0;
  double cpu_seconds_total = 0;      // the cAdvisor counter (wall-time integral)
  int64_t cpu_request_milli = 0, cpu_limit_milli = 0;   // 0: none
  int64_t memory_request = 0, memory_limit = 0;         // bytes, 0: none
  int restarts = 0;
};

struct PodSample {
  std::string ns, name, uid, node, phase;
  bool ready = false;
  bool deleting = false;
  bool running = false;            // phase Running on a node: has usage
  std::string owner_kind, owner_name;        // the controller ownerReference
  std::string workload_kind, workload_name;  // Deployment/StatefulSet/DaemonSet/ReplicaSet or empty
  nlohmann::json labels;
  std::vector<ContainerSample> containers;
};

class UsageComponent : public SimComponent {
 public:
  // Registers /metrics and /apis/metrics.k8s.io on `server` (before Start()).
  explicit UsageComponent(SimServer* server);
  ~UsageComponent() override;

  std::string Name() const override { return "usage"; }
  Status Start(SimServer& server) override;
  void Stop() override;

  // Brings the integration up to now, then copies every pod (sorted by
  // namespace/name). With `running_only`, only pods that have usage.
  std::vector<PodSample> SamplePods(bool running_only);
  // The memory usage (bytes) of one running container as of the last
  // integration step; nullopt when the pod or container is unknown or not running.
  std::optional<double> ContainerMemoryBytes(const std::string& ns, const std::string& pod,
                                             const std::string& container);
  // Prometheus text exposition of everything (advances first).
  std::string RenderMetrics();

  const UsageModel& model() const { return *model_; }
  // Simulated seconds since Start().
  double SimSeconds() const;

 private:
  struct ContainerState {
    ContainerSample s;
    uint64_t noise_key = 0;
    double last_cpu = -1;      // usage at the previous integration point (-1: none)
    double started_t = 0;      // simulated seconds (since Start) of the last (re)start
    double next_oom_t = 0;     // OOM back-off: no new kill before this
    // The request the usage base is a fraction of: the workload container's
    // request when first seen, so a resize (or a template change) alters
    // the allocation, never what the application uses. -1: not yet taken.
    double ref_cpu_request = -1, ref_memory_request = -1;
    // What the container runs with (status.containerStatuses[].resources,
    // else the spec): throttling and OOM kills follow the actuated limits.
    int64_t actual_cpu_limit_milli = 0, actual_memory_limit = 0;
  };
  struct PodState {
    PodSample s;
    std::vector<ContainerState> containers;
    bool workload_resolved = false;
    std::string workload_key;                  // "Kind/ns/name" or "" (cached)
    const WorkloadUsage* profile = nullptr;    // the scenario's profile (cached)
    // A VM's launcher pod (kubevirt/README.md): usage = allocation x
    // utilization from its simulation.node-classifier.io/vm-* annotations.
    bool vm = false;
    double vm_cpu_cores = 0, vm_cpu_util = 0, vm_memory_bytes = 0, vm_memory_util = 0;
  };
  struct OomKill {
    std::string ns, pod, container;
    std::string started_at;  // RFC 3339 of the killed container's start
  };

  void Tick();
  void ScheduleTick();
  // Both with mu_ held.
  void DrainEvents();
  void ApplyPod(const nlohmann::json& pod);
  void ApplyPodUnchecked(const nlohmann::json& pod);
  void ResolveWorkload(PodState& p);
  void ResolveWorkloadName(PodState& p);
  std::vector<OomKill> AdvanceLocked();
  void Advance();
  void RecordOomKills(const std::vector<OomKill>& kills);
  int ReferenceReplicas(const std::string& kind, const std::string& ns, const std::string& name);

  SimServer* server_;
  std::unique_ptr<UsageModel> model_;
  std::chrono::steady_clock::time_point wall_start_;

  std::mutex mu_;
  bool started_ = false, stopped_ = false;
  std::shared_ptr<Watcher> watcher_;
  uint64_t listed_rv_ = 0;
  std::map<std::string, PodState> pods_;                              // "ns/name"
  std::unordered_map<std::string, std::string> rs_owner_;             // "ns/rs" -> deployment ("" = none)
  std::unordered_map<std::string, int> reference_replicas_;           // "Kind/ns/name"
  // "<workload key or pod/ns/name>/<container>" -> (cpu cores, memory bytes) requests when first seen.
  std::unordered_map<std::string, std::pair<double, double>> reference_requests_;
  std::chrono::steady_clock::time_point last_wall_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::chrono::milliseconds tick_period_{1000};
  NodeExporter node_exporter_;  // node series from the pods' usage (under mu_)
};

}  // namespace kinema::sim::usage
