// The load-rebalancing workflow's pure reading of the outside world: node
// scores from a Prometheus answer, pod usage from metrics.k8s.io, eviction
// answers (an evacuation is in progress, not a refusal), when a background
// eviction is finished, and the eviction history read back from the
// journal's results.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "steps/rebalance/eviction.h"
#include "steps/rebalance/rebalance_workflow.h"
#include "steps/rebalance/scores.h"

namespace kinema::rebalance {
namespace {

using json = nlohmann::json;

prometheus::Series Series(std::map<std::string, std::string> labels, double v) {
  prometheus::Series s;
  s.labels = std::move(labels);
  s.samples.push_back({1700000000, v});
  return s;
}

TEST(ScoresFromQueryTest, OneScorePerNodeAndEveryRefusalSaysWhy) {
  prometheus::QueryResult r;
  r.series = {Series({{"instance", "a"}}, 0.7), Series({{"instance", "b"}}, 0.1),
              Series({{"node", "c"}}, 0.5),                                          // no instance label
              Series({{"instance", "d"}}, std::numeric_limits<double>::quiet_NaN()),  // NaN
              Series({{"instance", "e"}}, 1.5),                                        // out of range
              Series({{"instance", "f"}, {"job", "x"}}, 0.2), Series({{"instance", "f"}, {"job", "y"}}, 0.3)};
  auto s = ScoresFromQuery(r, "instance");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->scores.size(), 2u);
  EXPECT_EQ(s->scores[0].node, "a");
  EXPECT_DOUBLE_EQ(s->scores[0].score, 0.7);
  EXPECT_EQ(s->ignored.size(), 4u) << s->ToJson().dump();
  auto back = ScoresResult::FromJson(s->ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToJson(), s->ToJson());
  r.type = prometheus::QueryResult::Type::kMatrix;
  EXPECT_FALSE(ScoresFromQuery(r, "instance").ok()) << "a range vector is not one score per node";
}

TEST(ParetoScoresTest, KinemaRanksTheNodesFromTheFourRecordedRatios) {
  std::vector<prometheus::QueryResult> ratios(4);
  // a dominates b (less loaded in every ratio); c lacks its memory pressure.
  double a[4] = {0.2, 0.0, 0.3, 0.0}, b[4] = {0.9, 0.3, 0.8, 0.1};
  for (int i = 0; i < 4; ++i) {
    ratios[i].series = {Series({{"instance", "a"}}, a[i]), Series({{"instance", "b"}}, b[i])};
    if (i < 3) ratios[i].series.push_back(Series({{"instance", "c"}}, 0.5));
  }
  auto s = ParetoScoresFromRatios(ratios, "instance");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->scores.size(), 2u) << s->ToJson().dump();
  EXPECT_EQ(s->scores[0].node, "a");
  EXPECT_LT(s->scores[0].score, s->scores[1].score);
  EXPECT_DOUBLE_EQ(s->scores[1].score, 1.0) << "the last of two fronts";
  ASSERT_EQ(s->ignored.size(), 1u);
  EXPECT_EQ(s->ignored[0].node, "c");
  EXPECT_FALSE(ParetoScoresFromRatios({}, "instance").ok());
}

TEST(PodUsageFromMetricsTest, SumsContainersAndSkipsMalformedItems) {
  json list = {{"items", json::array({
      {{"metadata", {{"name", "web-1"}, {"namespace", "shop"}}},
       {"containers", json::array({{{"name", "a"}, {"usage", {{"cpu", "500000000n"}, {"memory", "1024Ki"}}}},
                                   {{"name", "b"}, {"usage", {{"cpu", "250m"}, {"memory", "1Mi"}}}}})}},
      {{"metadata", {{"name", "bad"}, {"namespace", "shop"}}},
       {"containers", json::array({{{"name", "a"}, {"usage", {{"cpu", "lots"}, {"memory", "1Mi"}}}}})}},
      "not an object"})}};
  auto u = PodUsageFromMetrics(list);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_NEAR(u["shop/web-1"].cpu_cores, 0.75, 1e-9);
  EXPECT_NEAR(u["shop/web-1"].memory_bytes, 2 * 1024 * 1024, 1);
  EXPECT_TRUE(PodUsageFromMetrics(json("garbage")).empty());
}

TEST(EvictionAnswerTest, AnEvacuationIsInProgressNotARefusal) {
  EXPECT_EQ(ReadEvictionAnswer(201, ""), EvictionAnswer::kAccepted);
  EXPECT_EQ(ReadEvictionAnswer(429, "admission webhook \"virt-launcher-eviction-interceptor.kubevirt.io\" denied the "
                                    "request: Eviction triggered evacuation of VMI \"default/vm-000\""),
            EvictionAnswer::kEvacuationTriggered);
  EXPECT_EQ(ReadEvictionAnswer(429, "Evacuation in progress: Eviction triggered evacuation of VMI \"default/vm-000\""),
            EvictionAnswer::kEvacuationTriggered);
  EXPECT_EQ(ReadEvictionAnswer(429, "Cannot evict pod as it would violate the pod's disruption budget."),
            EvictionAnswer::kRefused);
  EXPECT_EQ(ReadEvictionAnswer(404, ""), EvictionAnswer::kNotFound);
  EXPECT_EQ(ReadEvictionAnswer(500, "boom"), EvictionAnswer::kError);
}

json VmPod(const std::string& name, const std::string& node, const std::string& phase, const std::string& uid) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"uid", uid}, {"labels", {{"vm.kubevirt.io/name", "vm-000"}}}}},
          {"spec", {{"nodeName", node}}}, {"status", {{"phase", phase}}}};
}

TEST(BackgroundEvictionTest, FinishedWhenTheSourceIsGoneAndTheVmRunsElsewhere) {
  PodChoice c;
  c.pod = "default/virt-launcher-vm-000-abcde";
  c.uid = "u-src";
  c.from = "n1";
  c.vm = "vm-000";
  c.evict_only = true;
  json src = VmPod("virt-launcher-vm-000-abcde", "n1", "Running", "u-src");
  json target = VmPod("virt-launcher-vm-000-fghij", "n2", "Pending", "u-dst");
  std::string pod, node;
  EXPECT_FALSE(BackgroundEvictionFinished(c, &src, {src, target}, &pod, &node)) << "copying memory";
  target["status"]["phase"] = "Running";
  EXPECT_FALSE(BackgroundEvictionFinished(c, &src, {src, target}, &pod, &node)) << "the source still runs";
  EXPECT_TRUE(BackgroundEvictionFinished(c, nullptr, {target}, &pod, &node));
  EXPECT_EQ(pod, "default/virt-launcher-vm-000-fghij");
  EXPECT_EQ(node, "n2");
  // A pod of the same name with another uid is not the source.
  json other = VmPod("virt-launcher-vm-000-abcde", "n3", "Running", "u-new");
  EXPECT_TRUE(BackgroundEvictionFinished(c, &other, {other}, &pod, &node));
  EXPECT_EQ(node, "n3");
  // Gone, but the VM runs nowhere else (yet): not finished.
  EXPECT_FALSE(BackgroundEvictionFinished(c, nullptr, {}, &pod, &node));
}

TEST(EvictionHistoryTest, ReadsEvictionsBackFromEarlierCycles) {
  EvictResult r;
  EvictionEntry moved;
  moved.choice.pod = "shop/web-1";
  moved.choice.workload = "shop/Deployment/web";
  moved.choice.from = "hot";
  moved.choice.to = "cold";
  moved.outcome = EvictionOutcome::kEvicted;
  moved.at_ms = 1000;
  EvictionEntry refused = moved;
  refused.choice.pod = "shop/db-1";
  refused.outcome = EvictionOutcome::kRefused;
  EvictionEntry vm = moved;
  vm.choice.pod = "default/virt-launcher-vm-1-x";
  vm.choice.workload = "default/VirtualMachine/vm-1";
  vm.outcome = EvictionOutcome::kMigrated;
  vm.new_node = "n7";
  r.evictions = {moved, refused, vm};
  auto back = EvictResult::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), r.ToJson());

  WorkflowView v;
  v.id = "load-rebalancing-1";
  v.type = kWorkflowType;
  StepView s;
  s.name = kEvictStep;
  s.status = StepStatus::kSucceeded;
  s.result = r.ToJson();
  v.steps.push_back(s);
  WorkflowView other = v;
  other.type = "kinema-rescheduling";
  WorkflowView damaged = v;
  damaged.steps[0].result = json{{"evictions", "nope"}};
  auto h = EvictionHistory({v, other, damaged}, kWorkflowType);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].workload, "shop/Deployment/web");
  EXPECT_EQ(h[0].workflow, "load-rebalancing-1");
  EXPECT_EQ(h[1].to, "n7") << "a migrated VM's real destination";
  EXPECT_FALSE(EvictResult::FromJson(json{{"evictions", json::array({{{"pod", "x"}}})}}).ok());
}

}  // namespace
}  // namespace kinema::rebalance
