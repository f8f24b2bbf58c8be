// FakeBilling: the Cloud Billing Catalog API subset kinema-sim serves for
// Compute Engine prices, derived from the catalog it was started with:
//
//   GET /cloudbilling/v1/services/6F81-5844-456A/skus[?currencyCode=USD&pageSize=N&pageToken=T]
//
// Contract:
//   - For each machine family of the catalog (the type name before its
//     first '-'), per-vCPU ("<Family prefix> Core running in <Loc>", usageUnit
//     h) and per-GiB ("… Ram running in <Loc>", GiBy.h; GBy.h for N2, as
//     some real SKUs are) SKUs for the catalog's region, on-demand
//     (usageType OnDemand) and, when the family has spot prices, spot
//     ("Spot Preemptible …", usageType Preemptible). Rates are fitted so that
//     guestCpus × core + GiB × RAM reproduces each type's catalog price
//     (least squares per family; a family whose types all have one
//     CPU:memory ratio is split 7.46:1 per vCPU:GiB, roughly GCE's ratio);
//     a type the fit cannot reproduce within $0.000001/h is logged.
//   - The pitfalls a client must handle are present on purpose: a broad
//     multi-region SKU overlapping each regional one at a lower rate (keep
//     the higher), the same SKUs for another region at a higher rate (filter
//     by serviceRegions), and rows to skip (Custom, Commitment, a flat-rate
//     shared-core SKU, a GPU).
//   - Pages of pageSize (default and maximum 5000) SKUs, nextPageToken
//     opaque; a bad pageSize/pageToken is 400 INVALID_ARGUMENT; any other
//     service is 404 NOT_FOUND (google.rpc error bodies).
//   - --faults rules on "cloudbilling.skus" (verb list) or "cloudbilling.*"
//     apply as they do to Compute.
// Thread-safety: the SKU list is built in Start() and read-only afterwards.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "tools/kinema-sim/faults.h"
#include "tools/kinema-sim/http_types.h"
#include "tools/kinema-sim/sim_component.h"

namespace kinema {
class Catalog;
}

namespace kinema::sim {
class SimServer;
}

namespace kinema::sim::gce {

std::optional<FaultTarget> ClassifyBillingRequest(const HttpRequest& req);

// The SKU list for a catalog (what the fake serves), exposed for tests.
nlohmann::json BillingSkusFor(const Catalog& catalog);

class FakeBilling : public SimComponent {
 public:
  void Attach(SimServer& server);
  std::string Name() const override { return "billing"; }
  Status Start(SimServer& server) override;
  HttpResponse Handle(const HttpRequest& req) const;

 private:
  SimServer* server_ = nullptr;
  nlohmann::json skus_ = nlohmann::json::array();
};

}  // namespace kinema::sim::gce
