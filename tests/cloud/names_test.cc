#include <gtest/gtest.h>

#include "engine/cloud/cloud_provider.h"

namespace kinema::cloud {
namespace {

TEST(InstanceNameTest, DerivedNamesAreDeterministicValidAndBounded) {
  std::string n = InstanceNameFor("kinema", "wf-1/boot/0");
  EXPECT_EQ(n, InstanceNameFor("kinema", "wf-1/boot/0"));
  EXPECT_NE(n, InstanceNameFor("kinema", "wf-1/boot/1"));
  EXPECT_EQ(n.rfind("kinema-", 0), 0u);
  EXPECT_EQ(n.size(), 7u + 16u);
  EXPECT_TRUE(ValidateInstanceName(n).ok());
  std::string long_prefix(100, 'x');
  std::string l = InstanceNameFor(long_prefix, "k");
  EXPECT_LE(l.size(), 63u);
  EXPECT_TRUE(ValidateInstanceName(l).ok()) << l;
}

TEST(InstanceNameTest, PrefixIsSanitised) {
  EXPECT_EQ(InstanceNameFor("9Kinema_Pool.A-", "k").rfind("kinemapoola-", 0), 0u) << InstanceNameFor("9Kinema_Pool.A-", "k");
  EXPECT_EQ(InstanceNameFor("---", "k").rfind("kinema-", 0), 0u);
  EXPECT_TRUE(ValidateInstanceName(InstanceNameFor("", "k")).ok());
}

TEST(InstanceNameTest, ValidationFollowsRfc1035) {
  EXPECT_FALSE(ValidateInstanceName("").ok());
  EXPECT_FALSE(ValidateInstanceName("1abc").ok());
  EXPECT_FALSE(ValidateInstanceName("abc-").ok());
  EXPECT_FALSE(ValidateInstanceName("Abc").ok());
  EXPECT_FALSE(ValidateInstanceName("a_b").ok());
  EXPECT_FALSE(ValidateInstanceName(std::string(64, 'a')).ok());
  EXPECT_TRUE(ValidateInstanceName(std::string(63, 'a')).ok());
  EXPECT_TRUE(ValidateInstanceName("a").ok());
  EXPECT_EQ(ValidateInstanceName("Abc").code(), Status::Code::kInvalidArgument);
}

TEST(CloudLabelsTest, GceLabelRulesAreChecked) {
  EXPECT_TRUE(ValidateCloudLabels({{"kinema-iteration", "wf-1_a"}, {"empty", ""}}).ok());
  EXPECT_FALSE(ValidateCloudLabels({{"Kinema", "x"}}).ok());
  EXPECT_FALSE(ValidateCloudLabels({{"kinema.io/x", "y"}}).ok());
  EXPECT_FALSE(ValidateCloudLabels({{"k", "UPPER"}}).ok());
  EXPECT_FALSE(ValidateCloudLabels({{"k", std::string(64, 'a')}}).ok());
  Labels many;
  for (int i = 0; i < 65; ++i) many["l" + std::to_string(i)] = "v";
  EXPECT_FALSE(ValidateCloudLabels(many).ok());
}

}  // namespace
}  // namespace kinema::cloud
