// The verify step — did the kubelet actuate each applied resize?
//
// Reads each resized pod (polling with backoff: 0.5 s doubling to 5 s, up to
// resize.verifyTimeout, a durable deadline) and reconciles spec against
// status: `actuated` when status.containerStatuses[].resources match the
// spec, observedGeneration caught up and no PodResizeInProgress/Pending
// condition is left; `Deferred` / `Infeasible` when the kubelet says so
// (journaled; the next cycles wait for it and hand it to
// kinema-rescheduling after resize.deferredTimeout); `inProgress` when the
// deadline passed first; `gone` when the pod disappeared.
// Reads only: journal-only, reconcile re-runs it.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "steps/resize/observation.h"
#include "steps/resize/resize_workflow.h"

namespace kinema::resize {

namespace {

using nlohmann::json;

// "actuated", "Deferred", "Infeasible", "inProgress" or "gone" (+ message).
std::pair<std::string, std::string> StateOf(const StatusOr<json>& pod, const std::string& uid) {
  if (!pod.ok()) {
    if (pod.status().code() == Status::Code::kNotFound) return {"gone", "the pod no longer exists"};
    return {"inProgress", "get pod: " + pod.status().ToString()};
  }
  if (!uid.empty() && kube::obj::Uid(*pod) != uid) return {"gone", "the pod was replaced"};
  ObservedPod p = ReadPod(*pod);
  switch (p.resize) {
    case ResizeState::kNone: return {"actuated", ""};
    case ResizeState::kDeferred: return {"Deferred", p.resize_message};
    case ResizeState::kInfeasible: return {"Infeasible", p.resize_message};
    case ResizeState::kInProgress: return {"inProgress", p.resize_message};
  }
  return {"inProgress", ""};
}

}  // namespace

StepDefinition MakeVerifyStep(const ResizeDeps& deps) {
  StepDefinition s;
  s.name = kVerifyStep;
  s.run = [deps](StepContext& ctx) -> StatusOr<json> {
    const json& done = ctx.ResultOf(kResizeStep);
    std::map<std::string, json> pending;  // pod -> its resize outcome
    if (done.is_object() && done.contains("pods") && done["pods"].is_array()) {
      for (const auto& p : done["pods"]) {
        if (p.value("outcome", "") == "applied") pending[p.value("pod", "")] = p;
      }
    }
    auto plan = ctx.ResultOf(kDecideStep);
    std::map<std::string, std::string> uids;
    if (plan.contains("resizes")) {
      for (const auto& r : plan["resizes"]) {
        uids[r.value("namespace", "") + "/" + r.value("name", "")] = r.value("uid", "");
      }
    }
    auto deadline = ctx.DeadlineFor("verify", deps.settings.verify_timeout);
    if (!deadline.ok()) return deadline.status();
    json results = json::array();
    std::chrono::milliseconds wait{500};
    std::map<std::string, std::pair<std::string, std::string>> last;
    while (!pending.empty()) {
      for (auto it = pending.begin(); it != pending.end();) {
        const std::string& key = it->first;
        const auto slash = key.find('/');
        auto pod = deps.kube->Get(kube::resources::kPods, key.substr(0, slash), key.substr(slash + 1));
        auto st = StateOf(pod, uids[key]);
        last[key] = st;
        if (st.first == "actuated" || st.first == "gone" || st.first == "Infeasible") {
          results.push_back({{"pod", key}, {"state", st.first}, {"detail", st.second}});
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      if (pending.empty() || NowMs() >= *deadline) break;
      KINEMA_RETURN_IF_ERROR(ctx.Pause(wait));
      wait = std::min(wait * 2, std::chrono::milliseconds(5000));
    }
    int actuated = 0, waiting = 0;
    for (const auto& [key, p] : pending) {
      results.push_back({{"pod", key}, {"state", last[key].first}, {"detail", last[key].second}});
      ++waiting;
    }
    for (const auto& r : results) actuated += r.value("state", "") == "actuated" ? 1 : 0;
    spdlog::info("workflow {}: {} resize(s) actuated, {} still Deferred or in progress, {} other", ctx.workflow_id(),
                 actuated, waiting, static_cast<int>(results.size()) - actuated - waiting);
    return json{{"pods", std::move(results)}};
  };
  s.reconcile = ReconcileByRerunning(s.run);
  s.journal_only = true;
  return s;
}

}  // namespace kinema::resize
