// VpaRecommender: the simulated cluster's VPA recommender. Every
// `vpa.recommenderInterval` (default 1m of simulated time, upstream's
// --recommender-interval) it samples the usage of every running container
// (usage/usage_component.h: what metrics-server would report), feeds the
// samples to one AggregateContainerState per (VPA, container name) and
// writes each autoscaling.k8s.io/v1 VerticalPodAutoscaler's
// status.recommendation.containerRecommendations[] (target, lowerBound,
// upperBound, uncappedTarget; recommendation_model.h) through the /status
// subresource, with the conditions RecommendationProvided (True once there
// is a recommendation) and NoPodsMatched (True while no running pod belongs
// to the target).
//
// A VPA's pods are those whose owning workload (pod → ReplicaSet →
// Deployment, StatefulSet, DaemonSet, or a bare ReplicaSet) is its
// spec.targetRef (kind and name, same namespace). Samples of a container
// keep counting after its pod is replaced (the aggregate is per workload
// container, as upstream's). The sim has no VPA updater or admission
// controller: updateMode is stored and shown, never acted on (Kinema is the
// actor the tests exercise).
//
// Scenario keys (section `vpa`, all optional): recommenderInterval,
// halfLife, memoryAggregationInterval (durations), marginFraction,
// targetCpuPercentile, targetMemoryPercentile, podMinCpuMillicores,
// podMinMemoryMb.
// Thread-safety: runs on the server's io() timer; Start/Stop from SimServer.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "tools/kinema-sim/sim_component.h"
#include "tools/kinema-sim/usage/usage_component.h"
#include "tools/kinema-sim/vpa/recommendation_model.h"

namespace kinema::sim::vpa {

class VpaRecommender : public SimComponent {
 public:
  explicit VpaRecommender(usage::UsageComponent* usage) : usage_(usage) {}
  std::string Name() const override { return "vpa-recommender"; }
  Status Start(SimServer& server) override;
  void Stop() override;

  // One recommender pass (also run by the timer): samples, then writes
  // every VPA's status. Returns the number of VPAs updated.
  int RunOnce();
  const RecommenderConfig& config() const { return config_; }

 private:
  void Schedule();
  Resources MaxNodeAllocatable();

  usage::UsageComponent* usage_;
  SimServer* server_ = nullptr;
  RecommenderConfig config_;
  double interval_s_ = 60;
  std::mutex mu_;
  bool stopped_ = false;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  // "ns/vpa-name" -> container name -> state. Keyed by the VPA's uid too,
  // so a recreated VPA starts from an empty history.
  std::map<std::string, std::pair<std::string, std::map<std::string, AggregateContainerState>>> states_;
};

}  // namespace kinema::sim::vpa
