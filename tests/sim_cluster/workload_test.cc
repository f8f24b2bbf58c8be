// Pure rollout arithmetic and template helpers of cluster/.
#include <gtest/gtest.h>

#include "tools/kinema-sim/cluster/deployment_controller.h"
#include "tools/kinema-sim/cluster/workload.h"

namespace kinema::sim::cluster {
namespace {

Json Deployment(int replicas, Json surge, Json unavailable) {
  return Json{{"spec",
               {{"replicas", replicas},
                {"strategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", surge}, {"maxUnavailable", unavailable}}}}}}}};
}

TEST(Workload, SurgeRoundsUpAndUnavailableRoundsDown) {
  auto f = DeploymentController::ResolveFenceposts(Deployment(10, "25%", "25%"));
  EXPECT_EQ(f.max_surge, 3);
  EXPECT_EQ(f.max_unavailable, 2);
  f = DeploymentController::ResolveFenceposts(Deployment(1, "25%", "25%"));
  EXPECT_EQ(f.max_surge, 1);
  EXPECT_EQ(f.max_unavailable, 0);
  f = DeploymentController::ResolveFenceposts(Deployment(4, 0, 0));
  EXPECT_EQ(f.max_unavailable, 1);  // both zero: ResolveFenceposts' fallback
  EXPECT_EQ(DeploymentController::MaxUnavailable(Deployment(3, 0, 5)), 3);
  Json recreate = {{"spec", {{"replicas", 3}, {"strategy", {{"type", "Recreate"}}}}}};
  EXPECT_EQ(DeploymentController::MaxUnavailable(recreate), 0);
}

TEST(Workload, TemplateHashIgnoresPodTemplateHashLabelAndIsStable) {
  Json a = {{"metadata", {{"labels", {{"app", "x"}}}}}, {"spec", {{"containers", Json::array({{{"name", "c"}}})}}}};
  Json b = a;
  b["metadata"]["labels"]["pod-template-hash"] = "abc";
  b["metadata"]["creationTimestamp"] = nullptr;
  EXPECT_TRUE(EqualIgnoreHash(a, b));
  EXPECT_EQ(TemplateHash(a, 0), TemplateHash(b, 0));
  EXPECT_NE(TemplateHash(a, 0), TemplateHash(a, 1));
  Json c = a;
  c["spec"]["containers"][0]["image"] = "v2";
  EXPECT_FALSE(EqualIgnoreHash(a, c));
  EXPECT_NE(TemplateHash(a, 0), TemplateHash(c, 0));
  for (char ch : TemplateHash(a, 0)) EXPECT_NE(std::string("bcdfghjklmnpqrstvwxz2456789").find(ch), std::string::npos);
}

TEST(Workload, PodAvailabilityHonoursMinReadySeconds) {
  SimClock::TimePoint t0;
  ASSERT_TRUE(SimClock::ParseTime("2026-01-01T00:00:00Z", &t0));
  Json pod = {{"status", {{"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})}}}};
  EXPECT_TRUE(IsPodAvailable(pod, 0, t0));
  EXPECT_FALSE(IsPodAvailable(pod, 10, t0 + std::chrono::seconds(5)));
  EXPECT_TRUE(IsPodAvailable(pod, 10, t0 + std::chrono::seconds(10)));
}

}  // namespace
}  // namespace kinema::sim::cluster
