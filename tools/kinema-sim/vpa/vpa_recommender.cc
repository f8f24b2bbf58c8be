#include "tools/kinema-sim/vpa/vpa_recommender.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "engine/quantity/quantity.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::vpa {

namespace {

using Json = nlohmann::json;

const ResourceType& VpaType() {
  return *ResourceRegistry::Default().Find("autoscaling.k8s.io", "v1", "verticalpodautoscalers");
}

Status ReadNumber(const Json& section, const char* key, double* out, double min, double max) {
  if (!section.contains(key)) return Status::OK();
  const Json& v = section[key];
  if (!v.is_number() || v.get<double>() < min || v.get<double>() > max) {
    return Status::InvalidArgument(std::string("scenario vpa.") + key + ": must be a number in [" +
                                   std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  *out = v.get<double>();
  return Status::OK();
}

Status ReadDuration(const Json& section, const char* key, double* out) {
  if (!section.contains(key)) return Status::OK();
  auto v = usage::ParseSeconds(section[key]);
  if (!v.ok() || *v <= 0) {
    return Status::InvalidArgument(std::string("scenario vpa.") + key + ": bad duration (use e.g. 30s, 1m, 24h)");
  }
  *out = *v;
  return Status::OK();
}

void SetCondition(Json& status, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, const std::string& now) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) status["conditions"] = Json::array();
  std::string want = value ? "True" : "False";
  for (auto& c : status["conditions"]) {
    if (c.value("type", "") != type) continue;
    if (c.value("status", "") != want) c["lastTransitionTime"] = now;
    c["status"] = want;
    c["reason"] = reason;
    c["message"] = message;
    return;
  }
  Json c = {{"type", type}, {"status", want}, {"lastTransitionTime", now}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  status["conditions"].push_back(std::move(c));
}

void RemoveCondition(Json& status, const std::string& type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) return;
  auto& conds = status["conditions"];
  for (auto it = conds.begin(); it != conds.end(); ++it) {
    if (it->value("type", "") == type) {
      conds.erase(it);
      return;
    }
  }
}

}  // namespace

Status VpaRecommender::Start(SimServer& server) {
  server_ = &server;
  const Json& sc = server.scenario();
  if (sc.contains("vpa")) {
    const Json& v = sc["vpa"];
    if (!v.is_object()) return Status::InvalidArgument("scenario vpa: must be an object");
    static const std::set<std::string> kKeys = {"recommenderInterval", "halfLife", "memoryAggregationInterval",
                                                "marginFraction", "targetCpuPercentile", "targetMemoryPercentile",
                                                "podMinCpuMillicores", "podMinMemoryMb"};
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!kKeys.count(it.key())) return Status::InvalidArgument("scenario vpa." + it.key() + ": unknown key");
    }
    KINEMA_RETURN_IF_ERROR(ReadDuration(v, "recommenderInterval", &interval_s_));
    KINEMA_RETURN_IF_ERROR(ReadDuration(v, "halfLife", &config_.half_life_s));
    KINEMA_RETURN_IF_ERROR(ReadDuration(v, "memoryAggregationInterval", &config_.memory_aggregation_interval_s));
    KINEMA_RETURN_IF_ERROR(ReadNumber(v, "marginFraction", &config_.margin_fraction, 0, 10));
    KINEMA_RETURN_IF_ERROR(ReadNumber(v, "targetCpuPercentile", &config_.target_percentile_cpu, 0, 1));
    KINEMA_RETURN_IF_ERROR(ReadNumber(v, "targetMemoryPercentile", &config_.target_percentile_memory, 0, 1));
    double min_cpu_milli = config_.pod_min_cpu_cores * 1000, min_mem_mb = config_.pod_min_memory_bytes / 1048576.0;
    KINEMA_RETURN_IF_ERROR(ReadNumber(v, "podMinCpuMillicores", &min_cpu_milli, 0, 1e6));
    KINEMA_RETURN_IF_ERROR(ReadNumber(v, "podMinMemoryMb", &min_mem_mb, 0, 1e9));
    config_.pod_min_cpu_cores = min_cpu_milli / 1000;
    config_.pod_min_memory_bytes = min_mem_mb * 1048576.0;
  }
  std::lock_guard l(mu_);
  timer_ = std::make_unique<boost::asio::steady_timer>(server.io());
  Schedule();
  spdlog::info("vpa-recommender: every {}s (simulated), target p{:.0f} cpu / p{:.0f} memory peaks, margin {}",
               interval_s_, config_.target_percentile_cpu * 100, config_.target_percentile_memory * 100,
               config_.margin_fraction);
  return Status::OK();
}

void VpaRecommender::Stop() {
  std::lock_guard l(mu_);
  stopped_ = true;
  if (timer_) timer_->cancel();
}

void VpaRecommender::Schedule() {
  double wall = interval_s_ / std::max(server_->clock().time_scale(), 1e-6);
  timer_->expires_after(std::chrono::milliseconds(static_cast<int64_t>(std::max(wall, 0.05) * 1000)));
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    RunOnce();
    std::lock_guard l(mu_);
    if (!stopped_) Schedule();
  });
}

Resources VpaRecommender::MaxNodeAllocatable() {
  WatchFilter f;
  f.resource = ResourceRegistry::Default().Find("", "v1", "nodes");
  Resources best;
  for (const auto& n : server_->store().List(f).items) {
    const Json a = n->body.value("status", Json::object()).value("allocatable", Json::object());
    double cpu = 0, mem = 0;
    if (a.contains("cpu") && a["cpu"].is_string()) {
      auto v = ParseQuantityMilli(a["cpu"].get<std::string>());
      if (v.ok()) cpu = v.value() / 1000.0;
    }
    if (a.contains("memory") && a["memory"].is_string()) {
      auto v = ParseQuantityValue(a["memory"].get<std::string>());
      if (v.ok()) mem = static_cast<double>(v.value());
    }
    // Upstream picks the node larger in both dimensions.
    if (cpu > best.cpu_cores && mem > best.memory_bytes) best = {cpu, mem};
  }
  return best;
}

int VpaRecommender::RunOnce() {
  const ResourceType& rt = VpaType();
  WatchFilter f;
  f.resource = &rt;
  auto vpas = server_->store().List(f).items;
  if (vpas.empty()) return 0;
  auto pods = usage_->SamplePods(/*running_only=*/true);
  double t = usage_->SimSeconds();
  Resources max_node = MaxNodeAllocatable();
  const std::string now = SimClock::FormatTime(server_->clock().Now());
  int updated = 0;
  std::lock_guard l(mu_);
  if (stopped_) return 0;
  std::set<std::string> live;
  for (const auto& vpa : vpas) {
    const Json& b = vpa->body;
    std::string key = vpa->ns + "/" + vpa->name;
    std::string uid = b["metadata"].value("uid", "");
    live.insert(key);
    auto& entry = states_[key];
    if (entry.first != uid) {
      entry.first = uid;
      entry.second.clear();
    }
    const Json spec = b.value("spec", Json::object());
    const Json ref = spec.value("targetRef", Json::object());
    std::string kind = ref.value("kind", ""), name = ref.value("name", "");
    int matched = 0;
    for (const auto& p : pods) {
      if (p.ns != vpa->ns || p.workload_kind != kind || p.workload_name != name) continue;
      ++matched;
      for (const auto& c : p.containers) {
        auto it = entry.second.find(c.name);
        if (it == entry.second.end()) it = entry.second.emplace(c.name, AggregateContainerState(config_)).first;
        it->second.AddSample(p.ns + "/" + p.name + "/" + p.uid, c.cpu_cores, c.cpu_request_milli / 1000.0,
                             c.memory_bytes, t);
      }
    }
    auto recs = ApplyPolicy(spec.value("resourcePolicy", Json::object()), Estimate(config_, entry.second, max_node));
    Json rec_json = RecommendationJson(recs);
    auto r = server_->registry().Modify(
        rt, vpa->ns, vpa->name,
        [&](Json& obj) -> std::optional<ApiError> {
          if (obj["metadata"].value("uid", "") != uid) return ApiError::Conflict(rt, vpa->name, "recreated");
          Json& st = obj["status"];
          if (!st.is_object()) st = Json::object();
          if (!recs.empty()) {
            st["recommendation"] = {{"containerRecommendations", rec_json}};
            SetCondition(st, "RecommendationProvided", true, "", "", now);
          } else if (!st.contains("recommendation")) {
            SetCondition(st, "RecommendationProvided", false, "", "", now);
          }
          if (matched == 0) {
            SetCondition(st, "NoPodsMatched", true, "NoPodsMatched", "No pods match this VPA object", now);
          } else {
            RemoveCondition(st, "NoPodsMatched");
          }
          return std::nullopt;
        },
        "status");
    if (r.ok()) {
      ++updated;
    } else if (r.error().code != 404 && r.error().code != 409) {
      spdlog::warn("vpa-recommender: update status of {}: {}", key, r.error().message);
    }
  }
  for (auto it = states_.begin(); it != states_.end();) {
    it = live.count(it->first) ? std::next(it) : states_.erase(it);
  }
  return updated;
}

}  // namespace kinema::sim::vpa
