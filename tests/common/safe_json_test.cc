// safe_json: outside JSON read without exceptions.
#include <gtest/gtest.h>

#include <string>

#include "engine/common/safe_json.h"

namespace kinema {
namespace {

using safe_json::Json;

TEST(SafeJson, FieldOfTheWrongTypeGivesTheDefaultInsteadOfThrowing) {
  Json j = Json::parse(R"({"status": 5, "errorType": ["x"], "n": "7", "ok": "true", "f": 1.5})");
  // nlohmann's own j.value("status", "") throws type_error here.
  EXPECT_THROW((void)j.value("status", std::string()), nlohmann::json::type_error);
  EXPECT_EQ(safe_json::String(j, "status"), "");
  EXPECT_EQ(safe_json::String(j, "errorType", "dflt"), "dflt");
  EXPECT_EQ(safe_json::Int(j, "n", -1), -1) << "strings are never numbers";
  EXPECT_FALSE(safe_json::Bool(j, "ok"));
  EXPECT_EQ(safe_json::Int(j, "f", 9), 9) << "1.5 is not an integer";
  EXPECT_DOUBLE_EQ(safe_json::Number(j, "f"), 1.5);
}

TEST(SafeJson, AccessorsOnNonObjectsNeverThrow) {
  for (const char* text : {"null", "[1,2]", "\"s\"", "3", "true"}) {
    Json j = Json::parse(text);
    EXPECT_EQ(safe_json::String(j, "k"), "") << text;
    EXPECT_EQ(safe_json::Find(j, "k"), nullptr) << text;
    EXPECT_EQ(safe_json::FindPath(j, "a.b.c"), nullptr) << text;
    EXPECT_EQ(safe_json::Int(j, "k", 4), 4) << text;
  }
}

TEST(SafeJson, IntegersMustFitAndNumbersMustBeFinite) {
  Json j = Json::parse(R"({"big": 18446744073709551615, "huge": 1e308, "neg": -5, "exact": 3.0, "u": 42})");
  EXPECT_FALSE(safe_json::OptInt(j, "big").has_value()) << "above INT64_MAX";
  EXPECT_FALSE(safe_json::OptInt(j, "huge").has_value()) << "static_cast would be undefined behaviour";
  EXPECT_EQ(safe_json::Int(j, "neg"), -5);
  EXPECT_EQ(safe_json::Int(j, "exact"), 3);
  EXPECT_EQ(safe_json::Int(j, "u"), 42);
  EXPECT_DOUBLE_EQ(*safe_json::OptNumber(j, "huge"), 1e308);
  Json inf = Json(std::numeric_limits<double>::infinity());
  EXPECT_FALSE(safe_json::AsNumber(inf).has_value());
  EXPECT_FALSE(safe_json::AsNumber(Json(std::nan(""))).has_value());
}

TEST(SafeJson, DeeplyNestedDocumentsAreRefusedNotRecursedInto) {
  std::string deep(100000, '[');
  EXPECT_TRUE(safe_json::Parse(deep).is_discarded());
  std::string ok = std::string(100, '[') + std::string(100, ']');
  EXPECT_FALSE(safe_json::Parse(ok).is_discarded());
  // Brackets inside strings do not count.
  std::string in_string = "{\"k\": \"" + std::string(1000, '[') + "\"}";
  EXPECT_FALSE(safe_json::Parse(in_string).is_discarded());
  EXPECT_EQ(safe_json::NestingDepth(in_string), 1);
  EXPECT_EQ(safe_json::NestingDepth(R"({"a":"\"[[[","b":[1]})"), 2) << "escaped quotes stay inside the string";
}

TEST(SafeJson, NotJsonIsDiscardedNeverThrown) {
  for (const char* text : {"", "{", "<html>502 Bad Gateway</html>", "{\"a\":1}garbage", "\xff\xfe"}) {
    EXPECT_TRUE(safe_json::Parse(text).is_discarded()) << text;
  }
}

TEST(SafeJson, DumpReplacesInvalidUtf8InsteadOfThrowing) {
  Json j = {{"error", std::string("cut \xe2\x82", 6)}, {"ok", "caf\xc3\xa9"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error) << "what used to end the process";
  std::string out = safe_json::Dump(j);
  EXPECT_NE(out.find("cut \xef\xbf\xbd"), std::string::npos) << out;
  EXPECT_NE(out.find("caf\xc3\xa9"), std::string::npos);
  EXPECT_FALSE(safe_json::Parse(out).is_discarded()) << "the dump is valid JSON again";
}

TEST(SafeJson, MakeValidUtf8FixesStringsAndKeysSoADumpRoundTrips) {
  Json j = {{"error", std::string("cut \xe2\x82", 6)}, {std::string("k\xff"), {1, std::string("\xc3")}}, {"ok", "fine"}};
  EXPECT_TRUE(safe_json::MakeValidUtf8(&j));
  EXPECT_EQ(safe_json::Parse(safe_json::Dump(j)), j) << "what is stored is what is folded";
  EXPECT_EQ(j["ok"], "fine");
  EXPECT_FALSE(safe_json::MakeValidUtf8(&j)) << "nothing left to fix";
}

}  // namespace
}  // namespace kinema
