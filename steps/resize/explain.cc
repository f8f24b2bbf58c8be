// kinemactl explain for inplace-resize workflows: per pod what was observed
// and decided (old → new, the rule and numbers), what the resize step did
// (applied, conflict, refused by the budget, gone) and what the kubelet
// reported (actuated, Deferred, Infeasible); hand-offs to
// kinema-rescheduling; why the other pods were left alone. Nodes: each node
// whose pods were resized ("resize"). From the journaled results alone.
#include <map>

#include "steps/resize/observation.h"
#include "steps/resize/plan.h"
#include "steps/resize/resize_kind.h"
#include "steps/resize/resize_workflow.h"

namespace kinema::resize {

namespace {

using nlohmann::json;

const StepView* Succeeded(const WorkflowView& v, const std::string& name) {
  for (const auto& s : v.steps) {
    if (s.name == name && s.status == StepStatus::kSucceeded && s.result.is_object()) return &s;
  }
  return nullptr;
}

std::map<std::string, json> ByPod(const StepView* s, const char* list) {
  std::map<std::string, json> out;
  if (s == nullptr || !s->result.contains(list) || !s->result[list].is_array()) return out;
  for (const auto& p : s->result[list]) {
    if (p.is_object()) out[p.value("pod", "")] = p;
  }
  return out;
}

}  // namespace

Explanation ExplainResize(const WorkflowView& view) {
  Explanation e = GenericExplanation(view);
  json resizes = json::array(), left = json::object(), handoffs = json::array();
  int observed = 0;
  std::string source;
  if (const StepView* o = Succeeded(view, kObserveStep)) {
    observed = o->result.contains("pods") ? static_cast<int>(o->result["pods"].size()) : 0;
    source = o->result.value("source", "");
  }
  const StepView* d = Succeeded(view, kDecideStep);
  const auto applied = ByPod(Succeeded(view, kResizeStep), "pods");
  const auto verified = ByPod(Succeeded(view, kVerifyStep), "pods");
  std::map<std::string, std::string> refused;
  if (const StepView* r = Succeeded(view, kResizeStep); r && r->result.contains("refused")) {
    for (const auto& f : r->result["refused"]) refused[f.value("pod", "")] = f.value("why", "");
  }
  std::map<std::string, int> per_node;
  int ups = 0, downs = 0, done = 0;
  if (d != nullptr) {
    if (auto plan = ResizePlan::FromJson(d->result); plan.ok()) {
      for (const auto& r : plan->resizes) {
        std::string outcome = "planned", detail;
        if (auto it = applied.find(r.key()); it != applied.end()) {
          outcome = it->second.value("outcome", "");
          detail = it->second.value("detail", "");
        } else if (auto f = refused.find(r.key()); f != refused.end()) {
          outcome = "refused";
          detail = f->second;
        }
        std::string state;
        if (auto it = verified.find(r.key()); it != verified.end()) state = it->second.value("state", "");
        if (outcome == "applied") {
          ++done;
          ++per_node[r.node];
        }
        for (const auto& c : r.changes) {
          (c.direction == Direction::kUp ? ups : downs) += outcome == "applied" ? 1 : 0;
          json j{{"pod", r.key()},
                 {"node", r.node},
                 {"container", c.container},
                 {"resource", ResourceName(c.resource)},
                 {"direction", DirectionName(c.direction)},
                 {"from", FormatQuantity(c.resource, c.old_request)},
                 {"to", FormatQuantity(c.resource, c.new_request)},
                 {"why", c.why},
                 {"outcome", outcome},
                 {"detail", detail},
                 {"kubelet", state}};
          if (c.old_limit && c.new_limit) {
            j["limitFrom"] = FormatQuantity(c.resource, *c.old_limit);
            j["limitTo"] = FormatQuantity(c.resource, *c.new_limit);
          }
          resizes.push_back(std::move(j));
        }
      }
      for (const auto& h : plan->handoffs) {
        handoffs.push_back({{"pod", h.key()}, {"node", h.node}, {"state", h.state}, {"message", h.message},
                            {"wanted", h.wanted}, {"to", kReschedulingType}});
      }
      for (const auto& [pod, why] : plan->left) left[pod] = why;
    }
  }
  for (const auto& [node, n] : per_node) {
    e.nodes.push_back({node, "resize", std::to_string(n) + " pod(s) resized in place", std::nullopt});
  }
  if (const StepView* p = Succeeded(view, kPersistStep); p && p->result.contains("workloads")) {
    e.extra["persisted"] = p->result["workloads"];
  }
  e.extra["source"] = source;
  e.extra["resizes"] = std::move(resizes);
  e.extra["handoffs"] = handoffs;
  e.extra["left"] = std::move(left);
  std::string summary = "Observed " + std::to_string(observed) + " managed pod(s)";
  if (d != nullptr) {
    summary += "; resized " + std::to_string(done) + " pod(s) in place (" + std::to_string(ups) + " scale-up(s), " +
               std::to_string(downs) + " scale-down(s))";
    if (!handoffs.empty()) {
      summary += "; handed " + std::to_string(handoffs.size()) + " Deferred/Infeasible pod(s) to " + kReschedulingType;
    }
  }
  summary += ".";
  if (!e.summary.empty()) summary += " " + e.summary;
  e.summary = summary;
  return e;
}

}  // namespace kinema::resize
