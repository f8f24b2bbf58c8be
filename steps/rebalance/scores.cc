#include "steps/rebalance/scores.h"

#include <array>
#include <cmath>
#include <map>

#include "engine/workflow/typed_result.h"
#include "steps/rebalance/pareto.h"

namespace kinema::rebalance {

using nlohmann::json;

StatusOr<ScoresResult> ScoresFromQuery(const prometheus::QueryResult& result, const std::string& node_label) {
  if (result.type != prometheus::QueryResult::Type::kVector) {
    return Status::InvalidArgument(std::string("the query returned a ") + prometheus::ResultTypeName(result.type) +
                                   ", not an instant vector with one series per node");
  }
  ScoresResult out;
  out.node_label = node_label;
  std::map<std::string, double> seen;
  std::map<std::string, int> count;
  for (const auto& s : result.series) {
    const std::string node = s.Label(node_label);
    if (node.empty()) {
      out.ignored.push_back({"", "a series without the label '" + node_label + "'"});
      continue;
    }
    if (s.samples.empty()) {
      out.ignored.push_back({node, "no sample"});
      continue;
    }
    const double v = s.samples.back().v;
    if (!std::isfinite(v) || v < 0 || v > 1) {
      out.ignored.push_back({node, "score " + std::to_string(v) + " is not a number in [0, 1]"});
      continue;
    }
    ++count[node];
    seen[node] = v;
  }
  for (const auto& [node, v] : seen) {
    if (count[node] > 1) {
      out.ignored.push_back({node, std::to_string(count[node]) + " series name this node"});
      continue;
    }
    out.scores.push_back({node, v});
  }
  return out;
}

StatusOr<ScoresResult> ParetoScoresFromRatios(const std::vector<prometheus::QueryResult>& ratios,
                                              const std::string& node_label) {
  if (ratios.size() != 4) return Status::InvalidArgument("pareto front: four ratio series are needed");
  const char* names[4] = {kCpuUsageSeries, kCpuPressureSeries, kMemoryUsageSeries, kMemoryPressureSeries};
  ScoresResult out;
  out.node_label = node_label;
  std::map<std::string, std::array<double, 4>> values;
  std::map<std::string, int> seen;
  for (int i = 0; i < 4; ++i) {
    auto one = ScoresFromQuery(ratios[i], node_label);
    if (!one.ok()) return one.status().WithContext(names[i]);
    for (const auto& ig : one->ignored) out.ignored.push_back({ig.node, std::string(names[i]) + ": " + ig.why});
    for (const auto& s : one->scores) {
      values[s.node][i] = s.score;
      seen[s.node] |= 1 << i;
    }
  }
  std::vector<NodeRatios> nodes;
  for (const auto& [node, v] : values) {
    if (seen[node] != 15) {
      out.ignored.push_back({node, "pareto front: not all four ratios are recorded for this node"});
      continue;
    }
    nodes.push_back({node, v[0], v[1], v[2], v[3]});
  }
  auto scores = ParetoFrontScores(nodes);
  if (!scores.ok()) return scores.status();
  out.scores = *scores;
  return out;
}

json ScoresResult::ToJson() const {
  json s = json::array(), ig = json::array();
  for (const auto& n : scores) s.push_back({{"node", n.node}, {"score", n.score}});
  for (const auto& i : ignored) ig.push_back({{"node", i.node}, {"why", i.why}});
  return {{"query", query}, {"nodeLabel", node_label}, {"scores", s}, {"ignored", ig}, {"atMs", at_ms}};
}

StatusOr<ScoresResult> ScoresResult::FromJson(const json& j) {
  return DecodeJson<ScoresResult>("rebalance scores", [&]() -> StatusOr<ScoresResult> {
    ScoresResult r;
    r.query = j.at("query").get<std::string>();
    r.node_label = j.at("nodeLabel").get<std::string>();
    for (const auto& s : j.at("scores")) {
      double v = s.at("score").get<double>();
      if (!std::isfinite(v) || v < 0 || v > 1) return Status::InvalidArgument("rebalance scores: score out of [0, 1]");
      r.scores.push_back({s.at("node").get<std::string>(), v});
    }
    for (const auto& i : j.at("ignored")) r.ignored.push_back({i.at("node").get<std::string>(), i.at("why").get<std::string>()});
    r.at_ms = j.value("atMs", int64_t{0});
    return r;
  });
}

}  // namespace kinema::rebalance
