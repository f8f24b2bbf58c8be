#include "steps/rebalance/settings.h"

#include <map>

#include "steps/optimize/label_selector_string.h"

namespace kinema::rebalance {

using namespace config;

StatusOr<std::vector<SelectorRequirement>> ParseNodeSelector(const std::string& text) {
  if (text.find_first_not_of(" \t") == std::string::npos) return std::vector<SelectorRequirement>{};
  auto parsed = ParseLabelSelectorString(text);
  if (!parsed.ok()) return parsed.status();
  return parsed->requirements;
}

bool SelectorMatches(const std::vector<SelectorRequirement>& selector, const std::map<std::string, std::string>& labels) {
  for (const auto& r : selector) {
    if (!MatchesRequirement(r, labels)) return false;
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
