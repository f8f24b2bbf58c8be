#include "engine/catalog/catalog.h"

#include <gtest/gtest.h>

namespace kinema {
namespace {

nlohmann::json SampleCatalog() {
  return nlohmann::json::parse(R"({
    "provider": "gce", "region": "us-central1", "currency": "USD",
    "machineTypes": [
      {"name": "e2-standard-4", "vcpu": 4, "memoryMiB": 16384,
       "allocatable": {"cpu": "3920m", "memory": "13Gi", "pods": 110},
       "zones": ["us-central1-a", "us-central1-b"],
       "pricePerHour": {"onDemand": 0.134023, "spot": 0.0402},
       "labels": {"cloud.google.com/gke-nodepool": "pool-e2-4"}, "taints": []},
      {"name": "e2-highmem-2", "vcpu": 2, "memoryMiB": 16384,
       "zones": ["us-central1-a"], "pricePerHour": {"onDemand": 0.0904},
       "taints": [{"key": "dedicated", "value": "mem", "effect": "NoSchedule"}]}
    ],
    "spot": {"labels": {"kinema.io/capacity-type": "spot"},
             "taints": [{"key": "kinema.io/spot", "value": "true", "effect": "NoSchedule"}]}
  })");
}

TEST(CatalogTest, ParsesGivenAllocatableAndPrices) {
  auto c = ParseCatalog(SampleCatalog());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const MachineType* mt = c->FindType("e2-standard-4");
  ASSERT_NE(mt, nullptr);
  EXPECT_EQ(mt->allocatable.cpu_milli, 3920);
  EXPECT_EQ(mt->allocatable.memory_bytes, int64_t{13} << 30);
  EXPECT_EQ(mt->allocatable.pods, 110);
  EXPECT_FALSE(mt->allocatable_derived);
  EXPECT_EQ(mt->zones.size(), 2u);
  EXPECT_EQ(mt->labels.at("cloud.google.com/gke-nodepool"), "pool-e2-4");
  EXPECT_DOUBLE_EQ(*c->Price("e2-standard-4", CapacityType::kSpot), 0.0402);
  EXPECT_DOUBLE_EQ(*c->Price("e2-standard-4", CapacityType::kOnDemand), 0.134023);
  EXPECT_FALSE(c->Price("e2-highmem-2", CapacityType::kSpot).has_value());
  EXPECT_FALSE(c->Price("n1-nothing", CapacityType::kOnDemand).has_value());
  EXPECT_EQ(c->spot_labels.at("kinema.io/capacity-type"), "spot");
  ASSERT_EQ(c->spot_taints.size(), 1u);
  EXPECT_EQ(c->spot_taints[0].effect, "NoSchedule");
}

TEST(CatalogTest, DerivesAllocatableWithGkeReservations) {
  auto c = ParseCatalog(SampleCatalog());
  ASSERT_TRUE(c.ok());
  const MachineType* mt = c->FindType("e2-highmem-2");
  ASSERT_NE(mt, nullptr);
  EXPECT_TRUE(mt->allocatable_derived);
  // 2 cores: 6% + 1% reserved = 70m.
  EXPECT_EQ(mt->allocatable.cpu_milli, 1930);
  // 16 GiB: 1 + 0.8 + 0.8 = 2.6 GiB reserved, plus 100 MiB eviction.
  const int64_t kMiB = 1 << 20;
  int64_t expected = (int64_t{16} << 30) - static_cast<int64_t>(2.6 * (1 << 30)) - 100 * kMiB;
  EXPECT_NEAR(static_cast<double>(mt->allocatable.memory_bytes), static_cast<double>(expected), 2.0);
  EXPECT_EQ(mt->allocatable.pods, 110);
  ASSERT_EQ(mt->taints.size(), 1u);
  EXPECT_EQ(mt->taints[0].key, "dedicated");
}

TEST(CatalogTest, GkeReservationsForLargeMachines) {
  Resources r = GkeAllocatable(32, 131072);  // 32 vCPU, 128 GiB
  // 60 + 10 + 10 + 28*2.5 = 150m
  EXPECT_EQ(r.cpu_milli, 32000 - 150);
  Resources small = GkeAllocatable(0.25, 1024);  // e2-micro-ish, 1 GiB
  EXPECT_EQ(small.cpu_milli, 235);
  EXPECT_EQ(small.memory_bytes, (int64_t{1} << 30) - (int64_t{256} << 20) - (int64_t{100} << 20));
}

TEST(CatalogTest, ErrorsNameTheFieldAndIndex) {
  auto j = SampleCatalog();
  j["machineTypes"][1]["pricePerHour"]["onDemand"] = "cheap";
  auto c = ParseCatalog(j);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("machineTypes[1].pricePerHour.onDemand"), std::string::npos)
      << c.status().message();

  j = SampleCatalog();
  j["machineTypes"][0]["allocatable"]["memory"] = "13Gb";
  c = ParseCatalog(j);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("machineTypes[0].allocatable.memory"), std::string::npos);

  j = SampleCatalog();
  j["machineTypes"][1]["name"] = "e2-standard-4";
  c = ParseCatalog(j);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("duplicate"), std::string::npos);

  j = SampleCatalog();
  j["machineTypes"][1]["zones"] = nlohmann::json::array();
  EXPECT_FALSE(ParseCatalog(j).ok());

  j = SampleCatalog();
  j["spot"]["taints"][0]["effect"] = "Sometimes";
  c = ParseCatalog(j);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("spot.taints[0].effect"), std::string::npos);

  j = SampleCatalog();
  j["machineTypes"][1].erase("vcpu");
  c = ParseCatalog(j);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("machineTypes[1].allocatable"), std::string::npos);
}

}  // namespace
}  // namespace kinema
