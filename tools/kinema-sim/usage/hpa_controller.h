// HpaController: the simulated cluster's horizontal-pod-autoscaler
// controller (autoscaling/v2, Resource metrics cpu/memory with Utilization
// or AverageValue targets), driven by the usage model.
//
// Every 15 simulated seconds (kube-controller-manager's default sync
// period) for each HorizontalPodAutoscaler:
//   - reads its scale target (apps/v1 Deployment, StatefulSet or ReplicaSet:
//     the scale subresource's spec.replicas / status.replicas) and the
//     target's pods with their usage (UsageComponent::SamplePods);
//   - computes the desired count (hpa_algorithm.h: tolerance 0.1, unready
//     pods, stabilization windows, rate policies, min/maxReplicas);
//   - writes the target's spec.replicas through the registry when it
//     changes (what PUT .../scale does) and records a SuccessfulRescale Event;
//   - writes status: observedGeneration, currentReplicas, desiredReplicas,
//     currentMetrics, lastScaleTime and the AbleToScale / ScalingActive /
//     ScalingLimited conditions with the real controller's reasons.
// A target at 0 replicas disables autoscaling (ScalingActive False,
// ScalingDisabled), as upstream.
// Thread-safety: runs on the server's io(); Start/Stop from SimServer.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/sim_component.h"
#include "tools/kinema-sim/usage/usage_component.h"
#include "tools/kinema-sim/usage/hpa_algorithm.h"

namespace kinema::sim {
class SimServer;
}

namespace kinema::sim::usage {

class UsageComponent;

class HpaController : public SimComponent {
 public:
  explicit HpaController(UsageComponent* usage) : usage_(usage) {}
  std::string Name() const override { return "hpa"; }
  Status Start(SimServer& server) override;
  void Stop() override;

  // One pass over every HPA (also called by the timer). Returns the number
  // of targets rescaled.
  int SyncAll();

 private:
  void ScheduleSync();
  int SyncOne(const ObjectPtr& hpa, const std::vector<PodSample>& pods, double now_s, const std::string& now);

  UsageComponent* usage_;
  SimServer* server_ = nullptr;
  std::mutex mu_;
  bool stopped_ = false;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::chrono::milliseconds period_{15000};
  std::map<std::string, HpaHistory> history_;  // by HPA uid
};

}  // namespace kinema::sim::usage
