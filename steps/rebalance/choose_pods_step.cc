// The choose-pods step — the cycle's decision, journaled whole.
//
// Reads the cluster (TakeClusterSnapshot), the pods' measured usage
// (metrics.k8s.io PodMetrics) and the evictions earlier cycles journaled
// (within max(cooldown, pingPongWindow)); keeps the scored nodes that match
// rebalance.nodeSelector; classifies them (Classify) and chooses pods
// (ChoosePods). A pod must not be evicted when the shared disruption
// policy protects it (kinema.io/do-not-disrupt, mirror, no controller), its
// namespace is excluded (exclusions.namespaces), it matches
// exclusions.labelSelector, or its Deployment/StatefulSet would drop below
// its rollout guarantee. The result ends the cycle (outcome no_action) when
// a class is empty or nothing can move, and on a dry run (dry_run).
// Journal-only: nothing is changed, reconcile re-runs it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "engine/common/time.h"
#include "engine/kube/object.h"
#include "engine/kube/resource.h"
#include "engine/quantity/quantity.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/disruption_policy.h"
#include "steps/rebalance/eviction.h"
#include "steps/rebalance/rebalance_workflow.h"
#include "steps/rebalance/scores.h"

namespace kinema::rebalance {

using nlohmann::json;

json ChooseResult::ToJson() const {
  json j = {{"classification", classes.ToJson()}, {"choice", choice.ToJson()}, {"nodeCount", node_count},
            {"unselected", unselected}, {"usageSource", usage_source},
            {"limits", {{"perNode", limits.per_node}, {"perNamespace", limits.per_namespace}, {"total", limits.total}}}};
  if (!finish.empty()) {
    j["finishWorkflow"] = finish;
    j["reason"] = reason;
  }
  return j;
}

StatusOr<ChooseResult> ChooseResult::FromJson(const json& j) {
  return DecodeJson<ChooseResult>("rebalance choose-pods result", [&]() -> StatusOr<ChooseResult> {
    ChooseResult r;
    auto c = Classification::FromJson(j.at("classification"));
    if (!c.ok()) return c.status();
    r.classes = *c;
    auto ch = ChoiceResult::FromJson(j.at("choice"));
    if (!ch.ok()) return ch.status();
    r.choice = *ch;
    r.node_count = j.at("nodeCount").get<int64_t>();
    r.unselected = j.at("unselected").get<std::vector<std::string>>();
    r.usage_source = j.value("usageSource", "");
    if (j.contains("limits")) {
      r.limits.per_node = j["limits"].at("perNode").get<int64_t>();
      r.limits.per_namespace = j["limits"].at("perNamespace").get<int64_t>();
      r.limits.total = j["limits"].at("total").get<int64_t>();
    }
    r.finish = j.value("finishWorkflow", "");
    r.reason = j.value("reason", "");
    return r;
  });
}

std::map<std::string, PodUsage> PodUsageFromMetrics(const json& list) {
  std::map<std::string, PodUsage> out;
  if (!list.is_object() || !list.contains("items") || !list["items"].is_array()) return out;
  for (const auto& item : list["items"]) {
    if (!item.is_object() || !item.contains("containers") || !item["containers"].is_array()) continue;
    const std::string key = kube::obj::Namespace(item) + "/" + kube::obj::Name(item);
    if (key.size() < 3) continue;
    PodUsage u;
    bool ok = true;
    for (const auto& c : item["containers"]) {
      auto cpu = ParseQuantityMilli(kube::obj::StringAt(c, "usage.cpu"));
      auto mem = ParseQuantityValue(kube::obj::StringAt(c, "usage.memory"));
      if (!cpu.ok() || !mem.ok()) {
        ok = false;
        break;
      }
      u.cpu_cores += *cpu / 1000.0;
      u.memory_bytes += static_cast<double>(*mem);
    }
    if (ok) out[key] = u;
  }
  return out;
}

namespace {

// The measured usage of every running pod, or the reason there is none.
std::map<std::string, PodUsage> ReadPodUsage(kube::Client& kube, std::string* source) {
  kube::RawRequest r;
  r.path = "/apis/metrics.k8s.io/v1beta1/pods";
  r.what = "list pod metrics (metrics.k8s.io)";
  auto resp = kube.Do(r);
  if (!resp.ok()) {
    *source = "metrics.k8s.io unavailable: " + resp.status().ToString();
    return {};
  }
  json list = json::parse(resp->body, nullptr, false);
  if (list.is_discarded()) {
    *source = "metrics.k8s.io answered with something that is not JSON";
    return {};
  }
  *source = "metrics.k8s.io";
  return PodUsageFromMetrics(list);
}

// What must not be evicted, and why (see the file comment).
void CannotMove(const RebalanceDeps& deps, const std::vector<json>& items, int64_t now_ms,
                std::map<std::string, std::string>* out) {
  std::map<std::string, std::string> guarantee;  // "ns/Kind/name" -> reason ("" = may lose one)
  for (const auto& it : items) {
    const std::string kind = it.value("kind", "");
    if (kind == "Deployment" || kind == "StatefulSet") {
      guarantee[kube::obj::Namespace(it) + "/" + kind + "/" + kube::obj::Name(it)] = RolloutGuaranteeReason(it);
    }
  }
  auto excluded_selector = ParseNodeSelector(deps.config.exclusions.label_selector);
  const auto& excluded_ns = deps.config.exclusions.namespaces;
  std::map<std::string, std::string> rs_owner;
  for (const auto& it : items) {
    if (it.value("kind", "") == "ReplicaSet" && kube::obj::ControllerKind(it) == "Deployment") {
      rs_owner[kube::obj::Key(it)] = kube::obj::ControllerName(it);
    }
  }
  for (const auto& p : items) {
    if (p.value("kind", "") != "Pod") continue;
    const std::string key = kube::obj::Key(p);
    std::string why = execute::WhyPodCannotMove(p, now_ms);
    if (why.empty() && std::find(excluded_ns.begin(), excluded_ns.end(), kube::obj::Namespace(p)) != excluded_ns.end()) {
      why = "namespace " + kube::obj::Namespace(p) + " is excluded (exclusions.namespaces)";
    }
    if (why.empty() && !deps.config.exclusions.label_selector.empty()) {
      if (!excluded_selector.ok()) {
        why = "exclusions.labelSelector cannot be read here (" + excluded_selector.status().message() + "): fail safe";
      } else if (SelectorMatches(*excluded_selector, kube::obj::Labels(p))) {
        why = "matches exclusions.labelSelector";
      }
    }
    if (why.empty()) {
      auto g = guarantee.find(WorkloadOf(p, rs_owner));
      if (g != guarantee.end()) why = g->second;
    }
    if (!why.empty()) (*out)[key] = why;
  }
}

// The pods to evict, once both classes have nodes: usage, what must not
// move, workloads, the journal's history, then ChoosePods.
Status ChoosePodsOf(const RebalanceDeps& deps, StepContext& ctx, const Snapshot& parsed, const std::vector<json>& items,
                    int64_t now, ChooseResult* out) {
  ChoiceInput in;
  in.snapshot = &parsed;
  in.classes = out->classes;
  in.now_ms = now;
  in.cooldown_ms = deps.settings.cooldown.count();
  in.ping_pong_window_ms = deps.settings.ping_pong_window.count();
  in.limits = deps.settings.eviction_limits;
  in.usage = ReadPodUsage(*deps.kube, &out->usage_source);
  CannotMove(deps, items, now, &in.cannot_move);
  std::map<std::string, std::string> rs_owner;
  for (const auto& it : items) {
    if (it.value("kind", "") == "ReplicaSet" && kube::obj::ControllerKind(it) == "Deployment") {
      rs_owner[kube::obj::Key(it)] = kube::obj::ControllerName(it);
    }
  }
  std::map<std::string, const json*> pods;
  for (const auto& p : items) {
    if (p.value("kind", "") != "Pod") continue;
    const std::string key = kube::obj::Key(p);
    pods[key] = &p;
    in.workload[key] = WorkloadOf(p, rs_owner);
    if (auto ms = ParseRfc3339Ms(kube::obj::StringAt(p, "metadata.creationTimestamp"))) in.created_ms[key] = *ms;
    auto ann = kube::obj::Annotations(p);
    auto it = ann.find(kEvictOnlyAnnotation);
    if (it != ann.end() && it->second != "false") in.evict_only.insert(key);
  }
  auto views = ctx.OtherWorkflowsSince(now - std::max(in.cooldown_ms, in.ping_pong_window_ms));
  if (!views.ok()) return views.status().WithContext("choose-pods: earlier evictions from the journal");
  in.history = EvictionHistory(*views, kWorkflowType);
  out->choice = ChoosePods(in);
  // The uid (eviction precondition) and VM name of each chosen pod.
  for (auto& c : out->choice.choices) {
    auto it = pods.find(c.pod);
    if (it == pods.end()) continue;
    c.uid = kube::obj::Uid(*it->second);
    auto labels = kube::obj::Labels(*it->second);
    if (c.evict_only && labels.count(kVmNameLabel)) c.vm = labels[kVmNameLabel];
  }
  return Status::OK();
}

StatusOr<json> Choose(const RebalanceDeps& deps, StepContext& ctx) {
  auto scores = ResultAs<ScoresResult>(ctx, kReadScoresStep);
  if (!scores.ok()) return scores.status();
  auto snap = TakeClusterSnapshot(*deps.kube);
  if (!snap.ok()) return snap.status().WithContext("choose-pods: snapshot");
  auto parsed = ParseSnapshot(snap->list);
  if (!parsed.ok()) return parsed.status().WithContext("choose-pods: snapshot");
  const std::vector<json> items = snap->items();
  const int64_t now = NowMs();

  ChooseResult out;
  out.node_count = snap->nodes;
  out.limits = deps.settings.eviction_limits;
  std::set<std::string> selected;
  for (const auto& n : parsed->nodes) {
    if (SelectorMatches(deps.settings.node_requirements, n.labels)) selected.insert(n.name);
  }
  std::vector<NodeScore> considered;
  for (const auto& s : scores->scores) {
    if (selected.count(s.node)) {
      considered.push_back(s);
    } else {
      out.unselected.push_back(s.node);
    }
  }
  out.classes = Classify(considered, deps.settings.classes);

  if (out.classes.no_action.empty()) {
    KINEMA_RETURN_IF_ERROR(ChoosePodsOf(deps, ctx, *parsed, items, now, &out));
  } else {
    for (const auto& n : out.classes.nodes) out.choice.predicted[n.name] = n.score;
  }

  for (const auto& p : out.choice.ping_pong) {
    spdlog::warn("workflow {}: ping-pong: {} ({}) on {} was evicted from {} by {}; not evicted", ctx.workflow_id(),
                 p.pod, p.workload, p.node, p.earlier_from, p.earlier_workflow);
  }
  if (!out.classes.no_action.empty()) {
    out.finish = "no_action";
    out.reason = out.classes.no_action;
  } else if (out.choice.choices.empty()) {
    out.finish = "no_action";
    out.reason = "no pod on the over-utilized nodes can move to an under-utilized one (" +
                 std::to_string(out.choice.skipped.size()) + " skipped, see choice.skipped)";
  } else if (deps.dry_run) {
    out.finish = "dry_run";
    out.reason = "dry run: " + std::to_string(out.choice.choices.size()) + " pod(s) would be evicted";
  }
  spdlog::info("workflow {}: {} node(s) scored (average {:.3f}, spread {:.3f}), {} over-utilized, {} under-utilized; "
               "{} pod(s) chosen, {} skipped{}",
               ctx.workflow_id(), out.classes.nodes.size(), out.classes.average, out.classes.Spread(),
               out.classes.over.size(), out.classes.under.size(), out.choice.choices.size(), out.choice.skipped.size(),
               out.reason.empty() ? "" : "; " + out.reason);
  for (const auto& c : out.choice.choices) {
    spdlog::info("workflow {}: chose {} on {} (share {:.3f}; {} predicted {:.3f}) -> fits {} (predicted {:.3f}){}",
                 ctx.workflow_id(), c.pod, c.from, c.share, c.from, c.from_score_after, c.to, c.to_score_after,
                 c.evict_only ? ", background eviction" : "");
  }
  return out.ToJson();
}

}  // namespace

StepDefinition MakeChoosePodsStep(const RebalanceDeps& deps) {
  StepDefinition s;
  s.name = kChoosePodsStep;
  s.run = [deps](StepContext& ctx) { return Choose(deps, ctx); };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::rebalance
