// Unit tests for engine/http against a local plain-HTTP test server.
#include "engine/http/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/http/test_http_server.h"

namespace kinema::http {
namespace {

using kinema::testing::TestHttpServer;
using kinema::testing::TestRequest;
using kinema::testing::TestResponse;

Request Get(const std::string& url) {
  Request r;
  r.url = url;
  return r;
}

TEST(HttpClient, SendsMethodBodyHeadersAndBearerToken) {
  TestHttpServer server([](const TestRequest& r) {
    TestResponse resp;
    resp.status = 201;
    resp.headers.push_back({"X-Echo", r.Header("x-custom")});
    resp.body = "{\"got\":\"" + r.body + "\"}";
    return resp;
  });
  HttpClient client;
  Request req;
  req.method = "PATCH";
  req.url = server.base_url() + "/api/v1/nodes/n1?x=1";
  req.headers.push_back({"X-Custom", "hello"});
  req.headers.push_back({"Content-Type", "application/merge-patch+json"});
  req.body = "abc";
  req.bearer_token = "s3cr3t-token";
  auto resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 201);
  EXPECT_EQ(resp->body, "{\"got\":\"abc\"}");
  ASSERT_NE(resp->FindHeader("x-echo"), nullptr);
  EXPECT_EQ(*resp->FindHeader("X-ECHO"), "hello");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PATCH");
  EXPECT_EQ(reqs[0].target, "/api/v1/nodes/n1?x=1");
  EXPECT_EQ(reqs[0].Header("authorization"), "Bearer s3cr3t-token");
  EXPECT_EQ(reqs[0].Header("content-type"), "application/merge-patch+json");
}

TEST(HttpClient, ErrorStatusIsATransportSuccessWithBody) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse resp;
    resp.status = 404;
    resp.body = "{\"kind\":\"Status\",\"code\":404}";
    return resp;
  });
  HttpClient client;
  auto resp = client.Do(Get(server.base_url() + "/x"));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 404);
  EXPECT_NE(resp->body.find("Status"), std::string::npos);
}

TEST(HttpClient, SlowServerHitsRequestTimeout) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse resp;
    resp.delay_before = std::chrono::milliseconds(1500);
    return resp;
  });
  HttpClient client;
  Request req;
  req.url = server.base_url() + "/slow";
  req.timeout = std::chrono::milliseconds(200);
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Status::Code::kDeadlineExceeded) << resp.status().ToString();
}

TEST(HttpClient, ConnectionRefusedIsUnavailableAndNeverLeaksToken) {
  int port;
  {
    TestHttpServer server([](const TestRequest&) { return TestResponse{}; });
    port = server.port();
  }  // closed: nothing listens there now
  HttpClient client;
  Request req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/api?access_token=querysecret";
  req.bearer_token = "leaky-token-value";
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(resp.status().message().find("leaky-token-value"), std::string::npos);
  EXPECT_EQ(resp.status().message().find("querysecret"), std::string::npos);
  EXPECT_NE(resp.status().message().find("GET http://127.0.0.1"), std::string::npos);
}

TEST(HttpClient, StreamDeliversChunksAsTheyArrive) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse resp;
    resp.chunks = {"line1\n", "line2\n", "line3\n"};
    resp.chunk_pause = std::chrono::milliseconds(50);
    return resp;
  });
  HttpClient client;
  std::string got;
  int calls = 0;
  auto resp = client.Stream(Get(server.base_url() + "/watch"), [&](std::string_view chunk) {
    got.append(chunk);
    ++calls;
    return true;
  });
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(got, "line1\nline2\nline3\n");
  EXPECT_GE(calls, 2);  // paused chunks arrive separately
  EXPECT_TRUE(resp->body.empty());
}

TEST(HttpClient, StreamStopsWhenCallbackReturnsFalse) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse resp;
    resp.chunks = {"a\n", "b\n", "c\n", "d\n"};
    resp.chunk_pause = std::chrono::milliseconds(30);
    return resp;
  });
  HttpClient client;
  std::string got;
  auto resp = client.Stream(Get(server.base_url() + "/watch"), [&](std::string_view chunk) {
    got.append(chunk);
    return false;
  });
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(got, "a\n");
}

TEST(HttpClient, StreamBuffersErrorBodies) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse resp;
    resp.status = 410;
    resp.body = "{\"code\":410}";
    return resp;
  });
  HttpClient client;
  bool called = false;
  auto resp = client.Stream(Get(server.base_url() + "/watch"), [&](std::string_view) {
    called = true;
    return true;
  });
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 410);
  EXPECT_EQ(resp->body, "{\"code\":410}");
  EXPECT_FALSE(called);
}

TEST(HttpClient, CancelFlagAbortsAStream) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse resp;
    resp.chunks = std::vector<std::string>(100, "x\n");
    resp.chunk_pause = std::chrono::milliseconds(50);
    return resp;
  });
  HttpClient client;
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto resp = client.Stream(Get(server.base_url() + "/watch"), [](std::string_view) { return true; }, &cancel);
  canceller.join();
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Status::Code::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(HttpClient, HttpsToAPlainServerFailsAsTransportError) {
  TestHttpServer server([](const TestRequest&) { return TestResponse{}; });
  HttpClient client;
  Request req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  req.timeout = std::chrono::milliseconds(500);
  auto resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
}

}  // namespace
}  // namespace kinema::http
