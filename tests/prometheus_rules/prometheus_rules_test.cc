// The shipped scoring rules (deploy/prometheus/): promtool accepts both files,
// the PrometheusRule carries exactly the plain file's groups, every score the
// rules record has promtool expectations in every scenario of rule_tests.yaml
// (which pass), and that file is what make_rule_tests.py writes today.
// Needs promtool (Debian's prometheus package, tools/install-deps.sh) and
// python3; a missing tool is a failure, not a skip.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "steps/rebalance/node_ratios.h"
#include "tests/support/test_support.h"

namespace kinema {
namespace {

using testing::ProcessResult;
using testing::RunProcess;

constexpr const char* kPromtool = "/usr/bin/promtool";

std::string Root() {
  const char* d = std::getenv("KINEMA_SOURCE_DIR");
  return d ? d : ".";
}
std::string PlainRules() { return Root() + "/deploy/prometheus/kinema-rules.yaml"; }
std::string OperatorRules() { return Root() + "/deploy/prometheus/kinema-prometheusrule.yaml"; }
std::string RuleTests() { return Root() + "/tests/prometheus_rules/rule_tests.yaml"; }

std::string Emit(const YAML::Node& n) {
  YAML::Emitter e;
  e << n;
  return e.c_str();
}

ProcessResult Promtool(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kPromtool};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

// Every `record:` name of a group list.
std::vector<std::string> Records(const YAML::Node& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) {
    for (const auto& r : g["rules"]) {
      if (r["record"]) out.push_back(r["record"].as<std::string>());
    }
  }
  return out;
}

class PrometheusRulesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::access(kPromtool, X_OK), 0) << kPromtool << " missing: run tools/install-deps.sh"; }
};

TEST_F(PrometheusRulesTest, PlainRuleFilePassesPromtoolCheck) {
  ProcessResult r = Promtool({"check", "rules", PlainRules()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << r.out;
}

TEST_F(PrometheusRulesTest, PrometheusRuleCarriesExactlyThePlainFilesGroupsAndPassesPromtool) {
  YAML::Node plain = YAML::LoadFile(PlainRules());
  YAML::Node op = YAML::LoadFile(OperatorRules());
  EXPECT_EQ(op["apiVersion"].as<std::string>(), "monitoring.coreos.com/v1");
  EXPECT_EQ(op["kind"].as<std::string>(), "PrometheusRule");
  EXPECT_EQ(op["metadata"]["name"].as<std::string>(), "kinema-rebalance");
  ASSERT_TRUE(op["spec"]["groups"].IsSequence());
  EXPECT_EQ(Emit(op["spec"]["groups"]), Emit(plain["groups"])) << "edit both files alike";

  // promtool reads plain rule files: check the operator's spec as one.
  testing::TempDir dir;
  YAML::Node spec;
  spec["groups"] = op["spec"]["groups"];
  std::ofstream(dir.File("spec.yaml")) << Emit(spec) << "\n";
  ProcessResult r = Promtool({"check", "rules", dir.File("spec.yaml")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(PrometheusRulesTest, ShipsTheSeedsAlgorithmsAndTheDefaultQueryLabelledByInstance) {
  std::vector<std::string> records = Records(YAML::LoadFile(PlainRules())["groups"]);
  std::set<std::string> set(records.begin(), records.end());
  EXPECT_EQ(set.size(), records.size()) << "a series is recorded twice";
  for (const char* algo :
       {"weighted_average", "max_metric", "euclidean_distance", "pressure_focused", "weighted_rms_positive_deviation",
        "weighted_mean_square_positive_deviation", "linear_weighted_positive_deviation", "centroid_distance",
        "directional_centroid_distance", "variance_minimization", "directional_variance_minimization",
        "critical_dimension_focus", "ideal_point_positive_distance", "linear_amplified_ippd_k1",
        "linear_amplified_ippd_k3", "linear_amplified_ippd_k5", "cpu_focused", "memory_focused"}) {
    EXPECT_EQ(set.count(std::string("descheduler:node:") + algo + ":score"), 1u) << algo;
  }
  EXPECT_EQ(set.count("descheduler:node:linear_amplified_ideal_point_positive_distance:k3:avg1m"), 1u);
  // What the workflow reads (steps/rebalance/node_ratios.h) is recorded.
  for (const char* name : {rebalance::kDefaultScoreQuery, rebalance::kCpuUsageSeries, rebalance::kCpuPressureSeries,
                           rebalance::kMemoryUsageSeries, rebalance::kMemoryPressureSeries}) {
    EXPECT_EQ(set.count(name), 1u) << name;
  }
  // #8 is computed by Kinema, and the file says so.
  EXPECT_EQ(set.count("descheduler:node:pareto_front:score"), 0u);
  EXPECT_NE(testing::ReadFile(PlainRules()).find("steps/rebalance/pareto.h"), std::string::npos);
  // Per-node series aggregate by instance only, so scores carry the node in `instance`.
  for (const auto& g : YAML::LoadFile(PlainRules())["groups"]) {
    for (const auto& r : g["rules"]) {
      const std::string expr = r["expr"].as<std::string>();
      std::smatch m;
      for (auto s = expr; std::regex_search(s, m, std::regex(R"(\b(by|on)\s*\(([^)]*)\))")); s = m.suffix()) {
        EXPECT_TRUE(m[2] == "instance" || m[2] == "" || m[2] == " ") << r["record"] << ": " << m[0];
      }
    }
  }
}

TEST_F(PrometheusRulesTest, EveryRecordedScoreHasExpectationsInEveryScenario) {
  std::vector<std::string> scores;
  for (const auto& rec : Records(YAML::LoadFile(PlainRules())["groups"])) {
    if (rec.find(":score") != std::string::npos || rec.find(":k3:avg1m") != std::string::npos) scores.push_back(rec);
  }
  ASSERT_EQ(scores.size(), 19u) << "18 algorithms and the default query";
  YAML::Node tests = YAML::LoadFile(RuleTests());
  ASSERT_GE(tests["tests"].size(), 5u);
  for (const auto& t : tests["tests"]) {
    std::set<std::string> tested;
    for (const auto& e : t["promql_expr_test"]) {
      const std::string expr = e["expr"].as<std::string>();
      EXPECT_GT(e["exp_samples"].size() + (expr.find("pareto") != std::string::npos), 0u) << expr;
      tested.insert(expr);
    }
    for (const auto& s : scores) {
      EXPECT_EQ(tested.count("round(" + s + ", 1e-6)"), 1u) << s << " untested in " << t["name"];
    }
  }
}

TEST_F(PrometheusRulesTest, PromtoolUnitTestsPass) {
  ProcessResult r = Promtool({"test", "rules", RuleTests()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << r.out << r.err;
}

TEST_F(PrometheusRulesTest, GeneratedTestsAreUpToDate) {
  ProcessResult r = RunProcess({"/usr/bin/python3", Root() + "/tests/prometheus_rules/make_rule_tests.py", "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace kinema
