// plan_bench's CBC exporter (tools/bench/plan_bench/cbc_bound.h): the MIP it
// writes carries the optimizer's Problem row for row (demand per class,
// forced nodes fixed open, no placement where compat forbids it, budget rows
// only when a budget is set), and CBC logs parse to status/objective/bound.
// Needs no CBC: nothing here runs the solver.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "steps/optimize/problem.h"
#include "tools/bench/plan_bench/cbc_bound.h"
#include "tools/bench/plan_bench/cluster_generator.h"

namespace kinema {
namespace {

opt::Problem GeneratedProblem() {
  bench::ClusterSpec spec;
  spec.nodes = 8;
  spec.seed = 2;
  auto snap = ParseSnapshot(bench::GenerateCluster(spec));
  auto cat = ParseCatalog(bench::GenerateCatalog());
  EXPECT_TRUE(snap.ok() && cat.ok());
  auto p = opt::BuildProblem(*snap, *cat, PlanOptions{});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

std::string WriteAndRead(const opt::Problem& p, const bench::CbcModelOptions& o, bench::MipSize* size) {
  // Per process: another checkout's run of this test may share the temp dir.
  const std::string path = ::testing::TempDir() + "/cbc_bound_test." + std::to_string(::getpid()) + ".lp";
  Status st = bench::WriteCompactMip(p, o, path, size);
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CbcBoundTest, MipCarriesDemandForcedNodesAndCompatibility) {
  opt::Problem p = GeneratedProblem();
  bench::CbcModelOptions o;
  o.incumbent = 2 * p.cost_before + 1;
  bench::MipSize size;
  const std::string lp = WriteAndRead(p, o, &size);
  EXPECT_GT(size.columns, 0);
  EXPECT_GT(size.rows, static_cast<int64_t>(p.classes.size()));
  for (size_t d = 0; d < p.classes.size(); ++d) EXPECT_NE(lp.find(" dem" + std::to_string(d) + ":"), std::string::npos);
  for (int j = 0; j < p.num_existing; ++j) {
    const std::string bound = (p.kinds[j].forced ? " 1 <= e" : " 0 <= e") + std::to_string(j) + " <= 1\n";
    EXPECT_NE(lp.find(bound), std::string::npos) << "node " << j;
    for (size_t d = 0; d < p.classes.size(); ++d) {
      if (p.kinds[j].compat[d]) continue;
      EXPECT_EQ(lp.find(" x" + std::to_string(j) + "_" + std::to_string(d) + " "), std::string::npos)
          << "class " << d << " placed on incompatible node " << j;
    }
  }
  EXPECT_EQ(lp.find(" retire:"), std::string::npos);
  EXPECT_EQ(lp.find(" moves:"), std::string::npos);
  EXPECT_EQ(lp.rfind("End\n"), lp.size() - 4);
}

TEST(CbcBoundTest, BudgetsAddRetireAndMovesRows) {
  opt::Problem p = GeneratedProblem();
  bench::CbcModelOptions o;
  o.incumbent = p.cost_before + 1;
  o.max_retire = 1;
  o.max_moves = 5;
  const std::string lp = WriteAndRead(p, o, nullptr);
  EXPECT_NE(lp.find(" retire:"), std::string::npos);
  EXPECT_NE(lp.find(" moves:"), std::string::npos);
}

TEST(CbcBoundTest, RejectsAModelWithoutAnIncumbent) {
  opt::Problem p = GeneratedProblem();
  Status st = bench::WriteCompactMip(p, bench::CbcModelOptions{}, ::testing::TempDir() + "/cbc_bound_test_x." +
                                                                      std::to_string(::getpid()) + ".lp",
                                     nullptr);
  EXPECT_FALSE(st.ok());
}

TEST(CbcBoundTest, ParsesTimeLimitLogWithFullPrecisionBound) {
  const std::string log =
      "Cbc0010I After 100 nodes, 22 on tree, 1e+50 best solution, best possible 1.69 (3 seconds)\n"
      "Cbc0005I Partial search - best objective 1.708264 (best possible 1.6979834), took 487809 iterations\n"
      "Result - Stopped on time limit\n\nObjective value:                1.70826400\n"
      "Lower bound:                    1.698\n";
  auto r = bench::ParseCbcLog(log);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "time limit");
  EXPECT_DOUBLE_EQ(r->objective, 1.708264);
  EXPECT_DOUBLE_EQ(r->bound, 1.6979834);
}

TEST(CbcBoundTest, ParsesOptimalAndInfeasibleLogs) {
  auto opt = bench::ParseCbcLog("Result - Optimal solution found\n\nObjective value:                2.23800000\n");
  ASSERT_TRUE(opt.ok());
  EXPECT_EQ(opt->status, "optimal");
  EXPECT_DOUBLE_EQ(opt->bound, 2.238);
  auto inf = bench::ParseCbcLog("Result - Problem proven infeasible\n");
  ASSERT_TRUE(inf.ok());
  EXPECT_EQ(inf->status, "infeasible");
  EXPECT_LT(inf->objective, 0);
  EXPECT_FALSE(bench::ParseCbcLog("Coin0001I cannot open file\n").ok());
}

}  // namespace
}  // namespace kinema
