// ParetoFrontScores: the seed's NSGA-II node ranking, checked against the
// reference Python (pareto_cases.json) and by hand.
#include "steps/rebalance/pareto.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <random>

namespace kinema::rebalance {
namespace {

NodeRatios N(const std::string& name, double uc, double pc, double um, double pm) {
  return NodeRatios{name, uc, pc, um, pm};
}

std::vector<double> Scores(const std::vector<NodeRatios>& nodes) {
  auto r = ParetoFrontScores(nodes);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::vector<double> out;
  if (!r.ok()) return out;
  for (size_t i = 0; i < r->size(); ++i) {
    EXPECT_EQ((*r)[i].node, nodes[i].node) << "scores come back in input order";
    out.push_back((*r)[i].score);
  }
  return out;
}

TEST(ParetoFrontTest, MatchesTheSeedsReferenceImplementation) {
  const char* src = std::getenv("KINEMA_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/tests/rebalance/pareto_cases.json");
  ASSERT_TRUE(in) << "tests/rebalance/pareto_cases.json";
  auto cases = nlohmann::json::parse(in)["cases"];
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    std::vector<NodeRatios> nodes;
    for (size_t i = 0; i < c["nodes"].size(); ++i) {
      const auto& x = c["ratios"][i];
      nodes.push_back(N(c["nodes"][i], x[0], x[1], x[2], x[3]));
    }
    std::vector<double> got = Scores(nodes);
    ASSERT_EQ(got.size(), c["scores"].size()) << c["title"];
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], c["scores"][i].get<double>(), 1e-12) << c["title"] << " node " << nodes[i].node;
    }
  }
}

TEST(ParetoFrontTest, LessLoadedFrontsScoreLowerAndCrowdedNodesGetABonus) {
  // Front 0: A and B at the extremes, C and D inside (crowding 2.5 and 3,
  // summed over the four dimensions); front 1: E, dominated by all.
  std::vector<double> s = Scores({N("a", 0.1, 0.9, 0.1, 0.9), N("b", 0.9, 0.1, 0.9, 0.1), N("c", 0.3, 0.7, 0.3, 0.7),
                                  N("d", 0.6, 0.4, 0.6, 0.4), N("e", 0.95, 0.95, 0.95, 0.95)});
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 0.0);
  EXPECT_NEAR(s[2], 0.1 * (1 - 2.5 / 3.0), 1e-12);
  EXPECT_DOUBLE_EQ(s[3], 0.0);  // the largest finite crowding distance: no bonus
  EXPECT_DOUBLE_EQ(s[4], 1.0);
}

TEST(ParetoFrontTest, AChainOfDominationSpreadsFrontsEvenly) {
  std::vector<double> s = Scores({N("hot", 0.9, 0.5, 0.8, 0.4), N("cold", 0.1, 0, 0.2, 0), N("mid", 0.5, 0.1, 0.5, 0.1)});
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 0.0);
  EXPECT_DOUBLE_EQ(s[2], 0.5);
}

TEST(ParetoFrontTest, EqualNodesShareOneFrontAndOnlyTheInteriorOneGetsTheFlatBonus) {
  // One front of three equal nodes: the first and last in input order are
  // the boundary of every dimension (∞, no bonus); the middle one has
  // crowding distance 0, the front's largest finite one is 0: bonus 0.05.
  std::vector<double> s = Scores({N("a", 0.5, 0.1, 0.5, 0.1), N("b", 0.5, 0.1, 0.5, 0.1), N("c", 0.5, 0.1, 0.5, 0.1)});
  EXPECT_EQ(s, (std::vector<double>{0.0, 0.05, 0.0}));
  EXPECT_TRUE(Scores({}).empty());
  EXPECT_EQ(Scores({N("only", 1, 1, 1, 1)}), std::vector<double>{0.0});
}

TEST(ParetoFrontTest, RejectsRatiosThatAreNotInTheUnitIntervalNamingTheNode) {
  for (double bad : {std::nan(""), -0.01, 1.5, static_cast<double>(INFINITY)}) {
    auto r = ParetoFrontScores({N("ok", 0.1, 0.1, 0.1, 0.1), N("node-7", 0.2, 0.2, bad, 0.2)});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("node node-7: memory_usage"), std::string::npos) << r.status().ToString();
  }
}

TEST(ParetoFrontTest, RejectsANodeListedTwice) {
  auto r = ParetoFrontScores({N("n1", 0.1, 0.1, 0.1, 0.1), N("n1", 0.2, 0.2, 0.2, 0.2)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("n1 appears twice"), std::string::npos) << r.status().ToString();
}

TEST(ParetoFrontTest, ScoresStayInTheUnitIntervalAndDominatedNodesNeverScoreLower) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int round = 0; round < 20; ++round) {
    std::vector<NodeRatios> nodes;
    for (int i = 0; i < 60; ++i) {
      // Coarse values: many ties and dominations.
      auto q = [&] { return std::round(u(rng) * 5) / 5; };
      nodes.push_back(N("n" + std::to_string(i), q(), q(), q(), q()));
    }
    std::vector<double> s = Scores(nodes);
    for (size_t i = 0; i < nodes.size(); ++i) {
      EXPECT_GE(s[i], 0);
      EXPECT_LE(s[i], 1);
      for (size_t j = 0; j < nodes.size(); ++j) {
        const auto& a = nodes[i];
        const auto& b = nodes[j];
        bool le = a.cpu_usage <= b.cpu_usage && a.cpu_pressure <= b.cpu_pressure && a.memory_usage <= b.memory_usage &&
                  a.memory_pressure <= b.memory_pressure;
        bool lt = a.cpu_usage < b.cpu_usage || a.cpu_pressure < b.cpu_pressure || a.memory_usage < b.memory_usage ||
                  a.memory_pressure < b.memory_pressure;
        // a dominates b: b sits in a later front, so b's score is at least
        // a's front score, and a's score is at most that plus a 0.1 bonus.
        if (le && lt) {
          EXPECT_LT(s[i], s[j] + 0.1 + 1e-12) << a.node << " dominates " << b.node;
        }
      }
    }
  }
}

}  // namespace
}  // namespace kinema::rebalance
