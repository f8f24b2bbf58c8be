#include <gtest/gtest.h>

#include "steps/rescheduling/stability.h"

namespace kinema::rescheduling {
namespace {

using nlohmann::json;

json Deployment(int replicas, int ready, int gen = 1, int observed = 1) {
  return {{"kind", "Deployment"},
          {"metadata", {{"name", "cart"}, {"namespace", "shop"}, {"generation", gen}}},
          {"spec", {{"replicas", replicas}}},
          {"status",
           {{"observedGeneration", observed}, {"replicas", replicas}, {"updatedReplicas", replicas},
            {"readyReplicas", ready}, {"availableReplicas", ready}}}};
}

json ReadyNode(const std::string& name, json labels = json::object()) {
  return {{"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"status", {{"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

TEST(Stability, RolledOutClusterIsStable) {
  auto r = EvaluateStability({Deployment(3, 3), ReadyNode("n1")}, {});
  EXPECT_TRUE(r.stable);
  EXPECT_TRUE(r.reasons.empty());
}

TEST(Stability, PendingPodsAndRolloutsInProgressAreUnstableWithReasons) {
  json pending = {{"kind", "Pod"},
                  {"metadata", {{"name", "web-1"}, {"namespace", "shop"}}},
                  {"status", {{"phase", "Pending"}}}};
  auto r = EvaluateStability({pending, Deployment(3, 2), Deployment(3, 3, 2, 1)}, {});
  EXPECT_FALSE(r.stable);
  ASSERT_EQ(r.reasons.size(), 3u);
  EXPECT_EQ(r.reasons[0], "pod shop/web-1 is Pending");
  EXPECT_NE(r.reasons[1].find("2/3 ready"), std::string::npos);
  EXPECT_NE(r.reasons[2].find("not yet observed"), std::string::npos);
}

TEST(Stability, HpaAboveUtilisationThresholdOrScalingIsUnstable) {
  json hpa = {{"kind", "HorizontalPodAutoscaler"},
              {"metadata", {{"name", "cart"}, {"namespace", "shop"}}},
              {"spec",
               {{"metrics", json::array({{{"type", "Resource"},
                                          {"resource", {{"name", "cpu"}, {"target", {{"averageUtilization", 60}}}}}}})}}},
              {"status",
               {{"currentReplicas", 3},
                {"desiredReplicas", 3},
                {"currentMetrics", json::array({{{"type", "Resource"},
                                                 {"resource", {{"name", "cpu"}, {"current", {{"averageUtilization", 58}}}}}}})}}}};
  StabilityOptions o;
  o.max_hpa_utilization = 0.9;
  EXPECT_FALSE(EvaluateStability({hpa}, o).stable);  // 58 > 0.9 × 60
  o.max_hpa_utilization = 1.0;
  EXPECT_TRUE(EvaluateStability({hpa}, o).stable);
  hpa["status"]["desiredReplicas"] = 5;
  auto r = EvaluateStability({hpa}, o);
  EXPECT_FALSE(r.stable);
  EXPECT_EQ(r.reasons[0], "hpa shop/cart scaling 3 -> 5");
}

TEST(Stability, NotReadyNodesAndNodesOfAnEarlierIterationStillDrainingAreUnstable) {
  json not_ready = ReadyNode("n2");
  not_ready["status"]["conditions"][0]["status"] = "Unknown";
  auto r = EvaluateStability({not_ready, ReadyNode("n3", {{kRetireLabel, "it-7"}})}, {});
  EXPECT_FALSE(r.stable);
  EXPECT_EQ(r.reasons[0], "node n2 is not Ready");
  EXPECT_EQ(r.reasons[1], "node n3 from iteration it-7 is still draining");
}

TEST(Stability, ExcludedNamespacesAreIgnored) {
  json pending = {{"kind", "Pod"},
                  {"metadata", {{"name", "x"}, {"namespace", "kube-system"}}},
                  {"status", {{"phase", "Pending"}}}};
  StabilityOptions o;
  o.excluded_namespaces = {"kube-system"};
  EXPECT_TRUE(EvaluateStability({pending}, o).stable);
}

}  // namespace
}  // namespace kinema::rescheduling
