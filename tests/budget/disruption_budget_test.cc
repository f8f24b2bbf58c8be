// Node budgets (count or percent, reasons, cron windows, the minimum wins)
// and the cron schedules behind them.
#include <gtest/gtest.h>

#include <climits>

#include "engine/budget/disruption_budget.h"

namespace kinema {
namespace {

int64_t At(const char* rfc3339) { return *ParseRfc3339Ms(rfc3339); }

NodeBudget Budget(const char* nodes, std::set<std::string> reasons = {}, const char* cron = nullptr,
                  Duration duration = Duration(0)) {
  NodeBudget b = *NodeBudget::FromNodes(nodes);
  b.reasons = std::move(reasons);
  if (cron) {
    b.schedule = *CronSchedule::Parse(cron);
    b.duration = duration;
  }
  return b;
}

TEST(NodeBudget, PercentRoundsUpLikeKarpenter) {
  EXPECT_EQ(Budget("10%").Allowed(20), 2);
  EXPECT_EQ(Budget("10%").Allowed(5), 1) << "10% of 5 nodes rounds up to 1";
  EXPECT_EQ(Budget("10%").Allowed(0), 0);
  EXPECT_EQ(Budget("20%").Allowed(20), 4);
  EXPECT_EQ(Budget("33%").Allowed(10), 4);
  EXPECT_EQ(Budget("100%").Allowed(7), 7);
  EXPECT_EQ(Budget("0%").Allowed(100), 0);
  EXPECT_EQ(Budget("3").Allowed(100), 3);
  EXPECT_EQ(Budget("3").Allowed(1), 3) << "a count is a count";
}

TEST(NodeBudget, MalformedNodesAreRefused) {
  for (const char* bad : {"", "ten", "10%%", "-1", "150%", "1.5", "%", "nan%", "1e9"}) {
    EXPECT_FALSE(NodeBudget::FromNodes(bad).ok()) << bad;
  }
}

TEST(NodeBudget, TheMostRestrictiveApplyingBudgetWins) {
  const int64_t now = At("2026-12-04T12:00:00Z");
  std::vector<NodeBudget> budgets = {Budget("20%"), Budget("2", {"spot"}), Budget("50%", {"rebalance"})};
  auto resched = AllowedNodes(budgets, "rescheduling", 20, now);
  EXPECT_EQ(resched.allowed, 4);
  EXPECT_NE(resched.binding.find("budgets[0]"), std::string::npos) << resched.binding;
  auto spot = AllowedNodes(budgets, "spot", 20, now);
  EXPECT_EQ(spot.allowed, 2) << "the spot-only budget is tighter for spot";
  EXPECT_NE(spot.binding.find("budgets[1]"), std::string::npos);
  EXPECT_EQ(AllowedNodes(budgets, "rebalance", 20, now).allowed, 4) << "the all-reasons budget still applies";
  EXPECT_EQ(AllowedNodes({}, "spot", 20, now).allowed, INT64_MAX) << "no budget: unlimited";
  EXPECT_EQ(AllowedNodes(DefaultNodeBudgets(), "resize", 50, now).allowed, 5) << "default: one budget of 10%";
}

TEST(NodeBudget, ScheduledBudgetsApplyOnlyInTheirWindow) {
  // No disruption during weekday business hours (09:00-17:00 UTC).
  std::vector<NodeBudget> budgets = {Budget("10%"), Budget("0", {}, "0 9 * * mon-fri", Duration(8 * 3600 * 1000))};
  EXPECT_EQ(AllowedNodes(budgets, "spot", 30, At("2026-12-04T10:30:00Z")).allowed, 0) << "Friday 10:30: inside";
  EXPECT_EQ(AllowedNodes(budgets, "spot", 30, At("2026-12-04T08:59:00Z")).allowed, 3) << "before the window";
  EXPECT_EQ(AllowedNodes(budgets, "spot", 30, At("2026-12-04T17:00:00Z")).allowed, 3) << "the window is [09:00, 17:00)";
  EXPECT_EQ(AllowedNodes(budgets, "spot", 30, At("2026-12-05T10:30:00Z")).allowed, 3) << "Saturday";
  // A window that spans midnight.
  std::vector<NodeBudget> night = {Budget("50%", {}, "0 22 * * *", Duration(8 * 3600 * 1000))};
  EXPECT_EQ(AllowedNodes(night, "spot", 10, At("2026-12-05T03:00:00Z")).allowed, 5);
  EXPECT_EQ(AllowedNodes(night, "spot", 10, At("2026-12-05T07:00:00Z")).allowed, INT64_MAX);
}

TEST(CronSchedule, StandardFieldsNamesStepsAndDescriptors) {
  auto every15 = CronSchedule::Parse("*/15 * * * *");
  ASSERT_TRUE(every15.ok());
  EXPECT_TRUE(every15->Matches(At("2026-12-04T10:45:00Z")));
  EXPECT_FALSE(every15->Matches(At("2026-12-04T10:46:00Z")));
  auto named = CronSchedule::Parse("30 6 1-7 jan,JUL sun");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_TRUE(named->Matches(At("2026-07-05T06:30:00Z"))) << "day 5 (restricted dom) or Sunday";
  EXPECT_TRUE(named->Matches(At("2026-07-26T06:30:00Z"))) << "Sunday the 26th: either day field matches";
  EXPECT_FALSE(named->Matches(At("2026-08-02T06:30:00Z"))) << "August";
  auto daily = CronSchedule::Parse("@daily");
  ASSERT_TRUE(daily.ok());
  EXPECT_TRUE(daily->Matches(At("2026-12-04T00:00:30Z")));
  EXPECT_EQ(daily->LastFireAtOrBefore(At("2026-12-04T05:10:00Z"), 6 * 3600 * 1000), At("2026-12-04T00:00:00Z"));
  EXPECT_EQ(daily->LastFireAtOrBefore(At("2026-12-04T05:10:00Z"), 3600 * 1000), -1) << "outside the horizon";
  auto sunday7 = CronSchedule::Parse("0 0 * * 7");
  ASSERT_TRUE(sunday7.ok());
  EXPECT_TRUE(sunday7->Matches(At("2026-12-06T00:00:00Z"))) << "7 is Sunday";
  for (const char* bad : {"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
                          "*/0 * * * *", "5-1 * * * *", "@often", "a b c d e", "* * * foo *"}) {
    EXPECT_FALSE(CronSchedule::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace kinema
