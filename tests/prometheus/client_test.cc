// prometheus::Client against a loopback HTTP server that answers like the
// Prometheus HTTP API: result parsing, errors, encoding, auth, timeouts.
#include "engine/http/url.h"
#include "engine//prometheus/client.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/common/text.h"
#include "tests/http/test_http_server.h"

namespace kinema::prometheus {
namespace {

using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;

ClientOptions Opts(const std::string& url, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  ClientOptions o;
  o.url = url;
  o.timeout = timeout;
  return o;
}

TestResponse Json(int status, const std::string& body) {
  TestResponse r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = body;
  return r;
}

std::string FormValue(const std::string& body, const std::string& key) {
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    std::string kv = body.substr(pos, amp - pos);
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
    pos = amp + 1;
  }
  return "";
}

TEST(PrometheusClientTest, WrongJsonTypesAreErrorsNeverExceptions) {
  // json::value("k", "") throws when the field is present with another type.
  for (const char* body : {
           R"({"status": 1})", R"({"status": "error", "errorType": 5, "error": ["x"]})",
           R"({"status": "success", "data": []})", R"({"status": "success", "data": {"resultType": 7}})",
           R"({"status": "success", "data": {"resultType": "matrix", "result": {"a": 1}}})",
           R"({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": 3, "values": [[1, 2, 3]]}]}})",
           R"({"status": "success", "data": {"resultType": "vector", "result": [{"value": ["t", "1"]}]}})",
           R"({"status": "success", "data": {"resultType": "scalar", "result": [1e999, "1"]}})",
           R"({"status": "success", "data": {"resultType": "string", "result": [null, null]}})",
           R"({"status": "success", "warnings": 5, "data": {"resultType": "vector", "result": []}})"}) {
    StatusOr<QueryResult> r = Status::Internal("not run");
    ASSERT_NO_THROW(r = ParseQueryResponse(200, body, "q")) << body;
    (void)r;
  }
  auto err = ParseQueryResponse(400, R"({"status": "error", "errorType": 5, "error": ["x"]})", "q");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), Status::Code::kInvalidArgument) << "the HTTP code still classifies it";
}

TEST(PrometheusClientTest, ABadGatewayBodyCutMidCharacterGivesAValidUtf8Message) {
  // A 502 from a proxy in front of Prometheus, shortened to a fixed byte
  // count in the message: cut inside a character, the journal write threw.
  std::string body = std::string(199, 'x') + "\xe2\x82\xac" + std::string(300, 'z');
  auto r = ParseQueryResponse(502, body, "prometheus query_range \"q\"");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(IsValidUtf8(r.status().message())) << r.status().message();
  auto invalid = ParseQueryResponse(502, "\xff\xfe bad gateway \xc3", "q");
  EXPECT_TRUE(IsValidUtf8(invalid.status().message())) << invalid.status().message();
}

TEST(PrometheusClientTest, UserinfoInTheUrlNeverReachesAStatusMessage) {
  // prometheus.url may carry basic-auth credentials; the error the prediction
  // step journals when Prometheus is unreachable must not.
  Client c(Opts("http://alice:s3cr3t@127.0.0.1:1/prom", std::chrono::milliseconds(2000)));
  auto r = c.Query("up");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("s3cr3t"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("alice"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("<redacted>@127.0.0.1:1"), std::string::npos) << r.status().message();
}

TEST(PrometheusClientTest, ParsesVectorMatrixScalarAndString) {
  auto v = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"__name__":"up","job":"sim"},"value":[1700000000.5,"1"]},
      {"metric":{"job":"x"},"value":[1700000000.5,"NaN"]}]},"warnings":["w1"]})",
                              "q");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->type, QueryResult::Type::kVector);
  ASSERT_EQ(v->series.size(), 2u);
  EXPECT_EQ(v->series[0].Label("job"), "sim");
  EXPECT_EQ(v->series[0].Label("__name__"), "up");
  EXPECT_DOUBLE_EQ(v->series[0].samples[0].t, 1700000000.5);
  EXPECT_DOUBLE_EQ(v->series[0].samples[0].v, 1.0);
  EXPECT_TRUE(std::isnan(v->series[1].samples[0].v));
  ASSERT_EQ(v->warnings.size(), 1u);

  auto m = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{"pod":"a"},"values":[[1,"0.5"],[2,"+Inf"],[3,"-Inf"],[4,"1e-3"]]}]}})",
                              "q");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, QueryResult::Type::kMatrix);
  ASSERT_EQ(m->series[0].samples.size(), 4u);
  EXPECT_TRUE(std::isinf(m->series[0].samples[1].v) && m->series[0].samples[1].v > 0);
  EXPECT_TRUE(std::isinf(m->series[0].samples[2].v) && m->series[0].samples[2].v < 0);
  EXPECT_DOUBLE_EQ(m->series[0].samples[3].v, 0.001);

  auto s = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"scalar","result":[12.5,"42"]}})", "q");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->type, QueryResult::Type::kScalar);
  EXPECT_DOUBLE_EQ(s->scalar.v, 42);
  EXPECT_DOUBLE_EQ(s->scalar.t, 12.5);

  auto str = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"string","result":[1,"hello"]}})", "q");
  ASSERT_TRUE(str.ok());
  EXPECT_EQ(str->string_value, "hello");
}

TEST(PrometheusClientTest, ApiErrorsCarryCodeErrorTypeAndText) {
  struct Case {
    long http;
    std::string type;
    Status::Code code;
  };
  for (const auto& c : std::vector<Case>{{400, "bad_data", Status::Code::kInvalidArgument},
                                         {422, "execution", Status::Code::kFailedPrecondition},
                                         {503, "timeout", Status::Code::kDeadlineExceeded},
                                         {503, "canceled", Status::Code::kCancelled},
                                         {500, "internal", Status::Code::kUnavailable},
                                         {503, "unavailable", Status::Code::kUnavailable}}) {
    auto r = ParseQueryResponse(c.http, R"({"status":"error","errorType":")" + c.type + R"(","error":"it broke"})",
                                "prometheus query \"x\"");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << c.type;
    EXPECT_EQ(r.status().message(),
              "prometheus query \"x\": HTTP " + std::to_string(c.http) + " " + c.type + ": it broke");
  }
  auto html = ParseQueryResponse(502, "<html>Bad Gateway</html>", "q");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(html.status().message().find("HTTP 502"), std::string::npos);
  EXPECT_NE(html.status().message().find("Bad Gateway"), std::string::npos);
  auto denied = ParseQueryResponse(401, "Unauthorized", "q");
  EXPECT_EQ(denied.status().code(), Status::Code::kPermissionDenied);
  auto bad_value = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}})", "q");
  EXPECT_FALSE(bad_value.ok());
}

TEST(PrometheusClientTest, QueryRangePostsEncodedFormWithBearerToken) {
  TestHttpServer server([](const TestRequest& req) {
    (void)req;
    return Json(200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  });
  ClientOptions o;
  o.url = server.base_url() + "/";
  o.bearer_token = "s3cret";
  Client client(o);
  auto start = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  auto end = start + std::chrono::minutes(15);
  std::string q = R"(sum by (pod) (rate(x{a="b c",d=~"e|f&g+h"}[1m])))";
  auto r = client.QueryRange(q, start, end, std::chrono::seconds(30));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->series.empty());
  ASSERT_EQ(server.request_count(), 1u);
  TestRequest req = server.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.Path(), "/api/v1/query_range");
  EXPECT_EQ(req.Header("authorization"), "Bearer s3cret");
  EXPECT_EQ(req.Header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(FormValue(req.body, "query"), http::UrlEncode(q));
  EXPECT_EQ(FormValue(req.body, "start"), "1700000000.123");
  EXPECT_EQ(FormValue(req.body, "end"), "1700000900.123");
  EXPECT_EQ(FormValue(req.body, "step"), "30.000");
  // Nothing in the encoded query is left raw that a form parser would misread.
  EXPECT_EQ(FormValue(req.body, "query").find_first_of(" &+=\"{}|"), std::string::npos);
}

TEST(PrometheusClientTest, GetPutsParametersInTheUrl) {
  TestHttpServer server([](const TestRequest&) {
    return Json(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  });
  ClientOptions o;
  o.url = server.base_url();
  o.use_get = true;
  Client client(o);
  auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  ASSERT_TRUE(client.Query("up == 1", at).ok());
  TestRequest req = server.requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/api/v1/query?query=up%20%3D%3D%201&time=1700000000.000");
  EXPECT_EQ(req.Header("authorization"), "");
}

TEST(PrometheusClientTest, ServerErrorIsReportedWithQuery) {
  TestHttpServer server([](const TestRequest&) {
    return Json(400, R"({"status":"error","errorType":"bad_data","error":"1:6: parse error: unexpected end of input"})");
  });
  Client client(Opts(server.base_url()));
  auto r = client.Query("rate(");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "prometheus query \"rate(\": HTTP 400 bad_data: 1:6: parse error: unexpected end of input");
}

TEST(PrometheusClientTest, SlowServerTimesOut) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r = Json(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
    r.delay_before = std::chrono::milliseconds(1500);
    return r;
  });
  Client client(Opts(server.base_url(), std::chrono::milliseconds(300)));
  auto r = client.Query("up");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("prometheus query \"up\""), std::string::npos);
}

TEST(PrometheusClientTest, RejectsBadArgumentsWithoutCallingTheServer) {
  Client none(Opts(""));
  EXPECT_EQ(none.Query("up").status().code(), Status::Code::kInvalidArgument);
  Client c(Opts("http://127.0.0.1:1"));
  auto t = std::chrono::system_clock::now();
  EXPECT_EQ(c.QueryRange("up", t, t, std::chrono::milliseconds(0)).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(c.QueryRange("up", t, t - std::chrono::seconds(1), std::chrono::seconds(1)).status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kinema::prometheus
