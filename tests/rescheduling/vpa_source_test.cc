// VPA as a prediction source: planned requests follow the recommendations'
// target (upperBound journaled beside it), `max` takes the larger of the
// Prometheus and VPA requests, bad VPAs are skipped with a note; and the
// inplace-resize hand-off sets the wanted size on the named pod only.
#include "steps/rescheduling/vpa_source.h"

#include <gtest/gtest.h>

#include "steps/rescheduling/adjustments.h"

namespace kinema::rescheduling {
namespace {

using nlohmann::json;

json Vpa(const std::string& ns, const std::string& name, const std::string& kind, const std::string& target,
         const json& recs) {
  json v{{"apiVersion", "autoscaling.k8s.io/v1"},
         {"kind", "VerticalPodAutoscaler"},
         {"metadata", {{"namespace", ns}, {"name", name}}},
         {"spec", {{"targetRef", {{"apiVersion", "apps/v1"}, {"kind", kind}, {"name", target}}}}}};
  if (!recs.is_null()) v["status"]["recommendation"]["containerRecommendations"] = recs;
  return v;
}

TEST(VpaSourceTest, PlannedRequestsFollowTheRecommendationTarget) {
  std::vector<json> vpas = {
      Vpa("shop", "cart", "Deployment", "cart", json::parse(R"([
        {"containerName": "cart", "target": {"cpu": "587m", "memory": "262144k"},
         "lowerBound": {"cpu": "25m", "memory": "250Mi"}, "upperBound": {"cpu": "1200m", "memory": "1Gi"}}])")),
      Vpa("shop", "db", "StatefulSet", "db", json::parse(R"([{"containerName": "db", "target": {"memory": "2Gi"}}])")),
      Vpa("shop", "fresh", "Deployment", "fresh", nullptr),
      Vpa("shop", "job", "CronJob", "nightly", json::parse(R"([{"containerName": "x", "target": {"cpu": "1"}}])")),
      Vpa("shop", "bad", "Deployment", "bad", json::parse(R"([{"containerName": "b", "target": {"cpu": "lots"}}])")),
  };
  VpaPrediction p = PredictFromVpas(vpas);
  EXPECT_EQ(p.adjustments["shop/Deployment/cart"]["cart"]["cpu"], "587m");
  EXPECT_EQ(p.adjustments["shop/Deployment/cart"]["cart"]["memory"], "262144000");
  EXPECT_EQ(p.adjustments["shop/StatefulSet/db"]["db"]["memory"], "2147483648");
  EXPECT_FALSE(p.adjustments["shop/StatefulSet/db"]["db"].contains("cpu"));
  EXPECT_FALSE(p.adjustments.contains("shop/Deployment/fresh"));
  EXPECT_FALSE(p.adjustments.contains("shop/Deployment/bad"));
  EXPECT_EQ(p.notes.size(), 3u);  // no recommendation, CronJob target, bad quantity
  ASSERT_EQ(p.recommendations.size(), 2u);
  EXPECT_EQ(p.recommendations[0]["upperBound"]["memory"], "1073741824");

  // Applied to a snapshot: the cart pod (ReplicaSet → Deployment cart) is planned at the target.
  json list = json::parse(R"({"items": [
    {"kind": "ReplicaSet", "metadata": {"namespace": "shop", "name": "cart-7d",
      "ownerReferences": [{"kind": "Deployment", "name": "cart", "controller": true}]}},
    {"kind": "Pod", "metadata": {"namespace": "shop", "name": "cart-7d-x",
      "ownerReferences": [{"kind": "ReplicaSet", "name": "cart-7d", "controller": true}]},
     "spec": {"containers": [{"name": "cart", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}]})");
  EXPECT_EQ(ApplyAdjustments(p.adjustments, &list), 2);
  EXPECT_EQ(list["items"][1]["spec"]["containers"][0]["resources"]["requests"]["cpu"], "587m");
}

TEST(VpaSourceTest, MaxTakesTheLargerRequestPerContainerAndResource) {
  json prom = json::parse(R"({"shop/Deployment/cart": {"cart": {"cpu": "800m", "memory": "100000000"}},
                              "shop/Deployment/web": {"web": {"cpu": "300m"}}})");
  json vpa = json::parse(R"({"shop/Deployment/cart": {"cart": {"cpu": "587m", "memory": "262144000"}},
                             "shop/StatefulSet/db": {"db": {"memory": "2147483648"}}})");
  json m = MaxAdjustments(prom, vpa);
  EXPECT_EQ(m["shop/Deployment/cart"]["cart"]["cpu"], "800m");
  EXPECT_EQ(m["shop/Deployment/cart"]["cart"]["memory"], "262144000");
  EXPECT_EQ(m["shop/Deployment/web"]["web"]["cpu"], "300m");
  EXPECT_EQ(m["shop/StatefulSet/db"]["db"]["memory"], "2147483648");
  EXPECT_EQ(MaxAdjustments(vpa, prom), m) << "max is symmetric";
}

TEST(VpaSourceTest, ResizeHandOffPlansThePodAtItsWantedSize) {
  json input = json::parse(R"({"dryRun": false, "requests": [
    {"requestId": "inplace-resize-1/2/0", "input": {"resize": {"pods": [
      {"namespace": "resize", "name": "crowded-1", "wanted": {"crowded": {"cpu": "500m", "memory": "1434Mi"}}}]}}},
    {"requestId": "other/1/0", "input": {"something": "else"}}]})");
  json pods = PodAdjustmentsFromRequests(input);
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods["resize/crowded-1"]["crowded"]["memory"], "1434Mi");
  json list = json::parse(R"({"items": [
    {"kind": "Pod", "metadata": {"namespace": "resize", "name": "crowded-1"},
     "spec": {"containers": [{"name": "crowded", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}},
    {"kind": "Pod", "metadata": {"namespace": "resize", "name": "crowded-2"},
     "spec": {"containers": [{"name": "crowded", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}}]})");
  EXPECT_EQ(ApplyPodAdjustments(pods, &list), 1) << "cpu is not lowered nor rewritten";
  EXPECT_EQ(list["items"][0]["spec"]["containers"][0]["resources"]["requests"]["memory"], "1434Mi");
  EXPECT_EQ(list["items"][1]["spec"]["containers"][0]["resources"]["requests"]["memory"], "1Gi");
  EXPECT_TRUE(PodAdjustmentsFromRequests(json::parse(R"({"requests": "x"})")).empty());
}

}  // namespace
}  // namespace kinema::rescheduling
