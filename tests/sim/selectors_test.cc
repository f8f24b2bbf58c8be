#include <gtest/gtest.h>

#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/selectors.h"

namespace kinema::sim {
namespace {

using nlohmann::json;

TEST(LabelSelector, AllOperators) {
  json labels = {{"app", "web"}, {"tier", "front"}};
  auto m = [&](const std::string& s) {
    auto r = LabelSelector::Parse(s);
    EXPECT_TRUE(r.ok()) << s;
    return r.value().Matches(labels);
  };
  EXPECT_TRUE(m(""));
  EXPECT_TRUE(m("app=web"));
  EXPECT_TRUE(m("app==web,tier"));
  EXPECT_FALSE(m("app!=web"));
  EXPECT_TRUE(m("app in (web, db)"));
  EXPECT_FALSE(m("app notin (web)"));
  EXPECT_TRUE(m("!missing"));
  EXPECT_FALSE(m("missing"));
  EXPECT_TRUE(m("missing!=x"));
  EXPECT_FALSE(m("missing in (x)"));
  EXPECT_FALSE(LabelSelector::Parse("app in (web").ok());
}

TEST(LabelSelector, FromJsonMatchExpressions) {
  auto s = LabelSelector::FromJson(json::parse(
      R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["db"]}]})"));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s.value().Matches(json{{"app", "web"}, {"tier", "front"}}));
  EXPECT_FALSE(s.value().Matches(json{{"app", "web"}, {"tier", "db"}}));
  EXPECT_EQ(s.value().ToString(), "app=web,tier notin (db)");
}

TEST(FieldSelector, PodFieldsAndUnsupportedField) {
  const ResourceType& pods = *ResourceRegistry::Default().Find("", "v1", "pods");
  json pod = json::parse(R"({"metadata":{"name":"p","namespace":"n"},"spec":{"nodeName":"a"},"status":{"phase":"Running"}})");
  auto s = FieldSelector::Parse("spec.nodeName=a,status.phase!=Pending,metadata.namespace==n", pods);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s.value().Matches(pod));
  EXPECT_FALSE(FieldSelector::Parse("spec.nodeName=b", pods).value().Matches(pod));
  EXPECT_TRUE(FieldSelector::Parse("spec.nodeName=", pods).value().Matches(json::parse(R"({"spec":{}})")));
  auto bad = FieldSelector::Parse("spec.priority=1", pods);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, 400);
  const ResourceType& nodes = *ResourceRegistry::Default().Find("", "v1", "nodes");
  EXPECT_TRUE(FieldSelector::Parse("spec.unschedulable=false", nodes).value().Matches(json::parse(R"({"spec":{}})")));
}

}  // namespace
}  // namespace kinema::sim
