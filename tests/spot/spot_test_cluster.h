// Test clusters for the spot decisions (spot_plan_test, spot_boot_test):
// spot and on-demand nodes, spot-tolerant pods, and a plan computed from a
// list of items. Builds on tests/optimize/test_cluster.h.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "steps/spot/spot_plan.h"
#include "tests/optimize/test_cluster.h"

namespace kinema::spot::test_cluster {

inline const nlohmann::json kSpotTaint =
    nlohmann::json::array({{{"key", "kinema.io/spot"}, {"value", "true"}, {"effect", "NoSchedule"}}});
inline const nlohmann::json kTolerateSpot = {{"tolerations", {{{"key", "kinema.io/spot"}, {"operator", "Exists"}}}}};

inline nlohmann::json TolerantPod(const std::string& name, const std::string& node, const std::string& cpu,
                                  const std::string& mem = "100Mi") {
  return testing_util::Pod(name, node, cpu, mem, kTolerateSpot);
}

// A cycle's plan over `items` (as a List), with the snapshot it was made from.
struct Planned {
  nlohmann::json list;
  Snapshot snap;
  SpotPlan plan;
};

// `in.now_ms` 0: a fixed instant (1.8e12 ms), so ages are stable.
inline Planned PlanOf(nlohmann::json items, PlanInputs in = {}) {
  Planned p;
  p.list = testing_util::List(std::move(items));
  auto s = ParseSnapshot(p.list);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  p.snap = *s;
  if (in.now_ms == 0) in.now_ms = 1'800'000'000'000;
  p.plan = PlanSpotCycle(p.snap, p.list, in);
  return p;
}

// The plan's entry for `name` (a failure and an empty entry when absent).
inline const PlannedNode& NodeIn(const SpotPlan& plan, const std::string& name) {
  const PlannedNode* n = plan.Find(name);
  EXPECT_NE(n, nullptr) << "no node " << name << " in the plan";
  static const PlannedNode none;
  return n ? *n : none;
}

}  // namespace kinema::spot::test_cluster
