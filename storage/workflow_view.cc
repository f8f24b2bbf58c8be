#include "storage/workflow_view.h"

#include "engine/common/safe_json.h"

namespace kinema {

namespace {

// Steps are positions 0..kMaxSteps-1; a larger index read from a file is
// refused (it would otherwise allocate that many steps).
StepView* StepAt(WorkflowView* v, int index, const std::string& name) {
  if (index < 0 || index >= kMaxWorkflowSteps) return nullptr;
  while (static_cast<int>(v->steps.size()) <= index) {
    StepView s;
    s.index = static_cast<int>(v->steps.size());
    v->steps.push_back(s);
  }
  StepView* s = &v->steps[index];
  if (!name.empty()) s->name = name;
  return s;
}

std::string DetailString(const nlohmann::json& d, const char* key) { return safe_json::String(d, key); }
int64_t DetailInt(const nlohmann::json& d, const char* key) { return safe_json::Int(d, key); }
nlohmann::json DetailValue(const nlohmann::json& d, const char* key, nlohmann::json def) {
  const nlohmann::json* v = safe_json::Find(d, key);
  return v == nullptr ? def : *v;
}
std::string IndexText(int index) { return std::to_string(index); }

std::vector<std::string> Strings(const nlohmann::json& d, const char* key) {
  std::vector<std::string> out;
  auto it = d.find(key);
  if (it == d.end() || !it->is_array()) return out;
  for (const auto& x : *it) {
    if (x.is_string()) out.push_back(x.get<std::string>());
  }
  return out;
}

std::string NamespaceOf(const std::string& pod_key) {
  size_t slash = pod_key.find('/');
  return slash == std::string::npos ? "" : pod_key.substr(0, slash);
}

void FoldClaim(DisruptionHolds* h, const nlohmann::json& d) {
  if (h->reason.empty()) h->reason = DetailString(d, "reason");
  if (h->node_count == 0) {
    auto nc = d.find("nodeCount");
    if (nc != d.end() && nc->is_number_integer()) h->node_count = nc->get<int64_t>();
  }
  for (const auto& n : Strings(d, "retire")) {
    if (h->retiring.insert(n).second) ++h->nodes_retired_claimed;
  }
  for (const auto& n : Strings(d, "nodes")) h->nodes.insert(n);
  auto pods = d.find("pods");
  if (pods != d.end() && pods->is_array()) {
    for (const auto& p : *pods) {
      if (!p.is_object()) continue;
      std::string key = DetailString(p, "pod"), node = DetailString(p, "node");
      if (key.empty() || h->pods.count(key)) continue;
      h->pods[key] = node;
      ++h->pods_claimed;
      ++h->pods_claimed_per_node[node];
      ++h->pods_claimed_per_namespace[NamespaceOf(key)];
    }
  }
}

void FoldRelease(DisruptionHolds* h, const nlohmann::json& d) {
  for (const auto& n : Strings(d, "retire")) h->retiring.erase(n);
  for (const auto& n : Strings(d, "nodes")) h->nodes.erase(n);
  for (const auto& p : Strings(d, "pods")) h->pods.erase(p);
}

}  // namespace

int WorkflowView::CurrentStepIndex() const {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].status != StepStatus::kSucceeded && steps[i].status != StepStatus::kSkipped) return static_cast<int>(i);
  }
  return -1;
}

std::string WorkflowView::CurrentStepName() const {
  int i = CurrentStepIndex();
  return i < 0 ? "" : steps[i].name;
}

bool WorkflowView::IsTerminal() const {
  return status == WorkflowStatus::kCompleted || status == WorkflowStatus::kAborted ||
         (status == WorkflowStatus::kFailed && terminated);
}

Status ApplyEvent(WorkflowView* v, const Event& e) {
  using namespace event_kind;
  const std::string& k = e.kind;
  if (k != kWorkflowStarted && v->status == WorkflowStatus::kNotStarted) {
    return Status::FailedPrecondition("event " + k + " for workflow " + e.workflow_id + " before workflow_started");
  }
  if (k == kWorkflowStarted) {
    if (v->status != WorkflowStatus::kNotStarted) return Status::FailedPrecondition("workflow " + e.workflow_id + " started twice");
    v->id = e.workflow_id;
    v->type = DetailString(e.detail, "type");
    v->input = DetailValue(e.detail, "input", nlohmann::json::object());
    v->status = WorkflowStatus::kRunning;
    v->created_ms = e.at_ms;
    if (const nlohmann::json* names = safe_json::FindArray(e.detail, "steps")) {
      if (names->size() > static_cast<size_t>(kMaxWorkflowSteps)) {
        return Status::FailedPrecondition("workflow_started with " + std::to_string(names->size()) +
                                          " steps (at most " + std::to_string(kMaxWorkflowSteps) + ")");
      }
      int i = 0;
      for (const auto& n : *names) StepAt(v, i++, safe_json::AsString(n).value_or(""));
    }
  } else if (k == kStepIntent) {
    StepView* s = StepAt(v, e.step_index, e.step_name);
    if (s == nullptr) return Status::FailedPrecondition("step_intent with a bad step index " + IndexText(e.step_index));
    if (s->status == StepStatus::kSucceeded) {
      return Status::FailedPrecondition("step_intent for already succeeded step " + s->name);
    }
    s->status = StepStatus::kRunning;
    s->attempts = e.attempt;
    if (s->started_ms == 0) s->started_ms = e.at_ms;
    s->finished_ms = 0;
    s->epoch = e.epoch;
    s->idempotency_key = DetailString(e.detail, "idempotencyKey");
    s->intent_input = DetailValue(e.detail, "input", nlohmann::json());
    s->has_open_intent = true;
    s->retry_at_ms = 0;
  } else if (k == kStepResult) {
    StepView* s = StepAt(v, e.step_index, e.step_name);
    if (s == nullptr || !s->has_open_intent) {
      return Status::FailedPrecondition("step_result without an open intent at step " +
                                        std::to_string(e.step_index));
    }
    s->status = StepStatus::kSucceeded;
    s->finished_ms = e.at_ms;
    s->error.clear();
    s->result = DetailValue(e.detail, "result", nlohmann::json());
    s->has_open_intent = false;
    v->last_error.clear();
  } else if (k == kStepFailed) {
    StepView* s = StepAt(v, e.step_index, e.step_name);
    if (s == nullptr) return Status::FailedPrecondition("step_failed with a bad step index " + IndexText(e.step_index));
    s->status = StepStatus::kFailed;
    s->error = DetailString(e.detail, "error");
    s->finished_ms = e.at_ms;
    s->has_open_intent = false;
    s->retry_at_ms = DetailInt(e.detail, "retryAtMs");
    v->last_error = s->name + ": " + s->error;
  } else if (k == kTimerSet) {
    v->timers[std::to_string(e.step_index) + "/" + DetailString(e.detail, "name")] =
        DetailInt(e.detail, "deadlineMs");
  } else if (k == kPaused) {
    if (v->IsTerminal()) return Status::FailedPrecondition("pause of terminal workflow " + v->id);
    v->status = WorkflowStatus::kPaused;
    v->pause_reason = DetailString(e.detail, "reason");
  } else if (k == kResumed) {
    if (v->IsTerminal()) return Status::FailedPrecondition("resume of terminal workflow " + v->id);
    v->status = WorkflowStatus::kRunning;
    v->pause_reason.clear();
    for (auto& s : v->steps) s.retry_at_ms = 0;  // an operator resume retries at once
  } else if (k == kAbortRequested) {
    if (v->IsTerminal()) return Status::FailedPrecondition("abort of terminal workflow " + v->id);
    v->abort_requested = true;
    v->status = WorkflowStatus::kRunning;  // compensations run even if it was paused or failed
    v->pause_reason.clear();
  } else if (k == kCompensationIntent) {
    StepView* s = StepAt(v, e.step_index, e.step_name);
    if (s == nullptr) {
      return Status::FailedPrecondition("compensation_intent with a bad step index " + IndexText(e.step_index));
    }
    s->has_open_compensation = true;
  } else if (k == kCompensated) {
    StepView* s = StepAt(v, e.step_index, e.step_name);
    if (s == nullptr) return Status::FailedPrecondition("compensated with a bad step index " + IndexText(e.step_index));
    s->status = StepStatus::kCompensated;
    s->has_open_compensation = false;
    s->has_open_intent = false;
    s->finished_ms = e.at_ms;
  } else if (k == kCompleted) {
    v->status = WorkflowStatus::kCompleted;
    v->outcome = DetailString(e.detail, "outcome");
    for (auto& s : v->steps) {
      if (s.status == StepStatus::kPending) s.status = StepStatus::kSkipped;  // finished early
    }
  } else if (k == kAborted) {
    v->status = WorkflowStatus::kAborted;
    for (auto& s : v->steps) {
      if (s.status == StepStatus::kPending) s.status = StepStatus::kSkipped;
    }
  } else if (k == kFailed) {
    v->status = WorkflowStatus::kFailed;
    v->last_error = DetailString(e.detail, "error");
  } else if (k == kTerminated) {
    if (v->IsTerminal()) return Status::FailedPrecondition("terminate of terminal workflow " + v->id);
    v->status = WorkflowStatus::kFailed;
    v->terminated = true;
    v->last_error = "terminated: " + DetailString(e.detail, "reason");
    for (auto& s : v->steps) {
      if (s.status == StepStatus::kPending) s.status = StepStatus::kSkipped;
    }
  } else if (k == kOperatorCommand) {
    // Audit only; the effect is carried by the event that follows it.
  } else if (k == kDisruptionClaimed) {
    if (v->IsTerminal()) return Status::FailedPrecondition("disruption claim by terminal workflow " + v->id);
    FoldClaim(&v->holds, e.detail);
  } else if (k == kDisruptionReleased) {
    FoldRelease(&v->holds, e.detail);
  } else if (k == kKindRequested) {
    if (v->IsTerminal()) return Status::FailedPrecondition("kind request by terminal workflow " + v->id);
    KindRequest r;
    r.id = DetailString(e.detail, "requestId");
    r.target = DetailString(e.detail, "target");
    r.input = DetailValue(e.detail, "input", nlohmann::json());
    r.at_ms = e.at_ms;
    if (r.id.empty() || r.target.empty()) return Status::FailedPrecondition("kind_requested without requestId or target");
    v->requests.push_back(std::move(r));
  } else {
    return Status::FailedPrecondition("unknown event kind " + k);
  }
  v->updated_ms = e.at_ms;
  v->last_seq = e.seq;
  return Status::OK();
}

}  // namespace kinema
