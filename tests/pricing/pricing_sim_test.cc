// Live prices from kinema-sim's Cloud Billing Catalog and Compute APIs:
// `kinemactl catalog` reproduces the catalog file the simulator was started
// with, the price book prices a plan from the billing API, and a failing
// billing API leaves the last good prices in place.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>

#include "engine/cloud/gce_provider.h"
#include "engine/pricing/live_prices.h"
#include "engine/pricing/price_book.h"
#include "tests/sim/sim_process.h"
#include "tests/support/test_support.h"

namespace kinema::pricing {
namespace {

using nlohmann::json;

// The canonical form `kinemactl catalog` writes, priced per vCPU and GiB
// (E2: $0.021811/vCPU-h and $0.002923/GiB-h on demand).
json CanonicalCatalog() {
  json ab = json::array({"us-central1-a", "us-central1-b"});
  return json{
      {"provider", "gce"},
      {"region", "us-central1"},
      {"currency", "USD"},
      {"machineTypes",
       json::array({
           {{"name", "e2-highmem-4"}, {"vcpu", 4}, {"memoryMiB", 32768}, {"zones", ab},
            {"pricePerHour", {{"onDemand", 0.18078}, {"spot", 0.054236}}}},
           {{"name", "e2-standard-4"}, {"vcpu", 4}, {"memoryMiB", 16384}, {"zones", ab},
            {"pricePerHour", {{"onDemand", 0.134012}, {"spot", 0.040204}}}},
           {{"name", "e2-standard-8"}, {"vcpu", 8}, {"memoryMiB", 32768}, {"zones", ab},
            {"pricePerHour", {{"onDemand", 0.268024}, {"spot", 0.080408}}}},
           {{"name", "n1-standard-4"}, {"vcpu", 4}, {"memoryMiB", 15360}, {"zones", json::array({"us-central1-b"})},
            {"pricePerHour", {{"onDemand", 0.189999}}}},
           {{"name", "n2-standard-8"}, {"vcpu", 8}, {"memoryMiB", 32768}, {"zones", json::array({"us-central1-a"})},
            {"pricePerHour", {{"onDemand", 0.388472}, {"spot", 0.09344}}}},
       })}};
}

class PricedSim {
 public:
  explicit PricedSim(const json& faults = nullptr) {
    char tmpl[] = "/tmp/kinema-pricing-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    catalog_path_ = dir_ + "/catalog.json";
    std::ofstream(catalog_path_) << CanonicalCatalog().dump(2);
    std::vector<std::string> args{"--catalog", catalog_path_, "--time-scale", "1000"};
    if (!faults.is_null()) {
      std::ofstream(dir_ + "/faults.json") << faults.dump();
      args.insert(args.end(), {"--faults", dir_ + "/faults.json", "--seed", "11"});
    }
    sim_ = std::make_unique<simtest::SimProcess>(args);
  }
  ~PricedSim() {
    sim_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return sim_->ok(); }
  std::string Log() const { return sim_->Log(); }
  std::string Url() const { return sim_->Url(); }
  const std::string& catalog_path() const { return catalog_path_; }

 private:
  std::string dir_, catalog_path_;
  std::unique_ptr<simtest::SimProcess> sim_;
};

TEST(LivePricesSim, KinemactlCatalogReproducesTheCatalogTheSimulatorWasStartedWith) {
  PricedSim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto r = testing::RunProcess({testing::BinPath("kinemactl"), "catalog", "--project", "demo", "--region",
                                "us-central1", "--endpoint", sim.Url() + "/compute/v1"});
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << sim.Log();
  json written = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(written.is_discarded()) << r.out;
  EXPECT_EQ(written, CanonicalCatalog()) << written.dump(2);
  EXPECT_NE(r.err.find("n1-standard-4: no spot price"), std::string::npos) << r.err;

  // --types, --zones and --output.
  testing::TempDir dir;
  std::string path = dir.File("catalog.json");
  auto some = testing::RunProcess({testing::BinPath("kinemactl"), "catalog", "--project", "demo", "--region",
                                   "us-central1", "--zones", "us-central1-a", "--types", "e2-standard-4,n2-standard-8",
                                   "--endpoint", sim.Url() + "/compute/v1", "--output", path});
  ASSERT_EQ(some.exit_code, 0) << some.err;
  json partial = json::parse(testing::ReadFile(path));
  ASSERT_EQ(partial["machineTypes"].size(), 2u);
  EXPECT_EQ(partial["machineTypes"][0]["zones"], json::array({"us-central1-a"}));
  EXPECT_TRUE(ParseCatalog(partial).ok());

  auto bad = testing::RunProcess({testing::BinPath("kinemactl"), "catalog", "--project", "demo"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--region"), std::string::npos);
  auto wrong_zone = testing::RunProcess({testing::BinPath("kinemactl"), "catalog", "--project", "demo", "--region",
                                         "us-central1", "--zones", "europe-west1-b", "--endpoint",
                                         sim.Url() + "/compute/v1"});
  EXPECT_EQ(wrong_zone.exit_code, 2) << wrong_zone.err;
}

TEST(LivePricesSim, ThePriceBookPricesFromTheBillingApiAndKeepsThemWhenItFails) {
  PricedSim sim;
  ASSERT_TRUE(sim.ok()) << sim.Log();
  auto http = std::make_shared<const http::HttpClient>();
  cloud::GceOptions o;
  o.endpoint = sim.Url() + "/compute/v1";
  o.project = "demo";
  auto compute = cloud::GceCloudProvider::Create(o, cloud::NewNoTokenSource(), http);
  ASSERT_TRUE(compute.ok());
  BillingOptions bo;
  bo.endpoint = sim.Url() + "/cloudbilling/v1";
  bo.page_size = 7;  // several pages
  bo.retry.max_attempts = 2;
  bo.retry.initial_backoff = std::chrono::milliseconds(5);
  auto billing = BillingCatalogClient::Create(bo, nullptr, http);
  ASSERT_TRUE(billing.ok());
  bool broken = false;
  auto file = LoadCatalogFile(sim.catalog_path());
  ASSERT_TRUE(file.ok());
  // The plan's catalog file says 0.2 for e2-standard-4: live prices replace it.
  Catalog stale = *file;
  for (auto& mt : stale.machine_types) mt.price_on_demand *= 1.5;
  PriceBookOptions po;
  po.source = "billing";
  PriceBook book(stale, po, [&]() -> StatusOr<LivePrices> {
    if (broken) {
      BillingOptions dead = bo;
      dead.endpoint = "http://127.0.0.1:1/v1";
      auto c = BillingCatalogClient::Create(dead, nullptr, http);
      return FetchLivePrices(**c, **compute, "us-central1", {"us-central1-a", "us-central1-b"});
    }
    return FetchLivePrices(**billing, **compute, "us-central1", {"us-central1-a", "us-central1-b"});
  });
  ASSERT_TRUE(book.Refresh().ok()) << book.Current()->last_error;
  auto live = book.Current();
  EXPECT_EQ(live->source, "billing");
  EXPECT_GT(live->fetched_at_ms, 0);
  for (const auto& mt : file->machine_types) {
    SCOPED_TRACE(mt.name);
    const MachineType* got = live->catalog->FindType(mt.name);
    ASSERT_NE(got, nullptr);
    EXPECT_DOUBLE_EQ(got->price_on_demand, mt.price_on_demand);
    EXPECT_EQ(got->price_spot.has_value(), mt.price_spot.has_value());
    if (mt.price_spot) {
      EXPECT_DOUBLE_EQ(*got->price_spot, *mt.price_spot);
    }
  }
  broken = true;
  EXPECT_FALSE(book.Refresh().ok());
  auto kept = book.Current();
  EXPECT_EQ(kept->source, "billing");
  EXPECT_EQ(kept->fetched_at_ms, live->fetched_at_ms);
  EXPECT_DOUBLE_EQ(kept->catalog->FindType("e2-standard-4")->price_on_demand, 0.134012);
  EXPECT_FALSE(kept->last_error.empty());
}

TEST(LivePricesSim, AnUnreliableBillingApiIsRetriedAndAFailingOneIsAnError) {
  PricedSim flaky(json{{"rules", json::array({{{"resource", "cloudbilling.*"}, {"error503Rate", 0.3}}})}});
  ASSERT_TRUE(flaky.ok()) << flaky.Log();
  int retried = 0;
  for (int i = 0; i < 4; ++i) {
    auto r = testing::RunProcess({testing::BinPath("kinemactl"), "catalog", "--project", "demo", "--region",
                                  "us-central1", "--endpoint", flaky.Url() + "/compute/v1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out, nullptr, false), CanonicalCatalog());
    retried += r.err.find("retrying") != std::string::npos ? 1 : 0;
  }
  EXPECT_GT(retried, 0) << "the faults never hit";
  PricedSim down(json{{"rules", json::array({{{"resource", "cloudbilling.skus"}, {"error503Rate", 1.0}}})}});
  ASSERT_TRUE(down.ok()) << down.Log();
  auto d = testing::RunProcess({testing::BinPath("kinemactl"), "catalog", "--project", "demo", "--region",
                                "us-central1", "--endpoint", down.Url() + "/compute/v1"});
  EXPECT_EQ(d.exit_code, 1) << d.err;
  EXPECT_NE(d.err.find("billing list Compute Engine SKUs"), std::string::npos) << d.err;
}

}  // namespace
}  // namespace kinema::pricing
