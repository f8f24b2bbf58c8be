#include "tools/kinema-sim/usage/hpa_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "engine/quantity/quantity.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/sim_server.h"
#include "tools/kinema-sim/usage/usage_component.h"

namespace kinema::sim::usage {

namespace {

using json = nlohmann::json;

struct Condition {
  std::string type, status, reason, message;
};

std::string FormatAverage(const std::string& resource, double v) {
  if (resource == "cpu") return FormatMilliCpu(static_cast<int64_t>(std::llround(v * 1000)));
  return std::to_string(static_cast<int64_t>(std::llround(v)));
}

// Sets conditions keeping lastTransitionTime of those whose status did not change.
json MergeConditions(const json& old, const std::vector<Condition>& now_conditions, const std::string& now) {
  json out = json::array();
  for (const auto& c : now_conditions) {
    std::string since = now;
    if (old.is_array()) {
      for (const auto& o : old) {
        if (o.value("type", "") == c.type && o.value("status", "") == c.status && o.contains("lastTransitionTime")) {
          since = o["lastTransitionTime"].get<std::string>();
        }
      }
    }
    out.push_back({{"type", c.type}, {"status", c.status}, {"lastTransitionTime", since},
                   {"reason", c.reason}, {"message", c.message}});
  }
  return out;
}

const ResourceType* TargetType(const json& ref) {
  std::string kind = ref.value("kind", "");
  std::string api = ref.value("apiVersion", "apps/v1");
  if (api != "apps/v1") return nullptr;
  if (kind == "Deployment") return ResourceRegistry::Default().Find("apps", "v1", "deployments");
  if (kind == "StatefulSet") return ResourceRegistry::Default().Find("apps", "v1", "statefulsets");
  if (kind == "ReplicaSet") return ResourceRegistry::Default().Find("apps", "v1", "replicasets");
  return nullptr;
}

}  // namespace

Status HpaController::Start(SimServer& server) {
  server_ = &server;
  double scale = server.clock().time_scale();
  period_ = std::max(std::chrono::milliseconds(50),
                     std::chrono::milliseconds(static_cast<int64_t>(15000.0 / std::max(scale, 1e-6))));
  std::lock_guard l(mu_);
  timer_ = std::make_unique<boost::asio::steady_timer>(server.io());
  ScheduleSync();
  spdlog::info("hpa: syncing every 15 simulated seconds ({} ms)", period_.count());
  return Status::OK();
}

void HpaController::Stop() {
  std::lock_guard l(mu_);
  stopped_ = true;
  if (timer_) timer_->cancel();
}

void HpaController::ScheduleSync() {
  timer_->expires_after(period_);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    SyncAll();
    std::lock_guard l(mu_);
    if (!stopped_) ScheduleSync();
  });
}

int HpaController::SyncAll() {
  const ResourceType* hpa_rt = ResourceRegistry::Default().Find("autoscaling", "v2", "horizontalpodautoscalers");
  WatchFilter f;
  f.resource = hpa_rt;
  auto hpas = server_->store().List(f).items;
  if (hpas.empty()) return 0;
  std::vector<PodSample> pods = usage_->SamplePods(/*running_only=*/false);
  const double now_s = usage_->SimSeconds();
  const std::string now = SimClock::FormatTime(server_->clock().Now());
  int rescaled = 0;

  for (const auto& h : hpas) {
    try {
      rescaled += SyncOne(h, pods, now_s, now);
    } catch (const std::exception& e) {  // a malformed object must not stop the controller
      spdlog::warn("hpa {}/{}: skipped: {}", h->ns, h->name, e.what());
    }
  }
  return rescaled;
}

int HpaController::SyncOne(const ObjectPtr& h, const std::vector<PodSample>& pods, double now_s,
                           const std::string& now) {
  const ResourceType* hpa_rt = ResourceRegistry::Default().Find("autoscaling", "v2", "horizontalpodautoscalers");
  int rescaled = 0;
  {
    const json& spec = h->body.at("spec");
    const json& ref = spec.contains("scaleTargetRef") ? spec["scaleTargetRef"] : json::object();
    const std::string target_kind = ref.value("kind", "");
    const std::string target_name = ref.value("name", "");
    const int min_replicas = spec.value("minReplicas", 1);
    const int max_replicas = spec.value("maxReplicas", 1);
    const json old_status = h->body.contains("status") ? h->body["status"] : json::object();
    std::vector<Condition> conditions;
    json current_metrics = json::array();
    int current = 0, desired = 0;
    bool scaled = false;

    const ResourceType* trt = TargetType(ref);
    ObjectPtr target = trt ? server_->store().Get(*trt, h->ns, target_name) : nullptr;
    if (!target) {
      conditions.push_back({"AbleToScale", "False", "FailedGetScale",
                            "the HPA controller was unable to get the target's current scale: " +
                                (trt ? std::string("not found") : "unsupported scaleTargetRef " + target_kind)});
      desired = old_status.value("desiredReplicas", 0);
    } else {
      const json& ts = target->body.at("spec");
      int spec_replicas = ts.contains("replicas") && ts["replicas"].is_number_integer() ? ts["replicas"].get<int>() : 1;
      const json& tst = target->body.contains("status") ? target->body["status"] : json::object();
      current = tst.contains("replicas") && tst["replicas"].is_number_integer() ? tst["replicas"].get<int>() : spec_replicas;
      // The scale subresource's status.replicas lags spec while a rollout runs;
      // upstream uses it too.
      HpaHistory& hist = history_[h->body.at("metadata").value("uid", h->ns + "/" + h->name)];
      std::string rescale_reason;
      if (spec_replicas == 0) {
        desired = 0;
        conditions.push_back({"AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"});
        conditions.push_back({"ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"});
      } else {
        int recommendation = current;
        bool any_metric = false;
        std::string metric_error, metric_name;
        if (current > max_replicas) {
          recommendation = max_replicas;
          rescale_reason = "Current number of replicas above Spec.MaxReplicas";
        } else if (current < min_replicas) {
          recommendation = min_replicas;
          rescale_reason = "Current number of replicas below Spec.MinReplicas";
        } else {
          int best = -1;
          const json& metrics = spec.contains("metrics") && spec["metrics"].is_array() ? spec["metrics"] : json::array();
          for (const auto& m : metrics) {
            if (m.value("type", "") != "Resource" || !m.contains("resource")) {
              metric_error = "metric type " + m.value("type", "") + " is not supported by kinema-sim";
              continue;
            }
            const json& r = m["resource"];
            MetricTarget mt;
            mt.resource = r.value("name", "");
            const json& tgt = r.contains("target") ? r["target"] : json::object();
            if (mt.resource != "cpu" && mt.resource != "memory") {
              metric_error = "resource " + mt.resource + " is not supported";
              continue;
            }
            if (tgt.value("type", "") == "Utilization" && tgt.contains("averageUtilization")) {
              mt.utilization = true;
              mt.target = tgt["averageUtilization"].get<double>();
            } else if (tgt.value("type", "") == "AverageValue" && tgt.contains("averageValue") && tgt["averageValue"].is_string()) {
              mt.utilization = false;
              std::string q = tgt["averageValue"].get<std::string>();
              if (mt.resource == "cpu") {
                auto v = ParseQuantityMilli(q);
                mt.target = v.ok() ? *v / 1000.0 : 0;
              } else {
                auto v = ParseQuantityValue(q);
                mt.target = v.ok() ? static_cast<double>(*v) : 0;
              }
            } else {
              metric_error = "invalid target for resource " + mt.resource;
              continue;
            }
            std::vector<PodResourceMetric> pm;
            for (const auto& p : pods) {
              if (p.ns != h->ns || p.workload_kind != target_kind || p.workload_name != target_name) continue;
              if (p.deleting || p.phase == "Failed" || p.phase == "Succeeded") continue;
              PodResourceMetric x;
              x.pending = !p.running;
              x.has_metrics = p.running;
              x.ready = mt.resource == "cpu" ? p.ready : p.running;
              for (const auto& c : p.containers) {
                x.usage += mt.resource == "cpu" ? c.cpu_cores : c.memory_bytes;
                double req = mt.resource == "cpu" ? c.cpu_request_milli / 1000.0 : static_cast<double>(c.memory_request);
                if (req <= 0) x.missing_request = true;
                x.request += req;
              }
              pm.push_back(x);
            }
            MetricProposal prop = ComputeMetricReplicas(mt, current, pm);
            if (!prop.ok) {
              metric_error = "failed to get " + mt.resource + " utilization: " + prop.error;
              continue;
            }
            any_metric = true;
            json cur = {{"averageValue", FormatAverage(mt.resource, prop.average_value)}};
            if (mt.utilization) cur["averageUtilization"] = prop.utilization_percent;
            current_metrics.push_back({{"type", "Resource"}, {"resource", {{"name", mt.resource}, {"current", cur}}}});
            if (prop.replicas > best) {
              best = prop.replicas;
              metric_name = mt.resource + (mt.utilization ? " resource utilization (percentage of request)" : " resource");
            }
          }
          if (any_metric) {
            recommendation = best;
            if (best > current) rescale_reason = metric_name + " above target";
            if (best < current) rescale_reason = "All metrics below target";
          }
        }
        if (!any_metric && rescale_reason.empty()) {
          conditions.push_back({"AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"});
          conditions.push_back({"ScalingActive", "False", "FailedGetResourceMetric",
                                "the HPA was unable to compute the replica count: " +
                                    (metric_error.empty() ? std::string("no metrics") : metric_error)});
          desired = current;
        } else {
          ScaleDecision d = NormalizeDesiredReplicas(recommendation, current, min_replicas, max_replicas,
                                                     ScalingRules::FromJson(spec.contains("behavior") ? spec["behavior"].value("scaleUp", json()) : json(), true),
                                                     ScalingRules::FromJson(spec.contains("behavior") ? spec["behavior"].value("scaleDown", json()) : json(), false),
                                                     now_s, &hist);
          desired = d.desired;
          std::string able_reason = "ReadyForNewScale", able_msg = "recommended size matches current size";
          if (desired != current && desired == spec_replicas) {
            // Already asked for (the workload controller is still catching up).
            able_msg = "the last scale request (" + std::to_string(desired) + ") is still being carried out";
          } else if (desired != current) {
            const int new_replicas = desired;
            auto r = server_->registry().Modify(
                *trt, h->ns, target_name,
                [&](json& obj) -> std::optional<ApiError> {
                  obj["spec"]["replicas"] = new_replicas;
                  return std::nullopt;
                },
                "");
            if (r.ok()) {
              scaled = true;
              rescaled++;
              RecordScale(&hist, current, desired, now_s);
              able_reason = "SucceededRescale";
              able_msg = "the HPA controller was able to update the target scale to " + std::to_string(desired);
              spdlog::info("hpa {}/{}: rescaled {} {} from {} to {} ({})", h->ns, h->name, target_kind, target_name,
                           current, desired, rescale_reason);
              json ev = {{"metadata", {{"name", h->name + "." + server_->registry().NewUid().substr(0, 8)}, {"namespace", h->ns}}},
                         {"involvedObject", {{"apiVersion", "autoscaling/v2"}, {"kind", "HorizontalPodAutoscaler"},
                                             {"namespace", h->ns}, {"name", h->name},
                                             {"uid", h->body.at("metadata").value("uid", "")}}},
                         {"reason", "SuccessfulRescale"},
                         {"message", "New size: " + std::to_string(desired) + "; reason: " + rescale_reason},
                         {"type", "Normal"},
                         {"source", {{"component", "horizontal-pod-autoscaler"}}},
                         {"firstTimestamp", now}, {"lastTimestamp", now}, {"count", 1}};
              const ResourceType* ert = ResourceRegistry::Default().Find("", "v1", "events");
              if (ert) (void)server_->registry().Create(*ert, h->ns, ev);
            } else {
              able_reason = "FailedUpdateScale";
              able_msg = "the HPA controller was unable to update the target scale: " + r.error().message;
              spdlog::warn("hpa {}/{}: {}", h->ns, h->name, able_msg);
              desired = current;
            }
          }
          conditions.push_back({"AbleToScale", able_reason == "FailedUpdateScale" ? "False" : "True", able_reason, able_msg});
          if (any_metric) {
            conditions.push_back({"ScalingActive", "True", "ValidMetricFound",
                                  "the HPA was able to successfully calculate a replica count from " + metric_name});
          } else {
            conditions.push_back({"ScalingActive", "True", "ValidMetricFound", rescale_reason});
          }
          conditions.push_back({"ScalingLimited", d.limited_reason == "DesiredWithinRange" ? "False" : "True",
                                d.limited_reason, d.limited_message});
        }
      }
    }

    auto r = server_->registry().Modify(
        *hpa_rt, h->ns, h->name,
        [&](json& obj) -> std::optional<ApiError> {
          json& st = obj["status"];
          json old_conditions = st.contains("conditions") ? st["conditions"] : json::array();
          st["observedGeneration"] = obj["metadata"].value("generation", 1);
          st["currentReplicas"] = current;
          st["desiredReplicas"] = desired;
          st["currentMetrics"] = current_metrics;
          st["conditions"] = MergeConditions(old_conditions, conditions, now);
          if (scaled) st["lastScaleTime"] = now;
          return std::nullopt;
        },
        "status");
    if (!r.ok() && r.error().code != 404) {
      spdlog::warn("hpa {}/{}: status update: {}", h->ns, h->name, r.error().message);
    }
  }
  return rescaled;
}

}  // namespace kinema::sim::usage
