#include "tools/kinema-sim/gce/node_template.h"

#include <gtest/gtest.h>

namespace kinema::sim::gce {
namespace {

using nlohmann::json;

Catalog TestCatalog() {
  auto c = ParseCatalog(json::parse(R"({
    "provider": "gce", "region": "us-central1", "currency": "USD",
    "machineTypes": [
      {"name": "e2-standard-4", "vcpu": 4, "memoryMiB": 16384,
       "allocatable": {"cpu": "3920m", "memory": "13Gi", "pods": 110},
       "zones": ["us-central1-a"], "pricePerHour": {"onDemand": 0.134, "spot": 0.04},
       "labels": {"cloud.google.com/gke-nodepool": "pool-e2-4"},
       "taints": [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]},
      {"name": "n2-standard-2", "vcpu": 2, "memoryMiB": 8192,
       "zones": ["us-central1-b"], "pricePerHour": {"onDemand": 0.097}}
    ],
    "spot": {"labels": {"kinema.io/capacity-type": "spot"},
             "taints": [{"key": "kinema.io/spot", "value": "true", "effect": "NoSchedule"}]}})"));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

NodeParams Params(const std::string& zone, bool spot) {
  NodeParams p;
  p.name = "kinema-0123";
  p.project = "proj";
  p.zone = zone;
  p.spot = spot;
  p.internal_ip = "10.128.0.9";
  p.boot_id = "b";
  p.timestamp = "2026-11-22T10:00:00Z";
  return p;
}

TEST(NodeTemplateTest, SpotNodeOfACatalogType) {
  Catalog cat = TestCatalog();
  NodeParams p = Params("us-central1-a", true);
  p.extra_labels = {{"kinema.io/planned", "new-0"}};
  json n = BuildNode(cat, *cat.FindType("e2-standard-4"), p);
  const json& l = n["metadata"]["labels"];
  EXPECT_EQ(l["node.kubernetes.io/instance-type"], "e2-standard-4");
  EXPECT_EQ(l["topology.kubernetes.io/zone"], "us-central1-a");
  EXPECT_EQ(l["topology.kubernetes.io/region"], "us-central1");
  EXPECT_EQ(l["kubernetes.io/hostname"], "kinema-0123");
  EXPECT_EQ(l["kubernetes.io/os"], "linux");
  EXPECT_EQ(l["kinema.io/capacity-type"], "spot");
  EXPECT_EQ(l["cloud.google.com/gke-spot"], "true");
  EXPECT_EQ(l["cloud.google.com/gke-nodepool"], "pool-e2-4");
  EXPECT_EQ(l["kinema.io/planned"], "new-0");
  EXPECT_EQ(n["spec"]["providerID"], "gce://proj/us-central1-a/kinema-0123");
  ASSERT_EQ(n["spec"]["taints"].size(), 2u);  // the type's, then spot's
  EXPECT_EQ(n["spec"]["taints"][0]["key"], "dedicated");
  EXPECT_EQ(n["spec"]["taints"][1]["key"], "kinema.io/spot");
  EXPECT_EQ(n["status"]["allocatable"]["cpu"], "3920m");
  EXPECT_EQ(n["status"]["allocatable"]["memory"], "13631488Ki");
  EXPECT_EQ(n["status"]["capacity"]["cpu"], "4");
  EXPECT_EQ(n["status"]["addresses"][0]["address"], "10.128.0.9");
}

TEST(NodeTemplateTest, OnDemandNodeWithDerivedAllocatable) {
  Catalog cat = TestCatalog();
  const MachineType* mt = cat.FindType("n2-standard-2");
  json n = BuildNode(cat, *mt, Params("us-central1-b", false));
  EXPECT_EQ(n["metadata"]["labels"]["kinema.io/capacity-type"], "on-demand");
  EXPECT_FALSE(n["metadata"]["labels"].contains("cloud.google.com/gke-spot"));
  EXPECT_FALSE(n["spec"].contains("taints"));
  // engine/catalog's GKE reservations: 2 vCPU → 70m reserved; 8 GiB → 1.8 GiB + 100 MiB eviction.
  Resources want = GkeAllocatable(2, 8192);
  EXPECT_EQ(n["status"]["allocatable"]["cpu"], CpuQuantity(want.cpu_milli));
  EXPECT_EQ(n["status"]["allocatable"]["cpu"], "1930m");
  EXPECT_EQ(n["status"]["allocatable"]["memory"], MemoryQuantity(want.memory_bytes));
  EXPECT_EQ(n["status"]["allocatable"]["pods"], "110");
}

TEST(NodeTemplateTest, MarkNotReadyIsWhatTheNodeLifecycleControllerDoes) {
  Catalog cat = TestCatalog();
  json n = BuildNode(cat, *cat.FindType("e2-standard-4"), Params("us-central1-a", false));
  EXPECT_TRUE(MarkNotReady(n, "2026-11-22T10:05:00Z"));
  bool ready_unknown = false;
  for (const auto& c : n["status"]["conditions"]) {
    EXPECT_EQ(c["status"], "Unknown") << c.dump();
    if (c["type"] == "Ready") ready_unknown = c["reason"] == "NodeStatusUnknown";
  }
  EXPECT_TRUE(ready_unknown);
  int unreachable = 0;
  for (const auto& t : n["spec"]["taints"]) {
    if (t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute") ++unreachable;
  }
  EXPECT_EQ(unreachable, 1);
  EXPECT_FALSE(MarkNotReady(n, "2026-11-22T10:06:00Z"));  // idempotent
}

TEST(NodeTemplateTest, InstanceNodeLabelsFromMetadataAndKinemaCloudLabels) {
  auto l = InstanceNodeLabels(json{{"kinema-workflow", "iteration-1"}, {"team", "x"}},
                              json{{"items", json::array({{{"key", "kube-labels"}, {"value", "a=b,c.io/d=e,f="}},
                                                          {{"key", "startup-script"}, {"value", "x=y"}}})}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::map<std::string, std::string>{
                    {"kinema.io/workflow", "iteration-1"}, {"a", "b"}, {"c.io/d", "e"}, {"f", ""}}));
  EXPECT_FALSE(InstanceNodeLabels(json::object(),
                                  json{{"items", json::array({{{"key", "kube-labels"}, {"value", "novalue"}}})}})
                   .ok());
}

TEST(NodeTemplateTest, ProviderIds) {
  std::string p, z, n;
  EXPECT_TRUE(ParseProviderId("gce://proj/us-central1-a/node-1", &p, &z, &n));
  EXPECT_EQ(p + "|" + z + "|" + n, "proj|us-central1-a|node-1");
  EXPECT_FALSE(ParseProviderId("aws:///us-east-1a/i-123", &p, &z, &n));
  EXPECT_FALSE(ParseProviderId("gce://proj/zone", &p, &z, &n));
  EXPECT_FALSE(ParseProviderId("gce://proj/zone/a/b", &p, &z, &n));
  EXPECT_EQ(RegionOfZone("europe-west1-b"), "europe-west1");
}

}  // namespace
}  // namespace kinema::sim::gce
