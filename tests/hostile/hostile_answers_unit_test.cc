// kinema-sim's hostile-peer rules and answer spoiling, without a server:
// parsing, draws, and what each kind does to an answer.
#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "tools/kinema-sim/faults.h"
#include "tools/kinema-sim/hostile_answers.h"

namespace kinema::sim {
namespace {

using nlohmann::json;

FaultInjector Injector(const std::string& text) {
  auto rules = FaultInjector::ParseText(text);
  EXPECT_TRUE(rules.ok()) << rules.status().ToString();
  return FaultInjector(rules.ok() ? rules.value() : std::vector<FaultRule>{}, 7);
}

std::string Gunzip(const std::string& in, size_t limit) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  std::vector<char> buf(1 << 20);
  int rc = Z_OK;
  while (rc == Z_OK && out.size() < limit) {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf.data(), buf.size() - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

TEST(HostilePeerRules, ParseAndApplyToEveryApiIncludingMetricsAndPrometheus) {
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"truncateRate":1.5}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"resource":"prometheus","verb":"get"}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"resource":"prometheus","conflictRate":0.1}]})").ok());
  EXPECT_FALSE(FaultInjector::ParseText(R"({"rules":[{"hugeBodyBytes":-1}]})").ok());
  FaultInjector star = Injector(R"({"rules":[{"truncateRate":1}]})");
  EXPECT_EQ(star.DecideHostile("get", "pods").kind, HostileKind::kTruncate);
  EXPECT_EQ(star.DecideHostile("query", "prometheus").kind, HostileKind::kNone) << "* is Kubernetes only";
  EXPECT_EQ(star.DecideHostile("get", "compute.instances").kind, HostileKind::kNone);
  FaultInjector prom = Injector(R"({"rules":[{"resource":"prometheus","verb":"query_range","gzipBombRate":1,
                                    "gzipBombBytes":1048576},{"resource":"metrics.k8s.io","slowBodyRate":1}]})");
  auto d = prom.DecideHostile("query_range", "prometheus");
  EXPECT_EQ(d.kind, HostileKind::kGzipBomb);
  EXPECT_EQ(d.bytes, 1048576u);
  EXPECT_EQ(prom.DecideHostile("query", "prometheus").kind, HostileKind::kNone);
  auto m = prom.DecideHostile("get", "metrics.k8s.io");
  EXPECT_EQ(m.kind, HostileKind::kSlowBody);
  EXPECT_EQ(m.slow.count(), 5000);
}

TEST(HostilePeerAnswers, EachKindSpoilsTheAnswerAsDocumented) {
  const std::string answer = R"({"kind":"Pod","metadata":{"name":"web-1","labels":{"app":"web"}},"spec":{"n":3}})";
  auto spoil = [&](HostileKind k, size_t bytes = 0) {
    HttpResponse r;
    r.body = answer;
    HostileDecision d;
    d.kind = k;
    d.bytes = bytes;
    d.slow = std::chrono::milliseconds(1234);
    d.seed = 99;
    SpoilAnswer(d, &r);
    return r;
  };
  // Wrong type: still JSON, same shape, one value of another type.
  auto wrong = spoil(HostileKind::kWrongType);
  json w = json::parse(wrong.body, nullptr, false);
  ASSERT_FALSE(w.is_discarded());
  EXPECT_NE(w, json::parse(answer));
  // Truncated: a strict prefix.
  auto cut = spoil(HostileKind::kTruncate);
  EXPECT_LT(cut.body.size(), answer.size());
  EXPECT_EQ(answer.rfind(cut.body, 0), 0u);
  // Invalid UTF-8: inside a string, so the JSON no longer parses.
  auto bad = spoil(HostileKind::kInvalidUtf8);
  EXPECT_NE(bad.body.find("\xff"), std::string::npos);
  EXPECT_TRUE(json::parse(bad.body, nullptr, false).is_discarded());
  // Huge: leading whitespace, still the same JSON.
  auto huge = spoil(HostileKind::kHugeBody, 1 << 20);
  EXPECT_EQ(huge.body.size(), answer.size() + (1u << 20));
  EXPECT_EQ(json::parse(huge.body), json::parse(answer));
  // Gzip bomb: small on the wire, whitespace + the answer once decoded.
  auto bomb = spoil(HostileKind::kGzipBomb, 8 << 20);
  EXPECT_LT(bomb.body.size(), 64u << 10) << "~1000:1";
  bool encoded = false;
  for (const auto& [k, v] : bomb.headers) encoded |= k == "Content-Encoding" && v == "gzip";
  EXPECT_TRUE(encoded);
  std::string plain = Gunzip(bomb.body, 16 << 20);
  EXPECT_EQ(plain.size(), (8u << 20) + answer.size());
  EXPECT_EQ(json::parse(plain), json::parse(answer));
  // The bomb's whitespace is compressed once per size and reused.
  EXPECT_EQ(Gunzip(GzipBomb(8 << 20, "{}"), 16 << 20).size(), (8u << 20) + 2);
  // Slow: unchanged, trickled.
  auto slow = spoil(HostileKind::kSlowBody);
  EXPECT_EQ(slow.body, answer);
  EXPECT_EQ(slow.trickle.count(), 1234);
}

}  // namespace
}  // namespace kinema::sim
