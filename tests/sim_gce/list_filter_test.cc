#include "tools/kinema-sim/gce/list_filter.h"

#include <gtest/gtest.h>

namespace kinema::sim::gce {
namespace {

bool Match(const std::string& filter, const std::map<std::string, std::string>& labels,
           const std::string& name = "kinema-abc", const std::string& status = "RUNNING") {
  auto f = ListFilter::Parse(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status().ToString();
  return f.ok() && f->Matches({{"name", name}, {"status", status}, {"zone", "us-central1-a"}}, labels);
}

TEST(ListFilterTest, WhatTheGceClientSends) {
  // engine/cloud LabelFilter(): (labels.a = "x") AND (labels.b = "y")
  std::string f = R"((labels.kinema-workflow = "iteration-1") AND (labels.kinema-planned = "new-0"))";
  EXPECT_TRUE(Match(f, {{"kinema-workflow", "iteration-1"}, {"kinema-planned", "new-0"}}));
  EXPECT_FALSE(Match(f, {{"kinema-workflow", "iteration-1"}}));
  EXPECT_FALSE(Match(f, {{"kinema-workflow", "iteration-2"}, {"kinema-planned", "new-0"}}));
  EXPECT_TRUE(Match(R"((labels.q = "a \"quoted\" value"))", {{"q", "a \"quoted\" value"}}));
}

TEST(ListFilterTest, FieldsOperatorsAndImplicitAnd) {
  EXPECT_TRUE(Match("", {}));
  EXPECT_TRUE(Match("name = kinema-abc", {}));
  EXPECT_TRUE(Match("name != other status = RUNNING", {}));
  EXPECT_FALSE(Match("name != kinema-abc", {}));
  EXPECT_TRUE(Match(R"(name eq "kinema-.*")", {}));
  EXPECT_FALSE(Match(R"(name eq "kinema")", {}));  // full match
  EXPECT_TRUE(Match("status ne STOPPING", {}));
  EXPECT_TRUE(Match("labels.missing != x", {}));
  EXPECT_FALSE(Match("labels.missing = x", {}));
  EXPECT_TRUE(Match("zone = us-central1-a", {}));
}

TEST(ListFilterTest, RejectsWhatItCannotEvaluate) {
  for (const char* f : {"name", "name =", "(name = a", "name = a)", "cpu = 1", "name > 3", "name = a OR name = b",
                        "AND name = a", "name = a AND", R"(name eq "(")", R"(name = "unterminated)"}) {
    EXPECT_FALSE(ListFilter::Parse(f).ok()) << f;
  }
}

}  // namespace
}  // namespace kinema::sim::gce
