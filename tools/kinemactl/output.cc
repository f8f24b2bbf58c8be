#include "tools/kinemactl/output.h"
#include "engine/common/time.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "engine/common/numeric.h"
#include "engine/common/safe_json.h"
#include "engine/common/text.h"

namespace kinema::ctl {

namespace {
nlohmann::json TimeOrNull(int64_t ms) { return ms ? nlohmann::json(FormatRfc3339(ms)) : nlohmann::json(); }
}  // namespace

nlohmann::json SummaryJson(const WorkflowSummary& s) {
  nlohmann::json j = {{"id", s.id},
                      {"type", s.type},
                      {"status", s.status},
                      {"createdAt", FormatRfc3339(s.created_ms)},
                      {"updatedAt", FormatRfc3339(s.updated_ms)},
                      {"currentStep", s.current_step.empty() ? nlohmann::json() : nlohmann::json(s.current_step)}};
  if (!s.last_error.empty()) j["lastError"] = s.last_error;
  if (!s.pause_reason.empty()) j["pauseReason"] = s.pause_reason;
  if (s.abort_requested) j["abortRequested"] = true;
  if (!s.outcome.empty()) j["outcome"] = s.outcome;
  if (BlocksItsKind(s)) j["blocksKind"] = true;
  return j;
}

bool BlocksItsKind(const WorkflowSummary& s) {
  return s.status == WorkflowStatus::kPaused || (s.status == WorkflowStatus::kFailed && !s.terminated);
}

nlohmann::json EventJson(const Event& e) {
  return {{"seq", e.seq},
          {"at", FormatRfc3339(e.at_ms)},
          {"kind", e.kind},
          {"step", e.step_index >= 0 ? nlohmann::json(e.step_name) : nlohmann::json()},
          {"stepIndex", e.step_index >= 0 ? nlohmann::json(e.step_index) : nlohmann::json()},
          {"attempt", e.attempt},
          {"epoch", e.epoch},
          {"workflowId", e.workflow_id},
          {"detail", e.detail}};
}

nlohmann::json ShowJson(const WorkflowView& v, const std::vector<Event>& events) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : v.steps) {
    steps.push_back({{"name", s.name},
                     {"index", s.index},
                     {"status", s.status},
                     {"attempts", s.attempts},
                     {"startedAt", TimeOrNull(s.started_ms)},
                     {"finishedAt", TimeOrNull(s.finished_ms)},
                     {"error", s.error.empty() ? nlohmann::json() : nlohmann::json(s.error)},
                     {"idempotencyKey", s.idempotency_key.empty() ? nlohmann::json() : nlohmann::json(s.idempotency_key)},
                     {"epoch", s.epoch},
                     {"result", s.result}});
  }
  nlohmann::json ev = nlohmann::json::array();
  for (const auto& e : events) ev.push_back(EventJson(e));
  std::string cur = v.CurrentStepName();
  return {{"id", v.id},
          {"type", v.type},
          {"status", v.status},
          {"createdAt", FormatRfc3339(v.created_ms)},
          {"updatedAt", FormatRfc3339(v.updated_ms)},
          {"currentStep", cur.empty() ? nlohmann::json() : nlohmann::json(cur)},
          {"input", v.input},
          {"lastError", v.last_error.empty() ? nlohmann::json() : nlohmann::json(v.last_error)},
          {"pauseReason", v.pause_reason.empty() ? nlohmann::json() : nlohmann::json(v.pause_reason)},
          {"abortRequested", v.abort_requested},
          {"terminated", v.terminated},
          {"outcome", v.outcome.empty() ? nlohmann::json() : nlohmann::json(v.outcome)},
          {"steps", steps},
          {"events", ev}};
}

std::string RelativeTime(int64_t ms, int64_t now_ms) {
  if (ms == 0) return "-";
  int64_t diff = 0;
  if (!CheckedAdd(now_ms, -std::max<int64_t>(ms, -INT64_MAX), &diff)) return "?";  // a time read from a damaged file
  int64_t d = diff / 1000;
  bool future = d < 0;
  if (future) d = -d;
  std::string s;
  if (d < 60) s = std::to_string(d) + "s";
  else if (d < 3600) s = std::to_string(d / 60) + "m";
  else if (d < 86400) s = std::to_string(d / 3600) + "h";
  else s = std::to_string(d / 86400) + "d";
  return future ? "in " + s : s + " ago";
}

std::string Colourise(const std::string& status, bool colour) {
  if (!colour) return status;
  const char* c = "";
  if (status == "completed" || status == "succeeded") c = "\033[32m";
  else if (status == "running") c = "\033[36m";
  else if (status == "paused" || status == "compensated") c = "\033[33m";
  else if (status == "failed" || status == "aborted") c = "\033[31m";
  else return status;
  return std::string(c) + status + "\033[0m";
}

bool StdoutIsColourTerminal() { return ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr; }

std::string Table::Render(bool colour, int colour_col) const {
  std::vector<size_t> w(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) w[i] = header_[i].size();
  for (const auto& r : rows_)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& r, bool is_header) {
    for (size_t i = 0; i < w.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      size_t pad = w[i] - cell.size();
      if (!is_header && static_cast<int>(i) == colour_col) cell = Colourise(cell, colour);
      out += cell;
      if (i + 1 < w.size()) out += std::string(pad + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  };
  line(header_, true);
  for (const auto& r : rows_) line(r, false);
  return out;
}

std::string ShowText(const WorkflowView& v, const std::vector<Event>& events, bool colour, int64_t now_ms) {
  std::string out;
  out += "Workflow:  " + v.id + "\n";
  out += "Type:      " + v.type + "\n";
  out += "Status:    " + Colourise(WorkflowStatusName(v.status), colour) + (v.terminated ? " (terminated)" : "") +
         (v.abort_requested && !v.IsTerminal() ? " (abort requested)" : "") + "\n";
  out += "Created:   " + FormatRfc3339(v.created_ms) + " (" + RelativeTime(v.created_ms, now_ms) + ")\n";
  out += "Updated:   " + FormatRfc3339(v.updated_ms) + " (" + RelativeTime(v.updated_ms, now_ms) + ")\n";
  if (!v.outcome.empty()) out += "Outcome:   " + v.outcome + "\n";
  if (!v.CurrentStepName().empty() && !v.IsTerminal()) out += "Current:   " + v.CurrentStepName() + "\n";
  if (!v.pause_reason.empty()) out += "Paused:    " + v.pause_reason + "\n";
  if (!v.last_error.empty()) out += "Error:     " + v.last_error + "\n";
  out += "\nSteps:\n";
  Table st({"#", "STEP", "STATUS", "ATTEMPTS", "STARTED", "FINISHED", "ERROR"});
  for (const auto& s : v.steps) {
    st.AddRow({std::to_string(s.index), s.name, StepStatusName(s.status), std::to_string(s.attempts),
               RelativeTime(s.started_ms, now_ms), RelativeTime(s.finished_ms, now_ms), s.error});
  }
  out += st.Render(colour, 2);
  out += "\nEvents:\n";
  Table et({"SEQ", "AT", "KIND", "STEP", "ATTEMPT", "EPOCH", "DETAIL"});
  for (const auto& e : events) {
    std::string d = safe_json::Dump(e.detail);
    if (d.size() > 100) d = std::string(Utf8Prefix(d, 97)) + "...";
    et.AddRow({std::to_string(e.seq), FormatRfc3339(e.at_ms), e.kind, e.step_name,
               e.attempt ? std::to_string(e.attempt) : "", std::to_string(e.epoch), d});
  }
  out += et.Render(false, -1);
  return out;
}

}  // namespace kinema::ctl
