// The observe step — the managed pods and their usage.
//
// Managed pods: Running pods on a node matching resize.selector (unset:
// every pod, as the seed), outside exclusions.namespaces, not matching
// exclusions.labelSelector, not protected by kinema.io/do-not-disrupt, not
// mirror pods; each one's requests, limits, resizePolicy, start time,
// kinema.io/last-resize annotation and resize conditions. Usage: the
// metrics API (metrics.k8s.io, `resize.source: metrics`) or Prometheus'
// cAdvisor series (`resize.source: prometheus`). A pod without usage is
// journaled without it (the policy leaves it alone); a source that fails
// (metrics-server missing, Prometheus down) ends the cycle with outcome
// no_usage and the reason, and the next cycle asks again.
// Journal-only: reconcile re-runs it.
#include <spdlog/spdlog.h>

#include <set>

#include "engine/common/time.h"
#include "engine/kube/metrics_client.h"
#include "engine/kube/object.h"
#include "engine/prometheus/client.h"
#include "engine/workflow/step_context.h"
#include "steps/execute/disruption_policy.h"
#include "steps/resize/observation.h"
#include "steps/resize/resize_workflow.h"

namespace kinema::resize {

namespace {

using UsageMap = std::map<std::string, kube::PodUsage>;  // "ns/name" -> usage

Status UsageFromMetricsApi(kube::Client& kube, const std::string& selector, UsageMap* out,
                           std::vector<std::string>* notes) {
  auto list = kube::ListPodMetrics(kube, "", selector);
  if (!list.ok()) return list.status().WithContext("resize.source metrics");
  for (auto& m : list->malformed) notes->push_back("malformed PodMetrics " + m);
  for (auto& p : list->pods) (*out)[p.ns + "/" + p.name] = std::move(p);
  return Status::OK();
}

Status UsageFromPrometheus(const ResizeDeps& deps, UsageMap* out) {
  if (deps.config.prometheus.url.empty()) {
    return Status::FailedPrecondition("resize.source prometheus: prometheus.url is not configured");
  }
  prometheus::ClientOptions po;
  po.url = deps.config.prometheus.url;
  po.timeout = deps.config.prometheus.timeout;
  prometheus::Client prom(po);
  const std::string rw = std::to_string(std::max<int64_t>(deps.settings.rate_window.count() / 1000, 1)) + "s";
  const std::string sel = "{container!=\"\",container!=\"POD\"}";
  auto mem = prom.Query("max by (namespace, pod, container) (container_memory_working_set_bytes" + sel + ")");
  if (!mem.ok()) return mem.status().WithContext("resize.source prometheus: memory query");
  auto cpu = prom.Query("sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total" + sel + "[" + rw +
                        "]))");
  if (!cpu.ok()) return cpu.status().WithContext("resize.source prometheus: cpu query");
  auto put = [&](const prometheus::Series& s, bool is_cpu) {
    if (s.samples.empty()) return;
    kube::PodUsage& p = (*out)[s.Label("namespace") + "/" + s.Label("pod")];
    p.ns = s.Label("namespace");
    p.name = s.Label("pod");
    p.timestamp_ms = static_cast<int64_t>(s.samples.back().t * 1000);
    kube::ContainerUsage* c = nullptr;
    for (auto& x : p.containers) {
      if (x.name == s.Label("container")) c = &x;
    }
    if (c == nullptr) {
      p.containers.push_back({s.Label("container"), 0, 0});
      c = &p.containers.back();
    }
    if (is_cpu) c->cpu_cores = s.samples.back().v;
    else c->memory_bytes = s.samples.back().v;
  };
  for (const auto& s : mem->series) put(s, false);
  for (const auto& s : cpu->series) put(s, true);
  return Status::OK();
}

}  // namespace

StepDefinition MakeObserveStep(const ResizeDeps& deps) {
  StepDefinition s;
  s.name = kObserveStep;
  s.run = [deps](StepContext& ctx) -> StatusOr<nlohmann::json> {
    const ResizeSettings& rs = deps.settings;
    kube::ListOptions lo;
    lo.label_selector = rs.selector;
    auto pods = deps.kube->List(kube::resources::kPods, "", lo);
    if (!pods.ok()) return pods.status().WithContext("list pods (resize.selector '" + rs.selector + "')");
    std::set<std::string> excluded_uids;
    if (!deps.config.exclusions.label_selector.empty()) {
      kube::ListOptions eo;
      eo.label_selector = deps.config.exclusions.label_selector;
      auto ex = deps.kube->List(kube::resources::kPods, "", eo);
      if (!ex.ok()) return ex.status().WithContext("exclusions.labelSelector " + eo.label_selector);
      for (const auto& p : ex->items) excluded_uids.insert(kube::obj::Uid(p));
    }
    const std::set<std::string> excluded_ns(deps.config.exclusions.namespaces.begin(),
                                            deps.config.exclusions.namespaces.end());
    Observation o;
    o.source = rs.source;
    UsageMap usage;
    Status us = rs.source == "prometheus" ? UsageFromPrometheus(deps, &usage)
                                          : UsageFromMetricsApi(*deps.kube, rs.selector, &usage, &o.notes);
    if (!us.ok()) {
      // No usage, no decision: this cycle ends with the reason journaled; the
      // next one (resize.interval later) asks again. Never a blocked kind.
      spdlog::warn("workflow {}: no usage this cycle: {}", ctx.workflow_id(), us.ToString());
      o.notes.push_back(us.ToString());
      nlohmann::json out = o.ToJson();
      out["finishWorkflow"] = "no_usage";
      out["reason"] = "usage unavailable from resize.source " + rs.source + ": " + us.ToString();
      return out;
    }
    const int64_t now = NowMs();
    for (const auto& pod : pods->items) {
      const std::string key = kube::obj::Key(pod);
      if (kube::pod::Phase(pod) != "Running" || kube::obj::IsTerminating(pod) || kube::pod::NodeName(pod).empty()) {
        continue;  // not running: nothing to resize
      }
      if (excluded_ns.count(kube::obj::Namespace(pod))) continue;
      if (excluded_uids.count(kube::obj::Uid(pod))) {
        o.skipped.push_back(key + ": matches exclusions.labelSelector");
        continue;
      }
      if (kube::pod::IsMirrorPod(pod)) {
        o.skipped.push_back(key + ": a static (mirror) pod");
        continue;
      }
      if (std::string why = execute::DoNotDisruptReason(pod, now); !why.empty()) {
        o.skipped.push_back(key + ": " + why);
        continue;
      }
      ObservedPod op = ReadPod(pod);
      auto it = usage.find(key);
      if (it != usage.end()) {
        op.sampled_ms = it->second.timestamp_ms > 0 ? it->second.timestamp_ms : now;
        for (auto& c : op.containers) {
          if (const auto* u = it->second.Find(c.name)) {
            c.has_usage = true;
            c.cpu_usage = u->cpu_cores * 1000.0;
            c.memory_usage = u->memory_bytes;
          }
        }
      } else {
        op.sampled_ms = now;
      }
      o.at_ms = std::max(o.at_ms, op.sampled_ms);
      o.pods.push_back(std::move(op));
    }
    spdlog::info("workflow {}: observed {} managed pod(s) ({} with usage from {}), {} skipped", ctx.workflow_id(),
                 o.pods.size(), usage.size(), rs.source, o.skipped.size());
    return o.ToJson();
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::resize
