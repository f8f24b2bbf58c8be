// Node scores read from Prometheus (`rebalance.query`): one value in [0, 1]
// per node, named by the series' `rebalance.nodeLabel` label. Pure parsing
// of the answer, so that what is refused and why is journaled.
// Thread-safety: pure functions and plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/prometheus/client.h"
#include "steps/rebalance/node_ratios.h"

namespace kinema::rebalance {

struct IgnoredSeries {
  std::string node;  // "" when the label is missing
  std::string why;
};

// The result of the read-scores step.
struct ScoresResult {
  std::string query;
  std::string node_label;
  std::vector<NodeScore> scores;      // by node name
  std::vector<IgnoredSeries> ignored;
  int64_t at_ms = 0;
  nlohmann::json ToJson() const;
  static StatusOr<ScoresResult> FromJson(const nlohmann::json& j);
};

// `rebalance.query: kinema:pareto_front` selects the seed's algorithm #8
// (pareto.h), the one score PromQL cannot express: Kinema reads the four
// recorded ratios (node_ratios.h) and ranks the nodes itself.
inline constexpr const char* kParetoFrontQuery = "kinema:pareto_front";

// The Pareto-front scores from the answers to the four ratio queries
// (cpu usage, cpu pressure, memory usage, memory pressure, in that order).
// A node missing one ratio, or with one outside [0, 1], is ignored with the
// reason.
StatusOr<ScoresResult> ParetoScoresFromRatios(const std::vector<prometheus::QueryResult>& ratios,
                                              const std::string& node_label);

// One score per node from an instant query's answer. A vector is required
// (InvalidArgument naming the type otherwise); a series without the label,
// with a value that is not a number in [0, 1] (NaN, ±Inf, out of range) or
// naming a node twice is ignored with the reason (both duplicates go: which
// one is right cannot be told).
StatusOr<ScoresResult> ScoresFromQuery(const prometheus::QueryResult& result, const std::string& node_label);

}  // namespace kinema::rebalance
