// BillingCatalogClient: reads the Compute Engine SKUs of the Cloud Billing
// Catalog API (GET <endpoint>/services/6F81-5844-456A/skus?currencyCode=USD,
// paged with pageSize/pageToken), through the same retrying caller as the
// Compute and GKE clients.
//
// Contract:
//   - Endpoint: options.endpoint (config pricing.endpoint, a base URL ending
//     in /v1), default https://cloudbilling.googleapis.com/v1.
//   - ListComputeSkus() follows nextPageToken to the end (a repeated token
//     is an error, never a loop) and parses every page (billing_skus.h).
//   - Credentials: the token source's bearer token (the API accepts any
//     authenticated caller; Workload Identity's token works), none for a
//     custom endpoint such as kinema-sim's.
// Thread-safety: safe for concurrent use.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/cloud/google_api.h"
#include "engine/pricing/billing_skus.h"

namespace kinema::pricing {

inline constexpr const char* kDefaultBillingEndpoint = "https://cloudbilling.googleapis.com/v1";

struct BillingOptions {
  std::string endpoint = kDefaultBillingEndpoint;
  kube::RetryPolicy retry;
  std::chrono::milliseconds request_timeout{60000};
  int page_size = 5000;
};

class BillingCatalogClient {
 public:
  static StatusOr<std::unique_ptr<BillingCatalogClient>> Create(BillingOptions options,
                                                                std::shared_ptr<cloud::TokenSource> tokens,
                                                                std::shared_ptr<const http::HttpClient> http);
  StatusOr<std::vector<Sku>> ListComputeSkus();
  std::string Describe() const;

 private:
  BillingCatalogClient(BillingOptions options, std::shared_ptr<cloud::TokenSource> tokens,
                       std::shared_ptr<const http::HttpClient> http);
  BillingOptions options_;
  cloud::GoogleApiCaller caller_;
};

}  // namespace kinema::pricing
