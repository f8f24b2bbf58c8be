// Presentation helpers for kinemactl: JSON shapes of operations.md, aligned
// tables, relative times, and colour only when stdout is a terminal (and
// NO_COLOR is unset).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "storage/event.h"
#include "storage/journal_reader.h"
#include "storage/workflow_view.h"

namespace kinema::ctl {

nlohmann::json SummaryJson(const WorkflowSummary& s);
// A paused or failed (not terminated) workflow blocks new workflows of its
// own type until it is resumed or aborted (the scheduler's rule); list says so.
bool BlocksItsKind(const WorkflowSummary& s);
nlohmann::json EventJson(const Event& e);
nlohmann::json ShowJson(const WorkflowView& v, const std::vector<Event>& events);

// "12s ago", "5m ago", "3h ago", "2d ago" relative to now_ms; "-" for 0.
std::string RelativeTime(int64_t ms, int64_t now_ms);

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns padded to their widest cell; `colour_col` (or -1) is the
  // status column that gets coloured when `colour` is true.
  std::string Render(bool colour, int colour_col) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string Colourise(const std::string& status, bool colour);
bool StdoutIsColourTerminal();
std::string ShowText(const WorkflowView& v, const std::vector<Event>& events, bool colour, int64_t now_ms);

}  // namespace kinema::ctl
