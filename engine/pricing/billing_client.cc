#include "engine/http/url.h"
#include "engine//pricing/billing_client.h"

#include <spdlog/spdlog.h>

#include "engine/http/redact.h"

namespace kinema::pricing {

StatusOr<std::unique_ptr<BillingCatalogClient>> BillingCatalogClient::Create(
    BillingOptions options, std::shared_ptr<cloud::TokenSource> tokens, std::shared_ptr<const http::HttpClient> http) {
  if (options.endpoint.empty()) options.endpoint = kDefaultBillingEndpoint;
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("pricing.endpoint: \"" + http::RedactUrl(options.endpoint) +
                                   "\" is not an http(s) URL");
  }
  while (options.endpoint.back() == '/') options.endpoint.pop_back();
  if (options.page_size <= 0 || options.page_size > 5000) options.page_size = 5000;
  return std::unique_ptr<BillingCatalogClient>(
      new BillingCatalogClient(std::move(options), std::move(tokens), std::move(http)));
}

BillingCatalogClient::BillingCatalogClient(BillingOptions options, std::shared_ptr<cloud::TokenSource> tokens,
                                           std::shared_ptr<const http::HttpClient> http)
    : options_(std::move(options)),
      caller_("billing", std::move(tokens), std::move(http), options_.retry, options_.request_timeout) {}

std::string BillingCatalogClient::Describe() const {
  return "billing endpoint=" + http::RedactUrl(options_.endpoint) + " token=" + caller_.tokens().Describe();
}

StatusOr<std::vector<Sku>> BillingCatalogClient::ListComputeSkus() {
  const std::string what = "billing list Compute Engine SKUs";
  std::vector<Sku> out;
  cloud::PageCursor cursor;
  int pages = 0;
  while (true) {
    std::string url = options_.endpoint + "/services/" + kComputeServiceId +
                      "/skus?currencyCode=USD&pageSize=" + std::to_string(options_.page_size);
    if (!cursor.token.empty()) url += "&pageToken=" + http::UrlEncode(cursor.token);
    auto r = caller_.Call("GET", url, "", what);
    if (!r.ok()) return r.status();
    auto page = nlohmann::json::parse(r->body, nullptr, false);
    if (page.is_discarded()) return Status::Internal(what + ": page " + std::to_string(pages + 1) + " is not JSON");
    auto skus = ParseSkuPage(page, what);
    if (!skus.ok()) return skus.status();
    for (auto& s : *skus) out.push_back(std::move(s));
    ++pages;
    auto more = cursor.Advance(page, what);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  spdlog::info("billing: {} Compute Engine SKUs in {} page(s) from {}", out.size(), pages,
               http::RedactUrl(options_.endpoint));
  return out;
}

}  // namespace kinema::pricing
