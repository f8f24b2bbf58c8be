// Unit tests: Status parsing, rate limiter arithmetic, retry decisions.
#include <gtest/gtest.h>

#include "engine/kube/api_error.h"
#include "engine/kube/rate_limiter.h"
#include "engine/kube/retry_policy.h"
#include "engine/common/time.h"

namespace kinema::kube {
namespace {

using std::chrono::milliseconds;

TEST(ApiError, ParsesConflictStatusWithDetails) {
  std::string body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
    "message":"Operation cannot be fulfilled on pods \"x\": the object has been modified; please apply your changes to the latest version and try again",
    "reason":"Conflict","details":{"name":"x","kind":"pods"},"code":409})";
  ApiError e = ApiError::Parse(409, body);
  EXPECT_EQ(e.code, 409);
  EXPECT_EQ(e.reason, "Conflict");
  EXPECT_EQ(e.name, "x");
  EXPECT_EQ(e.kind, "pods");
  EXPECT_TRUE(e.IsConflict());
  EXPECT_FALSE(e.IsAlreadyExists());
  Status s = e.ToStatus("update pods shop/x");
  EXPECT_EQ(s.code(), Status::Code::kConflict);
  EXPECT_EQ(s.message().rfind("update pods shop/x: Conflict (HTTP 409): Operation cannot be fulfilled", 0), 0u);
}

TEST(ApiError, ParsesCausesAndRetryAfter) {
  std::string body = R"({"kind":"Status","status":"Failure","code":429,"reason":"TooManyRequests",
    "message":"Cannot evict pod as it would violate the pod's disruption budget.",
    "details":{"retryAfterSeconds":3,"causes":[{"reason":"DisruptionBudget","message":"The disruption budget web needs 2 healthy pods and has 2 currently"}]}})";
  ApiError e = ApiError::Parse(429, body);
  ASSERT_EQ(e.causes.size(), 1u);
  EXPECT_EQ(e.causes[0].reason, "DisruptionBudget");
  EXPECT_EQ(e.retry_after_seconds, 3);
  Status s = e.ToStatus("evict pod a/b");
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(s.message().find("DisruptionBudget"), std::string::npos);
}

TEST(ApiError, MapsCodesOntoStatusCodes) {
  struct Case {
    int code;
    std::string reason;
    Status::Code want;
  } cases[] = {
      {400, "BadRequest", Status::Code::kInvalidArgument},   {401, "", Status::Code::kPermissionDenied},
      {403, "Forbidden", Status::Code::kPermissionDenied},   {404, "NotFound", Status::Code::kNotFound},
      {409, "AlreadyExists", Status::Code::kAlreadyExists},  {409, "Conflict", Status::Code::kConflict},
      {410, "Expired", Status::Code::kFailedPrecondition},  {415, "", Status::Code::kInvalidArgument},
      {422, "Invalid", Status::Code::kInvalidArgument},      {429, "", Status::Code::kResourceExhausted},
      {500, "InternalError", Status::Code::kUnavailable},   {503, "", Status::Code::kUnavailable},
      {504, "Timeout", Status::Code::kDeadlineExceeded},
  };
  for (const auto& c : cases) {
    std::string body = c.reason.empty() ? "" : R"({"kind":"Status","reason":")" + c.reason + R"(","message":"m"})";
    EXPECT_EQ(ApiError::Parse(c.code, body).StatusCode(), c.want) << c.code << " " << c.reason;
  }
}

TEST(ApiError, NonStatusBodiesStillYieldAnError) {
  ApiError e = ApiError::Parse(502, "<html>Bad Gateway</html>");
  EXPECT_EQ(e.reason, "InternalError");
  EXPECT_EQ(e.message, "<html>Bad Gateway</html>");
  EXPECT_EQ(ApiError::Parse(404, "").message, "no response body");
}

TEST(ApiError, EchoedTokensAreRedacted) {
  ApiError e = ApiError::Parse(401, R"({"kind":"Status","message":"invalid bearer token: Bearer abc123secret"})");
  EXPECT_EQ(e.ToStatus("get pods").message().find("abc123secret"), std::string::npos);
}

TEST(TokenBucket, BurstThenSteadyRate) {
  TokenBucket b(10, 3);  // 10 QPS, burst 3
  auto t0 = TokenBucket::Clock::now() + std::chrono::hours(1);  // far past construction: bucket full
  EXPECT_EQ(b.Reserve(t0).count(), 0);
  EXPECT_EQ(b.Reserve(t0).count(), 0);
  EXPECT_EQ(b.Reserve(t0).count(), 0);
  // Fourth and fifth at the same instant wait 100 ms and 200 ms.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(b.Reserve(t0)).count(), 100);
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(b.Reserve(t0)).count(), 200);
  // One second later the debt is repaid and 8 tokens accrued (cap 3).
  auto t1 = t0 + std::chrono::seconds(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.Reserve(t1).count(), 0) << i;
  EXPECT_GT(b.Reserve(t1).count(), 0);
}

TEST(TokenBucket, PauseAppliesToEveryCaller) {
  TokenBucket b(0, 1);  // unlimited rate
  auto t0 = TokenBucket::Clock::now();
  EXPECT_EQ(b.Reserve(t0).count(), 0);
  b.PauseUntil(t0 + std::chrono::seconds(2));
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(b.Reserve(t0)).count(), 2000);
  EXPECT_EQ(b.Reserve(t0 + std::chrono::seconds(3)).count(), 0);
}

TEST(TokenBucket, AcquireGivesUpBeforeADeadlineItCannotMeet) {
  TokenBucket b(1, 1);
  auto now = TokenBucket::Clock::now();
  EXPECT_TRUE(b.Acquire(now + std::chrono::seconds(5)));
  EXPECT_FALSE(b.Acquire(TokenBucket::Clock::now() + milliseconds(10)));
}

TEST(RetryPolicy, RetriesConnectionErrors5xxAnd429ButNotOther4xx) {
  RetryPolicy p;
  EXPECT_TRUE(Decide(p, 1, Status::Unavailable("refused"), 0, std::nullopt, true, 0.5).retry);
  EXPECT_TRUE(Decide(p, 1, Status::DeadlineExceeded("timeout"), 0, std::nullopt, true, 0.5).retry);
  EXPECT_FALSE(Decide(p, 1, Status::InvalidArgument("bad url"), 0, std::nullopt, true, 0.5).retry);
  EXPECT_FALSE(Decide(p, 1, Status::PermissionDenied("untrusted cert"), 0, std::nullopt, true, 0.5).retry);
  for (int code : {500, 502, 503, 504}) EXPECT_TRUE(Decide(p, 1, Status::OK(), code, std::nullopt, true, 0.5).retry);
  EXPECT_FALSE(Decide(p, 1, Status::OK(), 500, std::nullopt, /*retry_5xx=*/false, 0.5).retry);
  EXPECT_FALSE(Decide(p, 1, Status::OK(), 501, std::nullopt, true, 0.5).retry);
  for (int code : {400, 401, 403, 404, 409, 410, 422}) {
    EXPECT_FALSE(Decide(p, 1, Status::OK(), code, std::nullopt, true, 0.5).retry) << code;
  }
  EXPECT_TRUE(Decide(p, 1, Status::OK(), 429, std::nullopt, true, 0.5).retry);
}

TEST(RetryPolicy, HonoursRetryAfterWithACap) {
  RetryPolicy p;
  p.max_retry_after = milliseconds(10000);
  EXPECT_EQ(Decide(p, 1, Status::OK(), 429, 3, true, 0.5).delay, milliseconds(3000));
  EXPECT_EQ(Decide(p, 1, Status::OK(), 429, 3600, true, 0.5).delay, milliseconds(10000));
}

TEST(RetryPolicy, StopsAfterMaxAttemptsAndBacksOffExponentially) {
  RetryPolicy p;
  p.max_attempts = 3;
  p.initial_backoff = milliseconds(100);
  p.max_backoff = milliseconds(1000);
  EXPECT_TRUE(Decide(p, 2, Status::OK(), 503, std::nullopt, true, 0).retry);
  EXPECT_FALSE(Decide(p, 3, Status::OK(), 503, std::nullopt, true, 0).retry);
  EXPECT_EQ(p.Backoff(1, 1.0), milliseconds(100));
  EXPECT_EQ(p.Backoff(2, 1.0), milliseconds(200));
  EXPECT_EQ(p.Backoff(3, 1.0), milliseconds(400));
  EXPECT_EQ(p.Backoff(10, 1.0), milliseconds(1000));
  EXPECT_EQ(p.Backoff(2, 0.0), milliseconds(100));  // jitter floor is half
}

TEST(TimeFormat, MicroTimeRoundTrips) {
  auto t = ParseRfc3339("2026-11-22T10:00:01.123456Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t, 6), "2026-11-22T10:00:01.123456Z");
  EXPECT_EQ(FormatRfc3339(*t, 0), "2026-11-22T10:00:01Z");
  EXPECT_EQ(*ParseRfc3339("2026-11-22T12:00:01+02:00"), *ParseRfc3339("2026-11-22T10:00:01Z"));
  EXPECT_FALSE(ParseRfc3339("yesterday").has_value());
}

}  // namespace
}  // namespace kinema::kube
