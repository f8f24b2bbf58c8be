#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/http/url.h"
#include "engine//cloud/gce_provider.h"
#include "engine/cloud/gce_wire.h"

namespace kinema::cloud {
namespace {

using nlohmann::json;

InstanceSpec Spec(CapacityType cap) {
  InstanceSpec s;
  s.name = "kinema-0123456789abcdef";
  s.zone = "us-central1-a";
  s.machine_type = "e2-standard-4";
  s.capacity = cap;
  s.labels = {{"kinema-iteration", "wf-1"}};
  s.idempotency_key = "k";
  return s;
}

TEST(GceWireTest, InsertBodyForSpot) {
  BootTemplate boot;
  boot.metadata = {{"kube-labels", "a=b"}};
  json b = BuildInsertBody(Spec(CapacityType::kSpot), boot);
  EXPECT_EQ(b["name"], "kinema-0123456789abcdef");
  EXPECT_EQ(b["machineType"], "zones/us-central1-a/machineTypes/e2-standard-4");
  EXPECT_EQ(b["labels"]["kinema-iteration"], "wf-1");
  EXPECT_EQ(b["scheduling"]["provisioningModel"], "SPOT");
  EXPECT_EQ(b["scheduling"]["instanceTerminationAction"], "DELETE");
  EXPECT_EQ(b["scheduling"]["automaticRestart"], false);
  EXPECT_EQ(b["disks"][0]["boot"], true);
  EXPECT_EQ(b["disks"][0]["initializeParams"]["diskSizeGb"], "50");
  EXPECT_EQ(b["disks"][0]["initializeParams"]["diskType"], "zones/us-central1-a/diskTypes/pd-balanced");
  EXPECT_EQ(b["metadata"]["items"][0], (json{{"key", "kube-labels"}, {"value", "a=b"}}));
  EXPECT_FALSE(b["networkInterfaces"][0].contains("accessConfigs"));
}

TEST(GceWireTest, InsertBodyForOnDemand) {
  json b = BuildInsertBody(Spec(CapacityType::kOnDemand), BootTemplate{});
  EXPECT_EQ(b["scheduling"]["provisioningModel"], "STANDARD");
  EXPECT_FALSE(b["scheduling"].contains("instanceTerminationAction"));
  EXPECT_FALSE(b.contains("metadata"));
}

TEST(GceWireTest, ParsesAnInstance) {
  json j = json::parse(R"({
    "kind": "compute#instance", "id": "4567123456789", "name": "n1",
    "zone": "https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-b",
    "machineType": "https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-b/machineTypes/e2-standard-8",
    "status": "STAGING", "creationTimestamp": "2026-11-22T02:04:05.123-08:00",
    "labels": {"kinema-iteration": "wf-1", "n": 3},
    "scheduling": {"preemptible": true},
    "networkInterfaces": [{"networkIP": "10.128.0.7"}],
    "selfLink": "https://x/instances/n1"})");
  auto in = ParseInstance(j, "w");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->zone, "us-central1-b");
  EXPECT_EQ(in->machine_type, "e2-standard-8");
  EXPECT_EQ(in->status, "STAGING");
  EXPECT_EQ(in->capacity, CapacityType::kSpot);
  EXPECT_EQ(in->labels.size(), 1u);  // non-string values ignored
  EXPECT_EQ(in->id, "4567123456789");
  EXPECT_EQ(in->internal_ip, "10.128.0.7");
  EXPECT_FALSE(ParseInstance(json::object(), "w").ok());
  EXPECT_FALSE(ParseInstance(json::array(), "w").ok());
}

TEST(GceWireTest, ParsesOperationsInEveryState) {
  json j = json::parse(R"({"kind":"compute#operation","id":"1","name":"operation-1-abc",
    "zone":"https://x/projects/p/zones/us-central1-a","operationType":"insert",
    "targetLink":"https://x/projects/p/zones/us-central1-a/instances/n1","status":"RUNNING","progress":"40"})");
  auto op = ParseOperation(j, "w");
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->zone, "us-central1-a");
  EXPECT_EQ(op->target_name, "n1");
  EXPECT_EQ(op->progress, 40);
  EXPECT_FALSE(op->done());
  EXPECT_TRUE(op->error.ok());
  j["status"] = "DONE";
  j["error"] = {{"errors", json::array({{{"code", "ZONE_RESOURCE_POOL_EXHAUSTED"}, {"message", "m"}}})}};
  op = ParseOperation(j, "w");
  ASSERT_TRUE(op.ok());
  EXPECT_TRUE(op->done());
  EXPECT_EQ(ClassifyCloudError(op->error), CloudErrorKind::kZoneResourcePoolExhausted);
  EXPECT_FALSE(ParseOperation(json{{"name", "x"}}, "w").ok());  // no status
}

TEST(GceWireTest, ParsesMachineTypes) {
  auto m = ParseMachineType(json::parse(R"({"name":"e2-micro","guestCpus":2,"memoryMb":1024,"isSharedCpu":true,
    "zone":"us-central1-a","deprecated":{"state":"DEPRECATED"}})"), "w");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->guest_cpus, 2);
  EXPECT_EQ(m->memory_mb, 1024);
  EXPECT_TRUE(m->is_shared_cpu);
  EXPECT_EQ(m->zone, "us-central1-a");
  EXPECT_EQ(m->deprecated_state, "DEPRECATED");
}

TEST(GceWireTest, FiltersAndPaths) {
  EXPECT_EQ(LabelFilter({{"a", "x"}, {"b", "q\"uote"}}), R"((labels.a = "x") AND (labels.b = "q\"uote"))");
  EXPECT_EQ(LabelFilter({}), "");
  EXPECT_EQ(LastPathSegment("https://x/zones/us-central1-a/"), "us-central1-a");
  EXPECT_EQ(LastPathSegment("plain"), "plain");
  EXPECT_EQ(http::UrlEncode("a b/c=\"d\""), "a%20b%2Fc%3D%22d%22");
}

TEST(GceProviderTest, RefusesBadConfigurationBeforeSendingAnything) {
  GceOptions o;
  o.project = "";
  EXPECT_EQ(GceCloudProvider::Create(o, nullptr, nullptr).status().code(), Status::Code::kInvalidArgument);
  o.project = "p";
  o.endpoint = "ftp://x";
  EXPECT_EQ(GceCloudProvider::Create(o, nullptr, nullptr).status().code(), Status::Code::kInvalidArgument);
  o.endpoint = "http://127.0.0.1:1/compute/v1/";
  o.zones = {"us-central1-a"};
  auto p = GceCloudProvider::Create(o, nullptr, nullptr);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->options().endpoint, "http://127.0.0.1:1/compute/v1");
  InstanceSpec s = Spec(CapacityType::kOnDemand);
  s.zone = "europe-west1-b";
  EXPECT_EQ((*p)->InsertInstance(s).status().code(), Status::Code::kInvalidArgument);  // zone not configured
  s = Spec(CapacityType::kOnDemand);
  s.idempotency_key = "";
  EXPECT_EQ((*p)->InsertInstance(s).status().code(), Status::Code::kInvalidArgument);
  s = Spec(CapacityType::kOnDemand);
  s.name = "Bad_Name";
  EXPECT_EQ((*p)->InsertInstance(s).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*p)->DeleteInstance("us-central1-a", "n", "").status().code(), Status::Code::kInvalidArgument);
}

TEST(GceProviderTest, TokenSourceChoiceFollowsTheEndpoint) {
  EXPECT_EQ(ChooseTokenSource("http://127.0.0.1:8443/compute/v1", "", nullptr)->Describe(), "none");
  EXPECT_EQ(ChooseTokenSource("", "", nullptr)->Describe().rfind("metadata server", 0), 0u);
  EXPECT_EQ(ChooseTokenSource("https://compute.googleapis.com/compute/v1", "", nullptr)->Describe().rfind("metadata server", 0), 0u);
  EXPECT_EQ(ChooseTokenSource("https://evilgoogleapis.com.example/compute/v1", "", nullptr)->Describe(), "none");
  EXPECT_EQ(ChooseTokenSource("http://x", "/tmp/t", nullptr)->Describe(), "file /tmp/t");
}

}  // namespace
}  // namespace kinema::cloud
