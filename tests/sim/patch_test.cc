#include <gtest/gtest.h>

#include "tools/kinema-sim/patch.h"

namespace kinema::sim {
namespace {

using nlohmann::json;

json Smp(const json& orig, const json& patch) {
  auto r = ApplyStrategicMergePatchJson(orig, patch);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : json();
}

const json kPod = json::parse(R"({
  "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
  "spec": {
    "containers": [
      {"name": "app", "image": "i:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
      {"name": "side", "image": "s:1"}],
    "tolerations": [{"key": "t1", "operator": "Exists"}, {"key": "t2", "operator": "Exists"}],
    "affinity": {"nodeAffinity": {
      "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "z", "operator": "In", "values": ["a"]}]}]},
      "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "preference": {"matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}}]}}
  }})");

TEST(StrategicMergePatch, MergesContainersAndEnvByName) {
  json out = Smp(kPod, json::parse(R"({"spec":{"containers":[{"name":"app","image":"i:2","env":[{"name":"B","value":"3"},{"name":"C","value":"4"}]}]}})"));
  const json& c = out["spec"]["containers"];
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]["image"], "i:2");
  EXPECT_EQ(c[0]["env"], json::parse(R"([{"name":"A","value":"1"},{"name":"B","value":"3"},{"name":"C","value":"4"}])"));
  EXPECT_EQ(c[1]["image"], "s:1");
}

TEST(StrategicMergePatch, ReplacesAtomicListsWhole) {
  json out = Smp(kPod, json::parse(R"({"spec":{"tolerations":[{"key":"t3","operator":"Exists"}],
    "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"z","operator":"In","values":["b"]}]}]},
    "preferredDuringSchedulingIgnoredDuringExecution":[{"weight":50,"preference":{"matchExpressions":[{"key":"q","operator":"Exists"}]}}]}}}})"));
  EXPECT_EQ(out["spec"]["tolerations"], json::parse(R"([{"key":"t3","operator":"Exists"}])"));
  const json& na = out["spec"]["affinity"]["nodeAffinity"];
  EXPECT_EQ(na["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"].size(), 1u);
  EXPECT_EQ(na["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0], "b");
  ASSERT_EQ(na["preferredDuringSchedulingIgnoredDuringExecution"].size(), 1u);
  EXPECT_EQ(na["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"], 50);
}

TEST(StrategicMergePatch, NodeTaintsAreReplacedWhole) {
  json node = json::parse(R"({"spec":{"taints":[{"key":"a","effect":"NoSchedule"},{"key":"b","effect":"NoSchedule"}]}})");
  json out = Smp(node, json::parse(R"({"spec":{"taints":[{"key":"c","effect":"NoExecute"}]}})"));
  EXPECT_EQ(out["spec"]["taints"].size(), 1u);
}

TEST(StrategicMergePatch, NullDeletesAndFinalizersMergeAsSet) {
  json out = Smp(kPod, json::parse(R"({"metadata":{"labels":{"a":null,"c":"3"},"finalizers":["x","y"]}})"));
  EXPECT_EQ(out["metadata"]["labels"], json::parse(R"({"b":"2","c":"3"})"));
  EXPECT_EQ(out["metadata"]["finalizers"], json::parse(R"(["x","y"])"));
}

TEST(StrategicMergePatch, Directives) {
  json out = Smp(kPod, json::parse(R"({"spec":{"containers":[{"name":"side","$patch":"delete"}]}})"));
  EXPECT_EQ(out["spec"]["containers"].size(), 1u);
  out = Smp(kPod, json::parse(R"({"spec":{"containers":[{"name":"only","image":"o:1"},{"$patch":"replace"}]}})"));
  EXPECT_EQ(out["spec"]["containers"], json::parse(R"([{"name":"only","image":"o:1"}])"));
  out = Smp(kPod, json::parse(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["x"]}})"));
  EXPECT_EQ(out["metadata"]["finalizers"], json::array());
  out = Smp(kPod, json::parse(R"({"spec":{"$setElementOrder/containers":[{"name":"side"},{"name":"app"}]}})"));
  EXPECT_EQ(out["spec"]["containers"][0]["name"], "side");
  out = Smp(kPod, json::parse(R"({"metadata":{"labels":{"$patch":"replace","z":"9"}}})"));
  EXPECT_EQ(out["metadata"]["labels"], json::parse(R"({"z":"9"})"));
  out = Smp(kPod, json::parse(R"({"spec":{"$retainKeys":["containers"],"containers":[{"name":"app","image":"i:3"}]}})"));
  EXPECT_FALSE(out["spec"].contains("tolerations"));
  EXPECT_EQ(out["spec"]["containers"].size(), 2u);
}

TEST(StrategicMergePatch, ElementWithoutMergeKeyIsBadRequest) {
  auto r = ApplyStrategicMergePatchJson(kPod, json::parse(R"({"spec":{"containers":[{"image":"x"}]}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 400);
}

TEST(MergePatch, ReplacesListsAndDeletesNulls) {
  auto r = ApplyMergePatch(kPod, R"({"metadata":{"labels":{"a":null}},"spec":{"containers":[{"name":"x","image":"y"}]}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()["metadata"]["labels"], json::parse(R"({"b":"2"})"));
  EXPECT_EQ(r.value()["spec"]["containers"].size(), 1u);
  EXPECT_FALSE(ApplyMergePatch(kPod, "[1]").ok());
  EXPECT_EQ(ApplyMergePatch(kPod, "{not json").error().code, 400);
}

TEST(JsonPatch, AppliesOperationsAndFailsOnTest) {
  auto r = ApplyJsonPatch(kPod, R"([{"op":"add","path":"/metadata/labels/c","value":"3"},{"op":"remove","path":"/spec/tolerations/0"}])");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()["metadata"]["labels"]["c"], "3");
  EXPECT_EQ(r.value()["spec"]["tolerations"].size(), 1u);
  auto bad = ApplyJsonPatch(kPod, R"([{"op":"test","path":"/metadata/name","value":"q"}])");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, 422);
  EXPECT_EQ(ApplyJsonPatch(kPod, R"([{"op":"remove","path":"/nope/x"}])").error().code, 422);
}

TEST(PatchType, FromContentType) {
  EXPECT_EQ(PatchTypeFromContentType("application/strategic-merge-patch+json"), PatchType::kStrategic);
  EXPECT_EQ(PatchTypeFromContentType("application/merge-patch+json; charset=utf-8"), PatchType::kMerge);
  EXPECT_EQ(PatchTypeFromContentType("application/json-patch+json"), PatchType::kJson);
  EXPECT_EQ(PatchTypeFromContentType("application/json"), PatchType::kUnknown);
}

}  // namespace
}  // namespace kinema::sim
