#include "engine/pricing/price_book.h"

#include <spdlog/spdlog.h>

#include <ctime>

namespace kinema::pricing {

namespace {

std::string Rfc3339(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

nlohmann::json PriceSnapshot::Provenance() const {
  return nlohmann::json{{"source", source},
                        {"fetchedAt", fetched_at_ms > 0 ? nlohmann::json(Rfc3339(fetched_at_ms)) : nlohmann::json()},
                        {"region", region},
                        {"filePricedTypes", file_priced_types},
                        {"lastRefreshError", last_error.empty() ? nlohmann::json() : nlohmann::json(last_error)}};
}

Catalog ApplyLivePrices(const Catalog& file, const LivePrices& live, std::vector<std::string>* file_priced_types) {
  Catalog out = file;
  for (auto& mt : out.machine_types) {
    auto it = live.types.find(mt.name);
    if (it == live.types.end() || !it->second.on_demand) {
      if (file_priced_types != nullptr) file_priced_types->push_back(mt.name);
      continue;
    }
    mt.price_on_demand = RoundPrice(*it->second.on_demand);
    if (it->second.spot) mt.price_spot = RoundPrice(*it->second.spot);
  }
  return out;
}

PriceBook::PriceBook(Catalog file, PriceBookOptions options, Fetch fetch)
    : options_(std::move(options)), fetch_(std::move(fetch)), file_(std::make_shared<const Catalog>(std::move(file))) {
  auto snap = std::make_shared<PriceSnapshot>();
  snap->catalog = file_;
  snap->source = "catalog";
  snap->region = file_->region;
  current_ = std::move(snap);
  if (options_.retry_after_failure > options_.refresh) options_.retry_after_failure = options_.refresh;
}

PriceBook::~PriceBook() { Stop(); }

std::shared_ptr<const PriceSnapshot> PriceBook::Current() const {
  std::lock_guard<std::mutex> l(mu_);
  return current_;
}

int PriceBook::refreshes() const {
  std::lock_guard<std::mutex> l(mu_);
  return refreshes_;
}

int PriceBook::failures() const {
  std::lock_guard<std::mutex> l(mu_);
  return failures_;
}

Status PriceBook::Refresh() {
  if (options_.source != "billing") return Status::OK();
  std::lock_guard<std::mutex> one(refresh_mu_);
  StatusOr<LivePrices> live = fetch_ ? fetch_() : StatusOr<LivePrices>(Status::FailedPrecondition("no fetcher"));
  std::lock_guard<std::mutex> l(mu_);
  if (!live.ok()) {
    ++failures_;
    auto kept = std::make_shared<PriceSnapshot>(*current_);
    kept->last_error = live.status().ToString();
    current_ = std::move(kept);
    spdlog::warn("pricing: refresh from the Cloud Billing Catalog failed, keeping the {} prices{}: {}",
                 current_->source,
                 current_->fetched_at_ms > 0 ? " fetched at " + Rfc3339(current_->fetched_at_ms) : std::string(),
                 live.status().ToString());
    return live.status();
  }
  auto snap = std::make_shared<PriceSnapshot>();
  snap->source = "billing";
  snap->fetched_at_ms = live->fetched_at_ms;
  snap->region = live->region;
  snap->catalog = std::make_shared<const Catalog>(ApplyLivePrices(*file_, *live, &snap->file_priced_types));
  ++refreshes_;
  std::string fallback;
  for (const auto& t : snap->file_priced_types) fallback += (fallback.empty() ? "" : ", ") + t;
  spdlog::info("pricing: live prices for {} ({} type(s) from the billing API{}{})", live->region,
               snap->catalog->machine_types.size() - snap->file_priced_types.size(),
               fallback.empty() ? "" : "; from the catalog file: ", fallback);
  current_ = std::move(snap);
  return Status::OK();
}

void PriceBook::Start() {
  if (options_.source != "billing") return;
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void PriceBook::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PriceBook::Loop() {
  while (true) {
    Status s = Refresh();
    std::unique_lock<std::mutex> l(mu_);
    auto wait = s.ok() ? options_.refresh : options_.retry_after_failure;
    if (cv_.wait_for(l, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace kinema::pricing
