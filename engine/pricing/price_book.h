// PriceBook: the prices plans use, and where they came from.
//
// Contract:
//   - The catalog file (planning.md §2) defines what Kinema may keep or
//     boot (types, zones, allocatable, labels, taints) and is the fallback
//     for prices. With source "catalog" its prices are used as they are.
//   - With source "billing", Refresh() fetches live prices (the injected
//     Fetch: FetchLivePrices in production) and, on success, publishes a
//     new snapshot: the file's types with their live on-demand and spot
//     prices; a type the live data cannot price keeps its file price and is
//     listed in file_priced_types. A spot price absent from the live data
//     keeps the file's. On failure the last good snapshot stays current
//     (the first one is the file's) and last_error says why.
//   - Start() refreshes at once, then every options.refresh (default 12 h)
//     after a success and every options.retry_after_failure (default 5 min,
//     at most `refresh`) after a failure, on its own thread; Stop() ends it
//     within one wake-up. Without Start() nothing runs in the background.
//   - Current() never blocks on the network: it returns the latest snapshot.
//     A snapshot is immutable; Provenance() is what the journal records
//     with a plan: {source, fetchedAt (RFC 3339, null for the file),
//     region, filePricedTypes, lastRefreshError}.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/catalog/catalog.h"
#include "engine/pricing/live_prices.h"

namespace kinema::pricing {

struct PriceSnapshot {
  std::shared_ptr<const Catalog> catalog;
  std::string source;         // "catalog" | "billing"
  int64_t fetched_at_ms = 0;  // Unix ms of the live fetch; 0 for the file's prices
  std::string region;
  std::vector<std::string> file_priced_types;  // billing: types priced from the file
  std::string last_error;                      // the latest refresh failure since this snapshot, if any
  nlohmann::json Provenance() const;
};

struct PriceBookOptions {
  std::string source = "catalog";  // catalog | billing
  std::chrono::milliseconds refresh{std::chrono::hours(12)};
  std::chrono::milliseconds retry_after_failure{std::chrono::minutes(5)};
};

// The file's types with live prices applied (see the contract).
Catalog ApplyLivePrices(const Catalog& file, const LivePrices& live, std::vector<std::string>* file_priced_types);

class PriceBook {
 public:
  using Fetch = std::function<StatusOr<LivePrices>()>;
  PriceBook(Catalog file, PriceBookOptions options, Fetch fetch);
  ~PriceBook();
  PriceBook(const PriceBook&) = delete;
  PriceBook& operator=(const PriceBook&) = delete;

  std::shared_ptr<const PriceSnapshot> Current() const;
  Status Refresh();
  void Start();
  void Stop();
  int refreshes() const;  // successful refreshes so far
  int failures() const;

 private:
  void Loop();

  PriceBookOptions options_;
  Fetch fetch_;
  std::shared_ptr<const Catalog> file_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const PriceSnapshot> current_;
  int refreshes_ = 0, failures_ = 0;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex refresh_mu_;  // one refresh at a time
};

}  // namespace kinema::pricing
