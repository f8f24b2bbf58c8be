// The shared fit check (steps/optimize/fit_check.h): every predicate,
// all-or-nothing placement, and capacity never promised twice.
#include <gtest/gtest.h>

#include "steps/optimize/fit_check.h"
#include "tests/optimize/test_cluster.h"

namespace kinema {
namespace {

using nlohmann::json;
using namespace testing_util;

Snapshot Parse(json items) {
  auto s = ParseSnapshot(List(std::move(items)));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

const SnapshotPod& PodNamed(const Snapshot& s, const std::string& name) {
  for (const auto& p : s.pods) {
    if (p.name == name) return p;
  }
  ADD_FAILURE() << "no pod " << name;
  return s.pods.front();
}

TEST(NodeFitter, ResourcesPodSlotsAndDaemonSetOverheadCount) {
  json ds = {{"kind", "DaemonSet"},
             {"metadata", {{"name", "log"}, {"namespace", "kube-system"}}},
             {"spec", {{"template", {{"spec", {{"containers", {{{"name", "c"}, {"resources", {{"requests", {{"cpu", "500m"}, {"memory", "1Gi"}}}}}}}}}}}}}}};
  Snapshot s = Parse({Node("a", "small", "2", "8Gi"), ds, Pod("big-1", "a", "1", "4Gi"), Pod("mover-1", "", "600m", "1Gi")});
  NodeFitter f(s);
  EXPECT_EQ(f.Free(0).cpu_milli, 500) << "2 CPU - 500m DaemonSet - 1 CPU pod";
  std::string why;
  EXPECT_FALSE(f.Fits(PodNamed(s, "mover-1"), 0, &why));
  EXPECT_NE(why.find("insufficient cpu"), std::string::npos) << why;
}

TEST(NodeFitter, TaintsSelectorsAndUnschedulableAreRespected) {
  json spot_taint = json::array({{{"key", "kinema.io/spot"}, {"value", "true"}, {"effect", "NoSchedule"}}});
  json prefer = json::array({{{"key", "k8s-node-role/on-demand-worker"}, {"value", "true"}, {"effect", "PreferNoSchedule"}}});
  Snapshot s = Parse({Node("spot", "small", "2", "8Gi", {{"kinema.io/capacity-type", "spot"}}, spot_taint),
                      Node("od", "small", "2", "8Gi", json::object(), prefer),
                      Pod("plain-1", "", "100m", "100Mi"),
                      Pod("tolerant-1", "", "100m", "100Mi",
                          {{"tolerations", {{{"key", "kinema.io/spot"}, {"operator", "Exists"}}}}}),
                      Pod("picky-1", "", "100m", "100Mi", {{"nodeSelector", {{"disk", "ssd"}}}})});
  NodeFitter f(s);
  std::string why;
  EXPECT_FALSE(f.Fits(PodNamed(s, "plain-1"), 0, &why)) << "a pod that does not tolerate the spot taint";
  EXPECT_NE(why.find("kinema.io/spot"), std::string::npos) << why;
  EXPECT_TRUE(f.Fits(PodNamed(s, "tolerant-1"), 0));
  EXPECT_TRUE(f.Fits(PodNamed(s, "plain-1"), 1)) << "PreferNoSchedule never blocks";
  EXPECT_FALSE(f.Fits(PodNamed(s, "picky-1"), 1));
}

TEST(NodeFitter, HostnameAntiAffinityBlocksBothWays) {
  json anti = {{"affinity",
                {{"podAntiAffinity",
                  {{"requiredDuringSchedulingIgnoredDuringExecution",
                    {{{"topologyKey", "kubernetes.io/hostname"}, {"labelSelector", {{"matchLabels", {{"app", "web"}}}}}}}}}}}}};
  Snapshot s = Parse({Node("a", "small", "2", "8Gi"), Node("b", "small", "2", "8Gi"), Pod("web-1", "a", "100m", "100Mi", anti),
                      Pod("web-2", "", "100m", "100Mi", anti), Pod("other-1", "", "100m", "100Mi")});
  NodeFitter f(s);
  std::string why;
  EXPECT_FALSE(f.Fits(PodNamed(s, "web-2"), 0, &why));
  EXPECT_NE(why.find("anti-affinity"), std::string::npos);
  EXPECT_TRUE(f.Fits(PodNamed(s, "web-2"), 1));
  EXPECT_TRUE(f.Fits(PodNamed(s, "other-1"), 0));
}

TEST(NodeFitter, AllOrNothingAndCapacityIsNeverPromisedTwice) {
  Snapshot s = Parse({Node("spot", "small", "2", "8Gi"), Pod("a-1", "", "800m", "1Gi"), Pod("b-1", "", "800m", "1Gi"),
                      Pod("c-1", "", "800m", "1Gi")});
  NodeFitter f(s);
  auto first = f.PlaceAll({&PodNamed(s, "a-1"), &PodNamed(s, "b-1")}, {0});
  ASSERT_TRUE(first.all_fit);
  EXPECT_EQ(f.Free(0).cpu_milli, 400);
  auto second = f.PlaceAll({&PodNamed(s, "c-1")}, {0});
  EXPECT_FALSE(second.all_fit) << "the room went to a-1 and b-1";
  EXPECT_NE(second.why.find("insufficient cpu"), std::string::npos) << second.why;
  EXPECT_EQ(f.Free(0).cpu_milli, 400) << "a failed PlaceAll promises nothing";
  f.Remove(PodNamed(s, "a-1"), 0);
  EXPECT_TRUE(f.PlaceAll({&PodNamed(s, "c-1")}, {0}).all_fit);
}

}  // namespace
}  // namespace kinema
