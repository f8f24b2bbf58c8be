// The ledger every kind shares: node budgets per workflow and across
// workflows, eviction limits, disjoint holdings, all-or-nothing claims.
#include <gtest/gtest.h>

#include "engine/budget/disruption_ledger.h"

namespace kinema {
namespace {

const int64_t kNow = 1'800'000'000'000;

struct Journal {
  std::map<std::string, DisruptionHolds> holds;
  // What the journal's fold would hold after the claim (the callback is the
  // caller's journal write; it may fail).
  bool fail = false;
};

LedgerOptions WithBudgets(std::vector<std::string> nodes) {
  LedgerOptions o;
  o.budgets.clear();
  for (const auto& n : nodes) o.budgets.push_back(*NodeBudget::FromNodes(n));
  return o;
}

ClaimRequest Retire(std::vector<std::string> nodes, int64_t node_count = 20, const char* reason = "rescheduling") {
  ClaimRequest r;
  r.reason = reason;
  r.node_count = node_count;
  r.retire = std::move(nodes);
  return r;
}

StatusOr<ClaimGrant> ClaimAs(DisruptionLedger& ledger, Journal& journal, const std::string& id, const ClaimRequest& r) {
  auto g = ledger.Claim(id, journal.holds[id], r,
                        [&](const ClaimGrant&) { return journal.fail ? Status::Unavailable("disk") : Status::OK(); }, kNow);
  if (g.ok()) {
    // Mirror the journal fold (the real engine folds the journaled event).
    DisruptionHolds& h = journal.holds[id];
    if (h.node_count == 0) h.node_count = r.node_count;
    for (const auto& n : g->retire) {
      if (h.retiring.insert(n).second) ++h.nodes_retired_claimed;
    }
    for (const auto& p : g->pods) {
      if (!h.pods.count(p.key)) {
        h.pods[p.key] = p.node;
        ++h.pods_claimed;
        ++h.pods_claimed_per_node[p.node];
        ++h.pods_claimed_per_namespace[p.key.substr(0, p.key.find('/'))];
      }
    }
    for (const auto& n : g->nodes) h.nodes.insert(n);
  }
  return g;
}

TEST(DisruptionLedger, TwoWorkflowsTogetherNeverExceedTheNodeBudget) {
  DisruptionLedger ledger(WithBudgets({"20%"}));  // 4 of 20 nodes
  Journal j;
  auto a = ClaimAs(ledger, j, "wf-a", Retire({"n1", "n2", "n3"}));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->retire.size(), 3u);
  auto b = ClaimAs(ledger, j, "wf-b", Retire({"n4", "n5", "n6"}, 20, "spot"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->retire, std::vector<std::string>{"n4"}) << "only 1 left of 4 while wf-a holds 3";
  ASSERT_EQ(b->refused.size(), 2u);
  EXPECT_NE(b->refused[0].why.find("nodes being disrupted now"), std::string::npos) << b->refused[0].why;
  ledger.Forget("wf-a");
  j.holds.erase("wf-a");
  auto c = ClaimAs(ledger, j, "wf-b", Retire({"n5", "n6", "n7", "n8"}, 20, "spot"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->retire.size(), 3u) << "wf-b's own total is 4: it already holds n4";
  EXPECT_NE(c->refused.back().why.find("this workflow's node budget is used up"), std::string::npos);
}

TEST(DisruptionLedger, AWorkflowsTotalUsesTheNodeCountAtItsFirstClaim) {
  DisruptionLedger ledger(WithBudgets({"10%"}));
  Journal j;
  ASSERT_EQ(ClaimAs(ledger, j, "wf", Retire({"n1"}, 20))->retire.size(), 1u);
  ledger.Release("wf", {{"retire", {"n1"}}});
  j.holds["wf"].retiring.erase("n1");
  auto later = ClaimAs(ledger, j, "wf", Retire({"n2", "n3"}, 40));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->retire.size(), 1u) << "10% of the 20 nodes at the first claim = 2 in total, 1 used";
}

TEST(DisruptionLedger, NodesAndPodsHeldByAnotherWorkflowAreRefused) {
  DisruptionLedger ledger(WithBudgets({"50%"}));
  Journal j;
  ASSERT_TRUE(ClaimAs(ledger, j, "resched", Retire({"n1"})).ok());
  ClaimRequest evict;
  evict.reason = "rebalance";
  evict.node_count = 20;
  evict.pods = {{"shop/a", "n1"}, {"shop/b", "n2"}};
  evict.nodes = {"n1", "n2"};
  auto g = ClaimAs(ledger, j, "rebal", evict);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->pods.size(), 1u);
  EXPECT_EQ(g->pods[0].key, "shop/b");
  EXPECT_EQ(g->nodes, std::vector<std::string>{"n2"});
  auto retire_n2 = ClaimAs(ledger, j, "resched", Retire({"n2"}));
  ASSERT_TRUE(retire_n2.ok());
  EXPECT_TRUE(retire_n2->retire.empty()) << "rebal acts on n2";
  EXPECT_NE(retire_n2->refused[0].why.find("held by workflow rebal"), std::string::npos);
  ClaimRequest same_pod;
  same_pod.reason = "resize";
  same_pod.pods = {{"shop/b", "n2"}};
  auto resize = ClaimAs(ledger, j, "resize", same_pod);
  EXPECT_TRUE(resize->pods.empty()) << "a pod is held by one workflow at a time";
}

TEST(DisruptionLedger, EvictionLimitsPerNodeNamespaceAndTotalCountEveryClaimOfTheWorkflow) {
  DisruptionLedger ledger(WithBudgets({}));
  Journal j;
  ClaimRequest r;
  r.reason = "rebalance";
  r.limits = EvictionLimits{2, 20, 5};
  r.pods = {{"a/p1", "n1"}, {"a/p2", "n1"}, {"a/p3", "n1"}, {"b/p4", "n2"}};
  auto first = ClaimAs(ledger, j, "wf", r);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->pods.size(), 3u) << "at most 2 per node";
  EXPECT_NE(first->refused[0].why.find("2 pods per node (n1)"), std::string::npos) << first->refused[0].why;
  r.pods = {{"c/p5", "n3"}, {"c/p6", "n3"}, {"c/p7", "n4"}};
  auto second = ClaimAs(ledger, j, "wf", r);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->pods.size(), 2u) << "5 in total for the workflow, 3 already claimed";
  r.limits = EvictionLimits{-1, 1, -1};
  r.pods = {{"d/p8", "n5"}, {"d/p9", "n6"}};
  auto ns = ClaimAs(ledger, j, "other", r);
  EXPECT_EQ(ns->pods.size(), 1u) << "1 per namespace";
}

TEST(DisruptionLedger, AllOrNothingClaimsGrantNothingWhenAnythingIsRefused) {
  DisruptionLedger ledger(WithBudgets({"1"}));
  Journal j;
  auto g = ClaimAs(ledger, j, "spot", [] {
    ClaimRequest r = Retire({"n1", "n2"}, 20, "spot");
    r.all_or_nothing = true;
    return r;
  }());
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->retire.empty());
  EXPECT_FALSE(g->complete());
  EXPECT_TRUE(ledger.Snapshot()["spot"].retiring.empty());
}

TEST(DisruptionLedger, AGrantCountsOnlyIfTheJournalWriteSucceeded) {
  DisruptionLedger ledger(WithBudgets({"1"}));
  Journal j;
  j.fail = true;
  EXPECT_FALSE(ClaimAs(ledger, j, "a", Retire({"n1"})).ok());
  j.fail = false;
  auto b = ClaimAs(ledger, j, "b", Retire({"n2"}));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->retire.size(), 1u) << "a's failed claim did not take the budget";
}

TEST(DisruptionLedger, ReloadingFromTheJournalRestoresEveryHolding) {
  DisruptionLedger before(WithBudgets({"2"}));
  Journal j;
  ASSERT_TRUE(ClaimAs(before, j, "a", Retire({"n1", "n2"})).ok());
  DisruptionLedger after(WithBudgets({"2"}));
  WorkflowView v;
  v.id = "a";
  v.status = WorkflowStatus::kPaused;
  v.holds = j.holds["a"];
  after.Load({v});
  auto g = after.NodesAvailable("spot", 20, "b", kNow);
  EXPECT_EQ(g.allowed, 0) << g.binding;
  EXPECT_NE(g.binding.find("held by a"), std::string::npos);
}

}  // namespace
}  // namespace kinema
