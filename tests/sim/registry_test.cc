#include <gtest/gtest.h>

#include "tools/kinema-sim/registry.h"
#include "tools/kinema-sim/snapshot_loader.h"

namespace kinema::sim {
namespace {

using nlohmann::json;

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : clock_(1.0), store_(1000), registry_(&store_, &clock_) {
    auto r = LoadSnapshotText(R"({"kind":"List","items":[
      {"kind":"Node","apiVersion":"v1","metadata":{"name":"n1"}},
      {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d","namespace":"shop"},
       "spec":{"replicas":2,"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[{"name":"c","image":"i"}]}}},
       "status":{"replicas":2}}]})", &registry_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  const ResourceType& T(const char* group, const char* plural) {
    return *ResourceRegistry::Default().Find(group, "v1", plural);
  }
  json Pod(const std::string& name, bool bound, json finalizers = json::array()) {
    json p = json::parse(R"({"metadata":{},"spec":{"containers":[{"name":"c","image":"i"}],"terminationGracePeriodSeconds":30}})");
    p["metadata"]["name"] = name;
    p["metadata"]["finalizers"] = finalizers;
    if (bound) p["spec"]["nodeName"] = "n1";
    return p;
  }
  SimClock clock_;
  ObjectStore store_;
  Registry registry_;
};

TEST_F(RegistryTest, CreateStampsMetadataDefaultsAndStatus) {
  auto r = registry_.Create(T("", "pods"), "shop", Pod("p", false));
  ASSERT_TRUE(r.ok());
  const json& b = r.value()->body;
  EXPECT_FALSE(b["metadata"]["uid"].get<std::string>().empty());
  EXPECT_EQ(b["metadata"]["generation"], 1);
  EXPECT_EQ(b["status"]["phase"], "Pending");
  EXPECT_EQ(b["status"]["qosClass"], "BestEffort");
  EXPECT_EQ(b["spec"]["restartPolicy"], "Always");
  auto dup = registry_.Create(T("", "pods"), "shop", Pod("p", false));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, 409);
  EXPECT_EQ(dup.error().reason, "AlreadyExists");
  auto missing_ns = registry_.Create(T("", "pods"), "nowhere", Pod("p", false));
  EXPECT_EQ(missing_ns.error().code, 404);
  json bad = Pod("Bad_Name", false);
  EXPECT_EQ(registry_.Create(T("", "pods"), "shop", bad).error().code, 422);
}

TEST_F(RegistryTest, GenerationBumpsOnSpecChangesOnlyAndNoOpKeepsResourceVersion) {
  const ResourceType& d = *ResourceRegistry::Default().Find("apps", "v1", "deployments");
  auto cur = store_.Get(d, "shop", "d");
  auto r = registry_.Patch(d, "shop", "d", PatchType::kMerge, R"({"metadata":{"labels":{"x":"y"}}})", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->body["metadata"]["generation"], 1);
  r = registry_.Patch(d, "shop", "d", PatchType::kMerge, R"({"spec":{"replicas":3}})", "");
  EXPECT_EQ(r.value()->body["metadata"]["generation"], 2);
  uint64_t rv = r.value()->rv;
  r = registry_.Patch(d, "shop", "d", PatchType::kMerge, R"({"spec":{"replicas":3}})", "");
  EXPECT_EQ(r.value()->rv, rv);
  // Main-resource writes keep status; /status writes keep spec.
  r = registry_.Patch(d, "shop", "d", PatchType::kMerge, R"({"status":{"replicas":9}})", "");
  EXPECT_EQ(r.value()->body["status"]["replicas"], 2);
  r = registry_.Patch(d, "shop", "d", PatchType::kMerge, R"({"status":{"replicas":9},"spec":{"replicas":7}})", "status");
  EXPECT_EQ(r.value()->body["status"]["replicas"], 9);
  EXPECT_EQ(r.value()->body["spec"]["replicas"], 3);
  (void)cur;
}

TEST_F(RegistryTest, StaleResourceVersionConflicts) {
  const ResourceType& d = *ResourceRegistry::Default().Find("apps", "v1", "deployments");
  json stale = store_.Get(d, "shop", "d")->body;
  ASSERT_TRUE(registry_.Patch(d, "shop", "d", PatchType::kMerge, R"({"metadata":{"labels":{"x":"y"}}})", "").ok());
  auto r = registry_.Update(d, "shop", "d", stale, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 409);
  EXPECT_EQ(r.error().reason, "Conflict");
  stale["metadata"].erase("resourceVersion");
  EXPECT_TRUE(registry_.Update(d, "shop", "d", stale, "").ok());  // unconditional
}

TEST_F(RegistryTest, GracefulPodDeletionAndFinalizers) {
  const ResourceType& pods = T("", "pods");
  ASSERT_TRUE(registry_.Create(pods, "shop", Pod("bound", true)).ok());
  auto del = registry_.Delete(pods, "shop", "bound", DeleteOptions{});
  ASSERT_TRUE(del.ok());
  EXPECT_FALSE(del.value().removed);
  EXPECT_EQ(del.value().object->body["metadata"]["deletionGracePeriodSeconds"], 30);
  auto fin = registry_.FinishPodTermination("shop", "bound");
  EXPECT_TRUE(fin.value().removed);
  EXPECT_EQ(store_.Get(pods, "shop", "bound"), nullptr);

  ASSERT_TRUE(registry_.Create(pods, "shop", Pod("unbound", false)).ok());
  EXPECT_TRUE(registry_.Delete(pods, "shop", "unbound", DeleteOptions{}).value().removed);

  ASSERT_TRUE(registry_.Create(pods, "shop", Pod("held", false, {"kinema.io/hold"})).ok());
  del = registry_.Delete(pods, "shop", "held", DeleteOptions{});
  EXPECT_FALSE(del.value().removed);
  EXPECT_TRUE(del.value().object->body["metadata"].contains("deletionTimestamp"));
  auto r = registry_.Patch(pods, "shop", "held", PatchType::kMerge, R"({"metadata":{"finalizers":null}})", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store_.Get(pods, "shop", "held"), nullptr);

  ASSERT_TRUE(registry_.Create(pods, "shop", Pod("pre", false)).ok());
  DeleteOptions wrong;
  wrong.precondition_uid = "not-the-uid";
  EXPECT_EQ(registry_.Delete(pods, "shop", "pre", wrong).error().code, 409);
}

TEST_F(RegistryTest, ResizeChangesResourcesOnlyAndKeepsQosClass) {
  const ResourceType& pods = T("", "pods");
  json p = Pod("r", true);
  p["spec"]["containers"][0]["resources"] = {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}},
                                             {"limits", {{"cpu", "1"}, {"memory", "64Mi"}}}};
  ASSERT_TRUE(registry_.Create(pods, "shop", p).ok());
  auto ok = registry_.Patch(pods, "shop", "r", PatchType::kStrategic,
                            R"({"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"200m"}}}]}})", "resize");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok.value()->body["spec"]["containers"][0]["resources"]["requests"]["cpu"], "200m");
  auto qos = registry_.Patch(pods, "shop", "r", PatchType::kStrategic,
                             R"({"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"1"}}}]}})", "resize");
  ASSERT_FALSE(qos.ok());  // Burstable -> Guaranteed
  EXPECT_EQ(qos.error().code, 422);
  auto other = registry_.Patch(pods, "shop", "r", PatchType::kStrategic,
                               R"({"spec":{"containers":[{"name":"c","image":"j"}]}})", "resize");
  EXPECT_EQ(other.error().code, 422);
}

}  // namespace
}  // namespace kinema::sim
