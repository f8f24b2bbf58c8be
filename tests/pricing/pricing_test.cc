// engine/pricing on the recorded-shape Cloud Billing Catalog pages in
// tests/fixtures/gcp/billing/ (two regions, on-demand and spot, overlapping
// broad and regional SKUs, GBy vs GiBy, rows to skip) and Compute's
// machineTypes; the price book's refresh and fallback rules.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/pricing/billing_client.h"
#include "engine/pricing/billing_skus.h"
#include "engine/pricing/live_prices.h"
#include "engine/pricing/price_book.h"
#include "engine/cloud/gce_wire.h"
#include "tests/http/test_http_server.h"
#include "tests/support/json_shape.h"

namespace kinema::pricing {
namespace {

using nlohmann::json;
using testing::GcpFixture;

std::vector<Sku> FixtureSkus() {
  std::vector<Sku> all;
  for (const char* f : {"billing/services.skus.list.page1.json", "billing/services.skus.list.page2.json"}) {
    auto page = ParseSkuPage(GcpFixture(f), f);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (page.ok()) all.insert(all.end(), page->begin(), page->end());
  }
  return all;
}

std::vector<cloud::MachineTypeInfo> FixtureMachineTypes() {
  std::vector<cloud::MachineTypeInfo> out;
  const json list = GcpFixture("compute/machineTypes.list.json");
  for (const auto& item : list["items"]) {
    auto m = cloud::ParseMachineType(item, "fixture");
    EXPECT_TRUE(m.ok());
    out.push_back(*m);
  }
  return out;
}

LivePrices PricesFor(const std::string& region) {
  return PriceMachineTypes(RatesForRegion(FixtureSkus(), region), FixtureMachineTypes());
}

TEST(BillingSkus, PagesParseIntoSkusWithTheirFirstPricedTier) {
  auto skus = FixtureSkus();
  ASSERT_EQ(skus.size(), 24u);
  EXPECT_EQ(skus[0].description, "E2 Instance Core running in Americas");
  EXPECT_EQ(skus[0].usage_unit, "h");
  EXPECT_NEAR(skus[0].unit_price, 0.02181159, 1e-12);
  EXPECT_EQ(skus[0].currency, "USD");
  const Sku& tiered = skus[22];
  EXPECT_EQ(tiered.description, "N2D AMD Instance Core running in Americas");
  EXPECT_NEAR(tiered.unit_price, 0.027544, 1e-12) << "a zero-priced first tier is skipped";
  EXPECT_FALSE(ParseSkuPage(json::array(), "x").ok());
  EXPECT_FALSE(ParseSkuPage(json{{"skus", 3}}, "x").ok());
  EXPECT_TRUE(ParseSkuPage(json::object(), "x")->empty());
}

TEST(BillingSkus, OnDemandAndSpotPricesForUsCentral1) {
  LivePrices p = PricesFor("us-central1");
  const LivePrice& e2 = p.types.at("e2-standard-4");
  ASSERT_TRUE(e2.on_demand && e2.spot);
  EXPECT_NEAR(*e2.on_demand, 4 * 0.02181159 + 16 * 0.00292353, 1e-12);
  EXPECT_NEAR(*e2.spot, 4 * 0.00654347 + 16 * 0.00087706, 1e-12);
  EXPECT_EQ(e2.vcpu, 4);
  EXPECT_EQ(e2.memory_mib, 16384);
  EXPECT_EQ(e2.zones, (std::vector<std::string>{"us-central1-a"}));
  const LivePrice& n1 = p.types.at("n1-standard-4");
  ASSERT_TRUE(n1.on_demand && n1.spot);
  EXPECT_NEAR(*n1.on_demand, 4 * 0.031611 + 15 * 0.004237, 1e-12) << "N1 rows are resourceGroup N1Standard";
  EXPECT_NEAR(*n1.spot, 4 * 0.006655 + 15 * 0.000892, 1e-12);
}

TEST(BillingSkus, OverlappingSkusKeepTheHigherAndGbyIsConvertedToGiB) {
  RegionRates rates = RatesForRegion(FixtureSkus(), "us-central1");
  const FamilyRates& n2 = rates.families.at("n2");
  EXPECT_NEAR(*n2.on_demand.core, 0.032, 1e-12) << "Iowa's regional SKU (0.032) beats the Americas one (0.031611)";
  EXPECT_NEAR(*n2.on_demand.ram_gib, 0.003946 * 1.073741824, 1e-12) << "per GB → per GiB";
  EXPECT_NEAR(*n2.spot.core, 0.0076, 1e-12);
  LivePrices p = PriceMachineTypes(rates, FixtureMachineTypes());
  EXPECT_NEAR(*p.types.at("n2-standard-8").on_demand, 8 * 0.032 + 32 * 0.003946 * 1.073741824, 1e-12);
  EXPECT_NEAR(*p.types.at("n2-standard-8").spot, 8 * 0.0076 + 32 * 0.00102, 1e-12);
}

TEST(BillingSkus, CustomCommitmentSoleTenancyDwsFlatRateAndGpuRowsAreSkipped) {
  RegionRates rates = RatesForRegion(FixtureSkus(), "us-central1");
  // Custom (0.0332), Sole Tenancy (0.0348) and DWS rows would all have won "keep the higher".
  EXPECT_NEAR(*rates.families.at("n2").on_demand.core, 0.032, 1e-12);
  for (const auto& [family, r] : rates.families) {
    EXPECT_NE(family, "micro");
    EXPECT_NE(family, "nvidia");
  }
  EXPECT_GT(rates.skus_skipped, 0);
}

TEST(BillingSkus, TypesThatCannotBePricedSayWhy) {
  LivePrices p = PricesFor("us-central1");
  EXPECT_FALSE(p.types.at("e2-medium").on_demand);
  EXPECT_NE(p.types.at("e2-medium").not_priced.find("shared-core"), std::string::npos);
  EXPECT_FALSE(p.types.at("n2d-standard-4").on_demand);
  EXPECT_NE(p.types.at("n2d-standard-4").not_priced.find("RAM"), std::string::npos);
  EXPECT_FALSE(p.types.at("c3-standard-4").on_demand);
  EXPECT_NE(p.types.at("c3-standard-4").not_priced.find("C3"), std::string::npos);
  json catalog = LiveCatalogJson(p);
  std::vector<std::string> names;
  for (const auto& t : catalog["machineTypes"]) names.push_back(t["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"e2-standard-4", "n1-standard-4", "n2-standard-8"}));
}

TEST(BillingSkus, EuropeWest1IsPricedFromItsOwnSkusOnly) {
  LivePrices p = PricesFor("europe-west1");
  const LivePrice& e2 = p.types.at("e2-standard-4");
  ASSERT_TRUE(e2.on_demand && e2.spot);
  EXPECT_NEAR(*e2.on_demand, 4 * 0.02399455 + 16 * 0.00321588, 1e-12);
  EXPECT_NEAR(*e2.spot, 4 * 0.00719837 + 16 * 0.00096477, 1e-12);
  EXPECT_FALSE(p.types.at("n2-standard-8").on_demand) << "no N2 SKU lists europe-west1";
}

TEST(BillingSkus, LiveCatalogJsonParsesAsACatalogWithRoundedPrices) {
  json j = LiveCatalogJson(PricesFor("us-central1"));
  auto c = ParseCatalog(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->region, "us-central1");
  EXPECT_DOUBLE_EQ(c->FindType("e2-standard-4")->price_on_demand, 0.134023);
  EXPECT_DOUBLE_EQ(*c->FindType("e2-standard-4")->price_spot, 0.040207);
  EXPECT_TRUE(c->FindType("e2-standard-4")->allocatable_derived);
}

Catalog FileCatalog() {
  json j{{"provider", "gce"},
         {"region", "us-central1"},
         {"machineTypes",
          json::array({{{"name", "e2-standard-4"}, {"vcpu", 4}, {"memoryMiB", 16384}, {"zones", {"us-central1-a"}},
                        {"pricePerHour", {{"onDemand", 0.2}, {"spot", 0.05}}}},
                       {{"name", "c3-standard-4"}, {"vcpu", 4}, {"memoryMiB", 16384}, {"zones", {"us-central1-a"}},
                        {"pricePerHour", {{"onDemand", 0.3}}}}})}};
  return ParseCatalog(j).value();
}

TEST(PriceBook, TheCatalogSourceUsesTheFilesPrices) {
  PriceBook book(FileCatalog(), PriceBookOptions{}, nullptr);
  auto snap = book.Current();
  EXPECT_EQ(snap->source, "catalog");
  EXPECT_DOUBLE_EQ(snap->catalog->FindType("e2-standard-4")->price_on_demand, 0.2);
  EXPECT_TRUE(book.Refresh().ok());
  EXPECT_EQ(book.Current()->source, "catalog");
  EXPECT_TRUE(snap->Provenance()["fetchedAt"].is_null());
}

TEST(PriceBook, RefreshFailureKeepsTheLastGoodPrices) {
  std::atomic<bool> fail{false};
  PriceBookOptions o;
  o.source = "billing";
  PriceBook book(FileCatalog(), o, [&]() -> StatusOr<LivePrices> {
    if (fail) return Status::Unavailable("billing list Compute Engine SKUs: HTTP 503");
    LivePrices p = PricesFor("us-central1");
    p.fetched_at_ms = 1767225600000;  // 2026-01-01T00:00:00Z
    return p;
  });
  // Before any fetch: the file.
  EXPECT_EQ(book.Current()->source, "catalog");
  fail = true;
  EXPECT_FALSE(book.Refresh().ok());
  EXPECT_EQ(book.Current()->source, "catalog") << "no good fetch yet: the file's prices";
  EXPECT_NE(book.Current()->last_error.find("503"), std::string::npos);
  fail = false;
  ASSERT_TRUE(book.Refresh().ok());
  auto good = book.Current();
  EXPECT_EQ(good->source, "billing");
  EXPECT_DOUBLE_EQ(good->catalog->FindType("e2-standard-4")->price_on_demand, 0.134023);
  EXPECT_DOUBLE_EQ(*good->catalog->FindType("e2-standard-4")->price_spot, 0.040207);
  EXPECT_DOUBLE_EQ(good->catalog->FindType("c3-standard-4")->price_on_demand, 0.3) << "unpriceable: file price";
  EXPECT_EQ(good->file_priced_types, (std::vector<std::string>{"c3-standard-4"}));
  json prov = good->Provenance();
  EXPECT_EQ(prov["source"], "billing");
  EXPECT_EQ(prov["fetchedAt"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(prov["filePricedTypes"], json::array({"c3-standard-4"}));
  fail = true;
  EXPECT_FALSE(book.Refresh().ok());
  auto kept = book.Current();
  EXPECT_EQ(kept->source, "billing");
  EXPECT_EQ(kept->fetched_at_ms, 1767225600000);
  EXPECT_DOUBLE_EQ(kept->catalog->FindType("e2-standard-4")->price_on_demand, 0.134023);
  EXPECT_FALSE(kept->Provenance()["lastRefreshError"].is_null());
  EXPECT_EQ(book.refreshes(), 1);
  EXPECT_EQ(book.failures(), 2);
}

TEST(PriceBook, StartRefreshesOnItsOwnThreadAndStopEndsIt) {
  std::atomic<int> calls{0};
  PriceBookOptions o;
  o.source = "billing";
  o.refresh = std::chrono::milliseconds(5);
  PriceBook book(FileCatalog(), o, [&]() -> StatusOr<LivePrices> {
    ++calls;
    return PricesFor("us-central1");
  });
  book.Start();
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (calls < 3 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  book.Stop();
  EXPECT_GE(calls.load(), 3);
  int after = calls;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), after) << "no refresh after Stop()";
  EXPECT_EQ(book.Current()->source, "billing");
}

TEST(BillingClient, FollowsEveryPageAndSendsTheCurrencyAndPageSize) {
  testing::TestHttpServer server([](const testing::TestRequest& r) {
    testing::TestResponse resp;
    if (r.Path() != "/v1/services/6F81-5844-456A/skus") {
      resp.status = 404;
      return resp;
    }
    bool second = r.target.find("pageToken=") != std::string::npos;
    resp.body = GcpFixture(second ? "billing/services.skus.list.page2.json" : "billing/services.skus.list.page1.json")
                    .dump();
    return resp;
  });
  BillingOptions o;
  o.endpoint = server.base_url() + "/v1";
  auto client = BillingCatalogClient::Create(o, nullptr, nullptr);
  ASSERT_TRUE(client.ok());
  auto skus = (*client)->ListComputeSkus();
  ASSERT_TRUE(skus.ok()) << skus.status().ToString();
  EXPECT_EQ(skus->size(), 24u);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].target.find("currencyCode=USD"), std::string::npos);
  EXPECT_NE(reqs[0].target.find("pageSize=5000"), std::string::npos);
  EXPECT_NE(reqs[1].target.find("pageToken=CiAKGjBpOWhjOHc0MHk4NDRqbnp2eDFmM2U4bDNhEgIIAA"), std::string::npos);
}

TEST(BillingClient, ARepeatedPageTokenIsAnErrorNotALoop) {
  testing::TestHttpServer server([](const testing::TestRequest&) {
    testing::TestResponse resp;
    resp.body = GcpFixture("billing/services.skus.list.page1.json").dump();
    return resp;
  });
  BillingOptions o;
  o.endpoint = server.base_url() + "/v1";
  auto client = BillingCatalogClient::Create(o, nullptr, nullptr);
  auto skus = (*client)->ListComputeSkus();
  ASSERT_FALSE(skus.ok());
  EXPECT_NE(skus.status().message().find("repeated pageToken"), std::string::npos);
  EXPECT_FALSE(BillingCatalogClient::Create(BillingOptions{"ftp://x", {}, std::chrono::milliseconds(1), 10}, nullptr,
                                            nullptr)
                   .ok());
}

}  // namespace
}  // namespace kinema::pricing
