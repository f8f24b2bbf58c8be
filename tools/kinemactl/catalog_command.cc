#include "tools/kinemactl/catalog_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "engine/cloud/gce_provider.h"
#include "engine/common/flags.h"
#include "engine/pricing/live_prices.h"

namespace kinema::ctl {

namespace {

const char* kUsage =
    "usage: kinemactl catalog --project P --region R [--zones Z1,Z2] [--types T1,T2] [--endpoint COMPUTE_URL]\n"
    "                         [--billing-endpoint URL] [--token-file F] [--output FILE]\n"
    "Writes a catalog file (machine types, zones, on-demand and spot $/h) from the Compute Engine and Cloud\n"
    "Billing Catalog APIs.\n";

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int Fail(int code, const std::string& msg) {
  std::fprintf(stderr, "kinemactl catalog: %s\n", msg.c_str());
  return code;
}

std::string BillingEndpointFor(const std::string& compute) {
  const std::string suffix = "/compute/v1";
  if (compute.empty() || cloud::IsGoogleEndpoint(compute)) return pricing::kDefaultBillingEndpoint;
  if (compute.size() > suffix.size() && compute.compare(compute.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return compute.substr(0, compute.size() - suffix.size()) + "/cloudbilling/v1";
  }
  return pricing::kDefaultBillingEndpoint;
}

}  // namespace

int RunCatalogCommand(const std::vector<std::string>& args) {
  FlagSet f;
  f.AddString("project", "", "GCP project (machine types are read through it)");
  f.AddString("region", "", "region to price, e.g. us-central1");
  f.AddString("zones", "", "comma-separated zones (default: every zone of the region)");
  f.AddString("types", "", "comma-separated machine types to include (default: every priced type)");
  f.AddString("endpoint", "", "Compute API base URL (default: the real one)");
  f.AddString("billing-endpoint", "", "Cloud Billing Catalog base URL ending in /v1");
  f.AddString("token-file", "", "file holding an OAuth2 access token");
  f.AddString("output", "", "write the catalog here instead of stdout");
  f.AddBool("help", "show this help");
  Status ps = f.Parse(args, 0);
  if (!ps.ok()) return Fail(2, ps.message() + " (see kinemactl catalog --help)");
  if (f.GetBool("help")) {
    std::cout << kUsage << f.Usage();
    return 0;
  }
  if (f.Get("project").empty()) return Fail(2, "--project is required");
  if (f.Get("region").empty()) return Fail(2, "--region is required");
  const std::string endpoint = f.Get("endpoint");
  const std::string billing_endpoint =
      f.IsSet("billing-endpoint") ? f.Get("billing-endpoint") : BillingEndpointFor(endpoint);

  auto http = std::make_shared<const http::HttpClient>();
  cloud::GceOptions o;
  if (!endpoint.empty()) o.endpoint = endpoint;
  o.project = f.Get("project");
  auto compute = cloud::GceCloudProvider::Create(o, cloud::ChooseTokenSource(endpoint, f.Get("token-file"), http), http);
  if (!compute.ok()) return Fail(2, compute.status().message());
  pricing::BillingOptions bo;
  bo.endpoint = billing_endpoint;
  std::shared_ptr<cloud::TokenSource> billing_tokens(
      cloud::ChooseTokenSource(billing_endpoint, f.Get("token-file"), http).release());
  auto billing = pricing::BillingCatalogClient::Create(bo, billing_tokens, http);
  if (!billing.ok()) return Fail(2, billing.status().message());

  std::vector<std::string> zones = SplitList(f.Get("zones"));
  if (zones.empty()) {
    auto listed = (*compute)->ListZones(f.Get("region"));
    if (!listed.ok()) return Fail(1, listed.status().ToString());
    zones = *listed;
    if (zones.empty()) return Fail(2, "project " + o.project + " has no zone in region " + f.Get("region"));
  }
  for (const auto& z : zones) {
    if (z.rfind(f.Get("region") + "-", 0) != 0) {
      return Fail(2, "--zones: " + z + " is not a zone of region " + f.Get("region"));
    }
  }
  auto live = pricing::FetchLivePrices(**billing, **compute, f.Get("region"), zones, SplitList(f.Get("types")));
  if (!live.ok()) {
    return Fail(live.status().code() == Status::Code::kFailedPrecondition ? 2 : 1, live.status().ToString());
  }
  size_t priced = 0;
  for (const auto& [name, p] : live->types) {
    if (p.on_demand) {
      ++priced;
      if (!p.spot) std::fprintf(stderr, "kinemactl catalog: %s: no spot price in %s\n", name.c_str(), live->region.c_str());
    } else {
      std::fprintf(stderr, "kinemactl catalog: %s left out: %s\n", name.c_str(), p.not_priced.c_str());
    }
  }
  for (const auto& t : SplitList(f.Get("types"))) {
    if (!live->types.count(t)) std::fprintf(stderr, "kinemactl catalog: %s is offered in none of the zones\n", t.c_str());
  }
  if (priced == 0) return Fail(2, "no machine type could be priced in " + live->region);
  std::string text = pricing::LiveCatalogJson(*live).dump(2) + "\n";
  if (f.Get("output").empty()) {
    std::cout << text;
  } else {
    std::ofstream out(f.Get("output"));
    if (!out || !(out << text)) return Fail(1, "cannot write " + f.Get("output"));
    std::fprintf(stderr, "kinemactl catalog: %zu machine type(s) written to %s\n", priced, f.Get("output").c_str());
  }
  return 0;
}

}  // namespace kinema::ctl
