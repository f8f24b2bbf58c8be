// The HTTP client against hostile servers: unbounded bodies, compression
// bombs, huge headers, and URLs that are not http(s).
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "engine/http/http_client.h"
#include "tests/http/test_http_server.h"

namespace kinema::http {
namespace {

using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;

std::string Gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(HostileAnswers, AnnouncedBodyOverTheCapIsRefusedWithoutReadingIt) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r;
    r.body = std::string(3 << 20, 'x');
    return r;
  });
  HttpClient c;
  Request req;
  req.url = server.base_url() + "/big";
  req.max_response_bytes = 1 << 20;
  auto resp = c.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Status::Code::kResourceExhausted) << resp.status().ToString();
  EXPECT_NE(resp.status().message().find("exceeds 1048576 bytes"), std::string::npos) << resp.status().ToString();
}

TEST(HostileAnswers, UnannouncedBodyOverTheCapStopsTheTransfer) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r;
    for (int i = 0; i < 64; ++i) r.chunks.push_back(std::string(64 << 10, 'y'));  // 4 MiB, close-delimited
    return r;
  });
  HttpClient c;
  Request req;
  req.url = server.base_url() + "/stream";
  req.max_response_bytes = 1 << 20;
  auto resp = c.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Status::Code::kResourceExhausted) << resp.status().ToString();
}

TEST(HostileAnswers, GzipBombIsNeitherRequestedNorDecoded) {
  // 64 MiB of spaces before a JSON object compress to ~64 KiB: a client that
  // decodes it holds 64 MiB (a 300 KB reply grew the old controller to 1.3 GB).
  const std::string bomb = Gzip(std::string(64 << 20, ' ') + "{\"kind\":\"Status\"}");
  ASSERT_LT(bomb.size(), 1u << 20);
  TestHttpServer server([&](const TestRequest&) {
    TestResponse r;
    r.headers.push_back({"Content-Encoding", "gzip"});
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = bomb;
    return r;
  });
  HttpClient c;
  Request req;
  req.url = server.base_url() + "/api/v1/pods";
  auto resp = c.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->body.size(), bomb.size()) << "the bytes in memory are the bytes on the wire";
  EXPECT_EQ(resp->body, bomb);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("accept-encoding"), "") << "no compression is negotiated";
}

TEST(HostileAnswers, HugeResponseHeadersAreRefused) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r;
    for (int i = 0; i < 200; ++i) r.headers.push_back({"X-Junk-" + std::to_string(i), std::string(4000, 'h')});
    r.body = "{}";
    return r;
  });
  HttpClient c;
  Request req;
  req.url = server.base_url() + "/";
  req.max_header_bytes = 64 << 10;
  auto resp = c.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Status::Code::kResourceExhausted) << resp.status().ToString();
}

TEST(HostileAnswers, OnlyHttpAndHttpsUrlsAreFollowed) {
  HttpClient c;
  for (const char* url : {"file:///etc/passwd", "FILE:///etc/hostname", "ftp://127.0.0.1/x", "gopher://h/",
                          "dict://127.0.0.1:11211/stat", "/etc/passwd", "http://", "http:///path",
                          "http://h/ space"}) {
    Request req;
    req.url = url;
    auto resp = c.Do(req);
    ASSERT_FALSE(resp.ok()) << url;
    EXPECT_EQ(resp.status().code(), Status::Code::kInvalidArgument) << url << ": " << resp.status().ToString();
  }
  EXPECT_TRUE(CheckHttpUrl("HTTPS://user:pw@host:8443/x?y=1").ok());
  Status s = CheckHttpUrl("file://user:secret@h/etc/passwd");
  EXPECT_EQ(s.message().find("secret"), std::string::npos) << "the refusal redacts userinfo: " << s.message();
}

}  // namespace
}  // namespace kinema::http
