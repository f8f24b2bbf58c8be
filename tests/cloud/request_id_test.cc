#include "engine/cloud/request_id.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace kinema::cloud {
namespace {

TEST(RequestIdTest, SameVerbAndKeyGiveTheSameVersion5Uuid) {
  std::string a = RequestIdFor("instances.insert", "wf-1/boot/0");
  EXPECT_EQ(a, RequestIdFor("instances.insert", "wf-1/boot/0"));
  EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"))) << a;
  EXPECT_NE(a, "00000000-0000-0000-0000-000000000000");
}

TEST(RequestIdTest, InsertAndDeleteOfTheSameKeyNeverCollide) {
  EXPECT_NE(RequestIdFor("instances.insert", "k"), RequestIdFor("instances.delete", "k"));
}

TEST(RequestIdTest, DifferentKeysGiveDifferentIds) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(RequestIdFor("instances.insert", "wf/" + std::to_string(i)));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(RequestIdTest, IsAStandardUuid5AndStableAcrossReleases) {
  // Pinned (and cross-checked with Python's uuid.uuid5 over Kinema's
  // namespace 3d6b1f52-9a4e-4c07-b138-5e22c4907d11 and the name
  // "instances.insert/wf-1/boot/0"): a changed derivation would make resumed
  // workflows send new request ids after an upgrade.
  EXPECT_EQ(RequestIdFor("instances.insert", "wf-1/boot/0"), "2ceb3bc0-959f-52c2-85b6-44d42d4f5e10");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace kinema::cloud
