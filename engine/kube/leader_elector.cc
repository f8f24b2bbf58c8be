#include "engine/kube/leader_elector.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/common/safe_json.h"
#include "engine/common/time.h"

namespace kinema::kube {

namespace {
using SteadyClock = std::chrono::steady_clock;

std::string LeaseRef(const LeaderElectionConfig& c) { return "lease " + c.lease_namespace + "/" + c.lease_name; }
}  // namespace

StatusOr<std::unique_ptr<LeaderElector>> LeaderElector::Create(Client* client, LeaderElectionConfig config) {
  if (client == nullptr) return Status::InvalidArgument("leader election: no client");
  if (config.identity.empty()) return Status::InvalidArgument("leader election: identity must not be empty");
  if (config.lease_name.empty() || config.lease_namespace.empty()) {
    return Status::InvalidArgument("leader election: lease namespace and name must not be empty");
  }
  if (config.lease_duration <= config.renew_deadline) {
    return Status::InvalidArgument("leader election: lease duration must be greater than the renew deadline");
  }
  if (config.renew_deadline.count() * 10 <= config.retry_period.count() * 12) {
    return Status::InvalidArgument("leader election: renew deadline must be greater than 1.2 x retry period");
  }
  if (config.retry_period.count() <= 0) return Status::InvalidArgument("leader election: retry period must be > 0");
  return std::unique_ptr<LeaderElector>(new LeaderElector(client, std::move(config)));
}

LeaderElector::LeaderElector(Client* client, LeaderElectionConfig config)
    : client_(client), config_(std::move(config)) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> l(sleep_mu_);
    sleep_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

std::optional<Epoch> LeaderElector::Current() const {
  std::lock_guard<std::mutex> l(mu_);
  if (!leading_) return std::nullopt;
  if (SteadyClock::now() - last_renew_sent_ >= config_.renew_deadline) return std::nullopt;
  return epoch_;
}

std::string LeaderElector::ObservedHolder() const {
  std::lock_guard<std::mutex> l(mu_);
  return observed_holder_;
}

void LeaderElector::MarkLost(const std::string& why) {
  Epoch lost;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!leading_) return;
    leading_ = false;
    lost = epoch_;
  }
  spdlog::warn("leader election {}: lost leadership (epoch {}): {}", LeaseRef(config_), lost.value, why);
  if (config_.on_stopped_leading) config_.on_stopped_leading(lost);
}

StatusOr<Json> LeaderElector::PutLease(const Json& lease, const std::string& what) {
  RawRequest r;
  r.method = "PUT";
  r.path = resources::kLeases.Path(config_.lease_namespace, config_.lease_name);
  r.what = what;
  r.body = lease.dump();
  r.bypass_mutation_gate = true;
  r.retry_5xx = false;  // the elector's own loop is the retry
  r.retry_429 = false;
  r.timeout = std::max(config_.retry_period, std::chrono::milliseconds(1000));
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  return DecodeObject(resp->status, resp->body, what);
}

bool LeaderElector::TryAcquireOrRenew() {
  const auto attempt_start = SteadyClock::now();
  {
    bool deadline_passed;
    {
      std::lock_guard<std::mutex> l(mu_);
      deadline_passed = leading_ && attempt_start - last_renew_sent_ >= config_.renew_deadline;
    }
    if (deadline_passed) MarkLost("renew deadline passed without a successful renewal");
  }
  const std::string now_text = FormatRfc3339(std::chrono::system_clock::now(), 6);
  const int64_t duration_s =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count());

  RawRequest get;
  get.path = resources::kLeases.Path(config_.lease_namespace, config_.lease_name);
  get.what = "get " + LeaseRef(config_);
  get.retry_5xx = false;
  get.retry_429 = false;
  get.timeout = std::max(config_.retry_period, std::chrono::milliseconds(1000));
  ApiError get_err;
  auto got = client_->Do(get, &get_err);

  bool was_leading;
  int64_t min_next;
  {
    std::lock_guard<std::mutex> l(mu_);
    was_leading = leading_ && attempt_start - last_renew_sent_ < config_.renew_deadline;
    min_next = std::max(config_.min_epoch, last_epoch_ + 1);
  }

  if (!got.ok() && get_err.code == 404) {
    Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
                  {"spec",
                   {{"holderIdentity", config_.identity},
                    {"leaseDurationSeconds", duration_s},
                    {"acquireTime", now_text},
                    {"renewTime", now_text},
                    {"leaseTransitions", std::max<int64_t>(0, min_next)}}}};
    RawRequest create;
    create.method = "POST";
    create.path = resources::kLeases.Path(config_.lease_namespace);
    create.what = "create " + LeaseRef(config_);
    create.body = lease.dump();
    create.bypass_mutation_gate = true;
    create.retry_5xx = false;
    create.retry_429 = false;
    create.timeout = get.timeout;
    auto created = client_->Do(create);
    if (!created.ok()) {
      spdlog::debug("leader election: {}", created.status().ToString());
      return false;
    }
    Epoch e{std::max<int64_t>(0, min_next), config_.identity};
    {
      std::lock_guard<std::mutex> l(mu_);
      leading_ = true;
      epoch_ = e;
      last_epoch_ = e.value;
      last_renew_sent_ = attempt_start;
      observed_holder_ = config_.identity;
    }
    spdlog::info("leader election {}: acquired (created) as {} with epoch {}", LeaseRef(config_), config_.identity,
                 e.value);
    if (config_.on_started_leading) config_.on_started_leading(e);
    return true;
  }
  if (!got.ok()) {
    spdlog::debug("leader election: {}", got.status().ToString());
    return false;
  }
  auto lease = safe_json::Parse(got->body);
  if (!lease.is_object()) return false;
  const Json* found_spec = safe_json::FindObject(lease, "spec");
  const Json spec = found_spec != nullptr ? *found_spec : Json::object();
  const std::string holder = safe_json::String(spec, "holderIdentity");
  const int64_t transitions = safe_json::Int(spec, "leaseTransitions");
  const std::string record = holder + "|" + safe_json::String(spec, "renewTime") + "|" + std::to_string(transitions);
  // Another holder's duration, bounded: a hostile value must not overflow the clock arithmetic.
  const int64_t their_duration = std::clamp<int64_t>(safe_json::Int(spec, "leaseDurationSeconds", duration_s), 1, 3600);

  bool expired;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (record != observed_record_) {
      observed_record_ = record;
      observed_at_ = attempt_start;
      observed_duration_ = std::chrono::seconds(their_duration);
    }
    observed_holder_ = holder;
    expired = attempt_start >= observed_at_ + observed_duration_;
  }

  if (!holder.empty() && holder != config_.identity && !expired) {
    if (was_leading) MarkLost("lease is held by " + holder);
    return false;
  }

  const bool renew = was_leading && holder == config_.identity;
  Json updated = lease;
  updated["spec"]["holderIdentity"] = config_.identity;
  updated["spec"]["leaseDurationSeconds"] = duration_s;
  updated["spec"]["renewTime"] = now_text;
  int64_t new_epoch = transitions;
  if (!renew) {
    new_epoch = std::max(transitions + 1, min_next);
    updated["spec"]["leaseTransitions"] = new_epoch;
    updated["spec"]["acquireTime"] = now_text;
  }
  auto put = PutLease(updated, (renew ? "renew " : "acquire ") + LeaseRef(config_));
  if (!put.ok()) {
    spdlog::debug("leader election: {}", put.status().ToString());
    return false;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    observed_record_ = config_.identity + "|" + now_text + "|" + std::to_string(new_epoch);
    observed_at_ = attempt_start;
    last_renew_sent_ = attempt_start;
    if (renew) return true;
    leading_ = true;
    epoch_ = Epoch{new_epoch, config_.identity};
    last_epoch_ = new_epoch;
  }
  spdlog::info("leader election {}: acquired as {} with epoch {} (previous holder \"{}\")", LeaseRef(config_),
               config_.identity, new_epoch, holder);
  if (config_.on_started_leading) config_.on_started_leading(Epoch{new_epoch, config_.identity});
  return true;
}

void LeaderElector::Release() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!leading_) return;
  }
  RawRequest get;
  get.path = resources::kLeases.Path(config_.lease_namespace, config_.lease_name);
  get.what = "get " + LeaseRef(config_);
  get.retry_5xx = false;
  get.timeout = std::max(config_.retry_period, std::chrono::milliseconds(1000));
  auto got = client_->Do(get);
  if (got.ok()) {
    auto lease = safe_json::Parse(got->body);
    const Json* spec = safe_json::FindObject(lease, "spec");
    if (spec != nullptr && safe_json::String(*spec, "holderIdentity") == config_.identity) {
      lease["spec"]["holderIdentity"] = "";
      lease["spec"]["leaseDurationSeconds"] = 1;
      lease["spec"]["renewTime"] = FormatRfc3339(std::chrono::system_clock::now(), 6);
      auto put = PutLease(lease, "release " + LeaseRef(config_));
      if (!put.ok()) spdlog::warn("leader election: {}", put.status().ToString());
    }
  }
  MarkLost("stopped");
}

void LeaderElector::Run() {
  while (!stop_) {
    bool leading = TryAcquireOrRenew();
    if (!leading) {
      // A failed renew only costs leadership once the deadline has passed.
      bool deadline_passed;
      {
        std::lock_guard<std::mutex> l(mu_);
        deadline_passed = leading_ && SteadyClock::now() - last_renew_sent_ >= config_.renew_deadline;
      }
      if (deadline_passed) MarkLost("renew deadline passed without a successful renewal");
    }
    // client-go waits retry_period (jittered when not leading).
    std::unique_lock<std::mutex> l(sleep_mu_);
    sleep_cv_.wait_for(l, config_.retry_period, [this] { return stop_.load(); });
  }
  if (config_.release_on_stop) {
    Release();
  } else {
    MarkLost("stopped");
  }
}

}  // namespace kinema::kube
