#include "steps/rebalance/settings.h"

#include <cctype>
#include <map>

namespace kinema::rebalance {

using namespace config;

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool ValidLabelKey(const std::string& k) {
  if (k.empty() || k.size() > 316) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/')) return false;
  }
  return true;
}

bool ValidLabelValue(const std::string& v) {
  if (v.size() > 63) return false;
  for (char c : v) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

StatusOr<std::vector<NodeRequirement>> ParseNodeSelector(const std::string& text) {
  std::vector<NodeRequirement> out;
  if (Trim(text).empty()) return out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string term = Trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    NodeRequirement r;
    size_t at;
    if (term.empty()) return Status::InvalidArgument("empty term in node selector '" + text + "'");
    if ((at = term.find("!=")) != std::string::npos) {
      r.op = NodeRequirement::Op::kNotEquals;
      r.key = Trim(term.substr(0, at));
      r.value = Trim(term.substr(at + 2));
    } else if ((at = term.find("==")) != std::string::npos) {
      r.key = Trim(term.substr(0, at));
      r.value = Trim(term.substr(at + 2));
    } else if ((at = term.find('=')) != std::string::npos) {
      r.key = Trim(term.substr(0, at));
      r.value = Trim(term.substr(at + 1));
    } else if (term[0] == '!') {
      r.op = NodeRequirement::Op::kDoesNotExist;
      r.key = Trim(term.substr(1));
    } else {
      r.op = NodeRequirement::Op::kExists;
      r.key = term;
    }
    if (!ValidLabelKey(r.key)) return Status::InvalidArgument("bad label key in node selector term '" + term + "'");
    if (!ValidLabelValue(r.value)) return Status::InvalidArgument("bad label value in node selector term '" + term + "'");
    out.push_back(std::move(r));
  }
  return out;
}

bool SelectorMatches(const std::vector<NodeRequirement>& selector, const std::map<std::string, std::string>& labels) {
  for (const auto& r : selector) {
    auto it = labels.find(r.key);
    switch (r.op) {
      case NodeRequirement::Op::kEquals:
        if (it == labels.end() || it->second != r.value) return false;
        break;
      case NodeRequirement::Op::kNotEquals:
        if (it != labels.end() && it->second == r.value) return false;
        break;
      case NodeRequirement::Op::kExists:
        if (it == labels.end()) return false;
        break;
      case NodeRequirement::Op::kDoesNotExist:
        if (it != labels.end()) return false;
        break;
    }
  }
  return true;
}

Fields RebalanceSettings::Sections() {
  auto mark = [](bool* flag, Field f) {
    return Custom([flag, f](const YAML::Node& n, const std::string& p) -> Status {
      KINEMA_RETURN_IF_ERROR(Walk(n, f, p));
      *flag = true;
      return Status::OK();
    });
  };
  return {
      {"rebalance",
       Map({{"query", Str(&query)},
            {"nodeLabel", Str(&node_label)},
            {"deviation", mark(&deviation_set_, Map({{"high", Num(&deviation_high_, 0, 1)},
                                                     {"low", Num(&deviation_low_, 0, 1)}}))},
            {"thresholds", mark(&thresholds_set_, Map({{"high", Num(&thresholds_high_, 0, 1)},
                                                       {"low", Num(&thresholds_low_, 0, 1)}}))},
            {"nodeSelector", Str(&node_selector)},
            {"cooldown", Dur(&cooldown)},
            {"pingPongWindow", Dur(&ping_pong_window)},
            {"migrationTimeout", Dur(&migration_timeout)},
            {"evictionLimits", kinema::EvictionLimitsField(&eviction_limits)}})},
  };
}

Status RebalanceSettings::Finish() {
  if (query.find_first_not_of(" \t\n") == std::string::npos) return Status::InvalidArgument("rebalance.query: must not be empty");
  if (node_label.empty()) return Status::InvalidArgument("rebalance.nodeLabel: must not be empty");
  if (deviation_set_ && thresholds_set_) {
    return Status::InvalidArgument("rebalance.thresholds: set either rebalance.deviation or rebalance.thresholds, not both");
  }
  if (thresholds_set_) {
    if (thresholds_high_ < 0 || thresholds_low_ < 0) {
      return Status::InvalidArgument("rebalance.thresholds: both high and low are required");
    }
    if (thresholds_low_ > thresholds_high_) {
      return Status::InvalidArgument("rebalance.thresholds.low: " + std::to_string(thresholds_low_) +
                                     " is above thresholds.high " + std::to_string(thresholds_high_));
    }
    classes = {true, thresholds_high_, thresholds_low_};
  } else {
    classes = {false, deviation_high_, deviation_low_};
  }
  auto sel = ParseNodeSelector(node_selector);
  if (!sel.ok()) return Status::InvalidArgument("rebalance.nodeSelector: " + sel.status().message());
  node_requirements = *sel;
  if (cooldown.count() < 0 || ping_pong_window.count() < 0) {
    return Status::InvalidArgument("rebalance.cooldown: must not be negative");
  }
  if (migration_timeout.count() <= 0) return Status::InvalidArgument("rebalance.migrationTimeout: must be positive");
  return Status::OK();
}

}  // namespace kinema::rebalance
