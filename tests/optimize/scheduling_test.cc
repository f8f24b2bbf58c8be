#include "steps/optimize/scheduling.h"

#include <gtest/gtest.h>

namespace kinema {
namespace {

NodeConstraints Parse(const char* spec_json) {
  auto c = ParseNodeConstraints(nlohmann::json::parse(spec_json), "spec");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : NodeConstraints{};
}

bool Accepts(const NodeConstraints& c, const std::string& name, const Labels& labels,
             const std::vector<Taint>& taints = {}) {
  return NodeAccepts(c, NodeView{&name, &labels, &taints});
}

TEST(SchedulingTest, NodeSelectorNeedsEveryLabel) {
  auto c = Parse(R"({"nodeSelector": {"disk": "ssd", "zone": "a"}})");
  EXPECT_TRUE(Accepts(c, "n", {{"disk", "ssd"}, {"zone", "a"}, {"x", "y"}}));
  EXPECT_FALSE(Accepts(c, "n", {{"disk", "ssd"}}));
  EXPECT_FALSE(Accepts(c, "n", {{"disk", "hdd"}, {"zone", "a"}}));
}

TEST(SchedulingTest, RequiredAffinityAllOperators) {
  auto c = Parse(R"({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
    {"nodeSelectorTerms": [{"matchExpressions": [
      {"key": "zone", "operator": "In", "values": ["a", "b"]},
      {"key": "family", "operator": "NotIn", "values": ["n1"]},
      {"key": "gpu", "operator": "DoesNotExist"},
      {"key": "pool", "operator": "Exists"},
      {"key": "cores", "operator": "Gt", "values": ["4"]},
      {"key": "age", "operator": "Lt", "values": ["10"]}]}]}}}})");
  Labels ok = {{"zone", "b"}, {"family", "e2"}, {"pool", "p"}, {"cores", "8"}, {"age", "3"}};
  EXPECT_TRUE(Accepts(c, "n", ok));
  auto with = [&](const std::string& k, const std::string& v) {
    Labels l = ok;
    l[k] = v;
    return l;
  };
  EXPECT_FALSE(Accepts(c, "n", with("zone", "c")));
  EXPECT_FALSE(Accepts(c, "n", with("family", "n1")));
  EXPECT_FALSE(Accepts(c, "n", with("gpu", "1")));
  Labels no_pool = ok;
  no_pool.erase("pool");
  EXPECT_FALSE(Accepts(c, "n", no_pool));
  EXPECT_FALSE(Accepts(c, "n", with("cores", "4")));    // Gt is strict
  EXPECT_FALSE(Accepts(c, "n", with("cores", "many")));  // not an integer
  EXPECT_FALSE(Accepts(c, "n", with("age", "10")));
}

TEST(SchedulingTest, TermsAreOredAndMatchFieldsUseTheNodeName) {
  auto c = Parse(R"({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
    {"nodeSelectorTerms": [
      {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
      {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["special"]}]}]}}}})");
  EXPECT_TRUE(Accepts(c, "x", {{"zone", "a"}}));
  EXPECT_TRUE(Accepts(c, "special", {{"zone", "b"}}));
  EXPECT_FALSE(Accepts(c, "x", {{"zone", "b"}}));
}

TEST(SchedulingTest, TaintsNeedMatchingTolerations) {
  std::vector<Taint> spot = {{"kinema.io/spot", "true", "NoSchedule"}};
  std::vector<Taint> soft = {{"dedicated", "x", "PreferNoSchedule"}};
  std::vector<Taint> exec = {{"maint", "", "NoExecute"}};
  EXPECT_FALSE(Accepts(Parse("{}"), "n", {}, spot));
  EXPECT_TRUE(Accepts(Parse("{}"), "n", {}, soft));  // PreferNoSchedule never blocks
  EXPECT_FALSE(Accepts(Parse("{}"), "n", {}, exec));
  EXPECT_TRUE(Accepts(Parse(R"({"tolerations": [{"key": "kinema.io/spot", "operator": "Equal", "value": "true"}]})"),
                      "n", {}, spot));
  EXPECT_FALSE(Accepts(Parse(R"({"tolerations": [{"key": "kinema.io/spot", "value": "false"}]})"), "n", {}, spot));
  EXPECT_TRUE(Accepts(Parse(R"({"tolerations": [{"key": "kinema.io/spot", "operator": "Exists"}]})"), "n", {}, spot));
  EXPECT_TRUE(Accepts(Parse(R"({"tolerations": [{"operator": "Exists"}]})"), "n", {}, spot));  // tolerates all
  EXPECT_FALSE(Accepts(
      Parse(R"({"tolerations": [{"key": "kinema.io/spot", "operator": "Exists", "effect": "NoExecute"}]})"), "n", {},
      spot));  // wrong effect
  EXPECT_TRUE(Accepts(Parse(R"({"tolerations": [{"key": "maint", "operator": "Exists", "effect": "NoExecute"}]})"),
                      "n", {}, exec));
}

TEST(SchedulingTest, ReasonsNameTheBlockingRule) {
  std::string why;
  std::string name = "n";
  Labels labels;
  std::vector<Taint> taints = {{"kinema.io/spot", "true", "NoSchedule"}};
  EXPECT_FALSE(NodeAccepts(Parse("{}"), NodeView{&name, &labels, &taints}, &why));
  EXPECT_NE(why.find("kinema.io/spot"), std::string::npos) << why;
}

TEST(SchedulingTest, LabelSelectors) {
  auto s = ParseLabelSelector(nlohmann::json::parse(
                                  R"({"matchLabels": {"app": "web"},
                                      "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]})"),
                              "sel");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(MatchesLabelSelector(*s, {{"app", "web"}}));
  EXPECT_TRUE(MatchesLabelSelector(*s, {{"app", "web"}, {"tier", "front"}}));
  EXPECT_FALSE(MatchesLabelSelector(*s, {{"app", "web"}, {"tier", "db"}}));
  EXPECT_FALSE(MatchesLabelSelector(*s, {{"app", "api"}}));
}

TEST(SchedulingTest, MalformedConstraintsNameTheField) {
  auto c = ParseNodeConstraints(nlohmann::json::parse(R"({"affinity": {"nodeAffinity": {
      "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}]}]}}}})"),
                                "items[3].spec");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("items[3].spec.affinity.nodeAffinity"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("operator"), std::string::npos);
  c = ParseNodeConstraints(nlohmann::json::parse(R"({"tolerations": [{"key": "k", "operator": "Maybe"}]})"),
                           "items[0].spec");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("items[0].spec.tolerations[0].operator"), std::string::npos);
}

}  // namespace
}  // namespace kinema
