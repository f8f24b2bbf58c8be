// Scheduler: the simulated kube-scheduler. Watches the store (in-process
// subscription) for Nodes and Pods, keeps a ClusterState cache up to date
// incrementally, and schedules every pod that has no spec.nodeName, uses the
// default scheduler (schedulerName empty or "default-scheduler"), is not
// terminating, not finished and not gated — highest spec.priority first,
// then first seen.
//
//   - success: binds like pods/binding (spec.nodeName set once, 409 if the
//     pod is terminating or already bound; PodScheduled=True replaces any
//     earlier PodScheduled condition), "assumes" the pod in the cache at
//     once so the next decision sees it, and records a Normal "Scheduled"
//     Event ("Successfully assigned ns/pod to node");
//   - no node fits: status PodScheduled=False reason Unschedulable with the
//     FitError message ("0/5 nodes are available: 2 Insufficient cpu, ...
//     preemption: 0/5 nodes are available: ..."), a Warning
//     "FailedScheduling" Event (repeats of the same message increment its
//     count, like the event recorder's aggregation), and the pod waits in
//     the unschedulable set;
//   - gated pods (spec.schedulingGates) get PodScheduled=False reason
//     SchedulingGated and are scheduled once the gates are removed.
// Retries (the real scheduling queue): an unschedulable pod is moved back
// when a cluster event could make it fit — a node added or changed in a
// decision-relevant way (labels, taints, allocatable, cordon, readiness;
// heartbeats are ignored), a bound pod deleted or finished (for pods
// rejected on resources, spread or anti-affinity), a bound pod added or
// relabelled (spread, anti-affinity), terminating (spread) or resized down
// in place (resources), or the pod itself changed (generation or labels) —
// after its per-pod exponential backoff (initial 1 s, max 10 s,
// simulated time), and at the latest after podMaxInUnschedulablePodsDuration
// (5 min simulated). All simulated time comes from the Registry's SimClock.
//
// Pods owned by a ReplicaSet or StatefulSet are spread by the system default
// topology spreading over their owner's selector (ReplicaSets and
// StatefulSets are watched for it).
//
// Configuration: the --scenario document's "scheduler" section (all
// optional): {"enabled": true, "initialBackoffSeconds": 1,
// "maxBackoffSeconds": 10, "maxUnschedulableSeconds": 300,
// "recordEvents": true}. The tie-break PRNG is seeded with --seed.
//
// Thread-safety: Start()/Stop() from the owner's thread; everything else
// runs on a strand of the given io_context. stats() is safe from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "engine/common/status.h"
#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/registry.h"
#include "tools/kinema-sim/scheduler/cluster_state.h"
#include "tools/kinema-sim/scheduler/scheduling_core.h"
#include "tools/kinema-sim/sim_clock.h"
#include "tools/kinema-sim/sim_component.h"

namespace kinema::sim::sched {

struct SchedulerConfig {
  bool enabled = true;
  double initial_backoff_seconds = 1;     // podInitialBackoffDuration
  double max_backoff_seconds = 10;        // podMaxBackoffDuration
  double max_unschedulable_seconds = 300; // podMaxInUnschedulablePodsDuration
  double flush_period_seconds = 30;       // how often that limit is checked
  bool record_events = true;
  size_t batch_size = 256;  // pods per strand turn, so other work interleaves
  uint64_t seed = 1;

  // Reads scenario["scheduler"] (absent = defaults); InvalidArgument naming
  // the key on a malformed value or an unknown key.
  static StatusOr<SchedulerConfig> FromScenario(const nlohmann::json& scenario, uint64_t seed);
};

class Scheduler {
 public:
  struct Stats {
    uint64_t attempts = 0;
    uint64_t scheduled = 0;
    uint64_t unschedulable = 0;  // failed attempts
    uint64_t bind_errors = 0;
    uint64_t pending = 0;        // pods waiting (active, backoff or unschedulable)
  };

  Scheduler(Registry* registry, boost::asio::io_context* io, SchedulerConfig config);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void Start();
  void Stop();
  Stats stats() const;

 private:
  using TimePoint = SimClock::TimePoint;
  enum class Where { kActive, kBackoff, kUnschedulable };
  struct PendingPod {
    SchedPod pod;
    std::string fingerprint;  // generation + labels
    Where where = Where::kActive;
    uint64_t seq = 0;
    int attempts = 0;
    TimePoint last_attempt{};
    TimePoint unschedulable_since{};
    TimePoint backoff_until{};
    unsigned rejected_by = 0;
  };
  using ActiveKey = std::tuple<int, uint64_t, std::string>;  // -priority, seq, pod key

  void RequestPump();
  void Pump();
  void InitialSync();
  void Drain();
  void HandlePod(const StoredObject& obj, bool deleted);
  void HandleNode(const StoredObject& obj, bool deleted);
  void HandleOwner(const StoredObject& obj, bool deleted);
  void OnBoundPodGone(const SchedPod& pod);
  // Moves unschedulable pods rejected by any of `bits` towards the active queue.
  void MoveUnschedulable(unsigned bits);
  void Requeue(PendingPod& p, TimePoint now);
  void PushActive(PendingPod& p);
  void RemovePending(const std::string& key);
  void PromoteBackoff(TimePoint now);
  void FlushStale(TimePoint now);
  void ScheduleOne(const std::string& key);
  ApiResult<ObjectPtr> Bind(const SchedPod& pod, const std::string& node);
  void MarkUnschedulable(const SchedPod& pod, const std::string& reason, const std::string& message);
  void RecordEvent(const SchedPod& pod, const std::string& type, const std::string& reason,
                   const std::string& action, const std::string& message);
  void ArmTimer();
  double BackoffSeconds(int attempts) const;
  static std::string Fingerprint(const StoredObject& obj, const SchedPod& pod);

  Registry* registry_;
  ObjectStore* store_;
  const SimClock* clock_;
  boost::asio::io_context* io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  const SchedulerConfig config_;
  std::shared_ptr<Watcher> pod_watch_, node_watch_, rs_watch_, sts_watch_;
  std::atomic<bool> pump_requested_{false};
  std::atomic<bool> stopped_{false};

  // Strand-only state.
  ClusterState state_;
  SchedulingCore core_;
  std::unordered_map<std::string, PendingPod> pending_;
  std::set<ActiveKey> active_;
  std::set<std::pair<TimePoint, std::string>> backoff_;
  std::unordered_map<std::string, PendingPod*> unschedulable_;  // values live in pending_
  std::unordered_set<std::string> gated_;
  // "Kind/ns/name" of ReplicaSets and StatefulSets -> spec.selector (default spreading).
  std::unordered_map<std::string, LabelSelectorSpec> owner_selectors_;
  struct LastEvent {
    std::string name, message;
  };
  std::unordered_map<std::string, LastEvent> failed_events_;
  uint64_t next_seq_ = 0;
  uint64_t event_seq_ = 0;
  TimePoint next_flush_{};
  std::string last_summary_;  // last periodic queue summary logged

  std::atomic<uint64_t> attempts_{0}, scheduled_{0}, unschedulable_count_{0}, bind_errors_{0}, pending_count_{0};
};

// The kinema-sim part: reads its configuration from the scenario and runs a
// Scheduler on the server's io_context.
class SchedulerComponent : public SimComponent {
 public:
  std::string Name() const override { return "scheduler"; }
  Status Start(SimServer& server) override;
  void Stop() override;
  // Null before Start() or when disabled by the scenario.
  Scheduler* scheduler() { return scheduler_.get(); }

 private:
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace kinema::sim::sched
