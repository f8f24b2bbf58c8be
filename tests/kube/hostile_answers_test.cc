// The Kubernetes client's decoding of hostile or broken answers, and the
// exec credential plugin's deadline: errors, never exceptions or hangs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "engine/common/text.h"
#include "engine/kube/api_error.h"
#include "engine/kube/client.h"
#include "engine/kube/credentials.h"
#include "engine/kube/object.h"

namespace kinema::kube {
namespace {

namespace fs = std::filesystem;

TEST(HostileKubeAnswers, StatusBodiesWithWrongTypesStillGiveAStatus) {
  for (const char* body :
       {R"({"kind":"Status","reason":5,"message":["m"],"details":{"causes":"x","retryAfterSeconds":"5"}})",
        R"({"kind":"Status","details":{"causes":[1,{"reason":{},"message":2,"field":[]}],"retryAfterSeconds":1e300}})",
        R"({"kind":3})", R"([])", R"("Status")", R"({"kind":"Status","details":[]})",
        R"({"kind":"Status","details":{"retryAfterSeconds":-1}})"}) {
    ApiError e;
    ASSERT_NO_THROW(e = ApiError::Parse(409, body)) << body;
    EXPECT_EQ(e.code, 409);
    EXPECT_FALSE(e.reason.empty()) << body;
    EXPECT_FALSE(e.retry_after_seconds.has_value() && *e.retry_after_seconds < 0) << body;
    EXPECT_TRUE(IsValidUtf8(e.ToStatus("get pods").message()));
  }
}

TEST(HostileKubeAnswers, NonStatusBodyIsCutOnACharacterBoundary) {
  std::string html = std::string(255, 'a') + "\xc3\xa9" + std::string(100, 'b');
  ApiError e = ApiError::Parse(502, html);
  EXPECT_TRUE(IsValidUtf8(e.message)) << e.message;
  EXPECT_EQ(e.message, std::string(255, 'a') + "...");
  ApiError bytes = ApiError::Parse(500, "\xff\xfe\x00\x80 oops");
  EXPECT_TRUE(IsValidUtf8(bytes.message)) << bytes.message;
}

TEST(HostileKubeAnswers, ListPagesWithWrongShapesAreErrors) {
  const std::string what = "list pods";
  EXPECT_FALSE(DecodeListPage(200, R"({"items": {"a": 1}})", resources::kPods, what).ok());
  auto bad_item = DecodeListPage(200, R"({"items": [{"metadata": {}}, 5]})", resources::kPods, what);
  ASSERT_FALSE(bad_item.ok());
  EXPECT_NE(bad_item.status().message().find("items[1] is not an object"), std::string::npos);
  auto truncated = DecodeListPage(200, R"({"items": [{"metadata": {"name": "a"}}, {"meta)", resources::kPods, what);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), Status::Code::kInternal);
  auto ok = DecodeListPage(200, R"({"metadata": {"resourceVersion": 7, "continue": ["x"]}, "items": [{}]})",
                           resources::kPods, what);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->resource_version, "") << "a number is not a resourceVersion";
  EXPECT_EQ(ok->continue_token, "");
  EXPECT_EQ(ok->items[0]["kind"], "Pod");
  EXPECT_FALSE(DecodeObject(200, "\xff not json", "get pods x").ok());
}

TEST(HostileKubeAnswers, WatchLinesWithWrongTypesEndTheStreamWithAnError) {
  const std::string what = "watch pods";
  for (const char* line : {R"({"type": 5})", R"({"type": "ADDED", "object": [1]})", R"({"type": "NOPE"})",
                           R"([1, 2])", R"({"type": "ADDED", "obj)", "\xff\xfe",
                           R"({"type": "ERROR", "object": {"code": "410"}})",
                           R"({"type": "ERROR", "object": {"code": 99999999999999999999}})"}) {
    WatchLineResult r;
    ASSERT_NO_THROW(r = DecodeWatchLine(line, resources::kPods, what)) << line;
    EXPECT_FALSE(r.event.has_value()) << line;
    EXPECT_FALSE(r.error.ok()) << line;
  }
  auto gone = DecodeWatchLine(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})",
                              resources::kPods, what);
  EXPECT_TRUE(gone.gone);
  auto good = DecodeWatchLine(R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"9"}}})",
                              resources::kPods, what);
  ASSERT_TRUE(good.event.has_value());
  EXPECT_EQ(good.event->object["kind"], "Pod");
  EXPECT_TRUE(DecodeWatchLine("  \r", resources::kPods, what).skip);
}

TEST(HostileKubeAnswers, RetryAfterMustBeSmallDeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("5"), 5);
  EXPECT_EQ(ParseRetryAfter(" 0 "), 0);
  EXPECT_FALSE(ParseRetryAfter("-1").has_value());
  EXPECT_FALSE(ParseRetryAfter("99999999999").has_value());
  EXPECT_FALSE(ParseRetryAfter("86401").has_value());
  EXPECT_FALSE(ParseRetryAfter("5s").has_value());
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(ParseRetryAfter("").has_value());
}

TEST(HostileKubeAnswers, ObjectAccessorsToleratesWrongTypes) {
  Json pod = Json::parse(R"({"metadata":{"name":5,"labels":{"a":1,"b":"x"},"generation":1e300,
    "ownerReferences":[{"controller":"yes","kind":"ReplicaSet"},{"controller":true,"kind":7,"name":"n"}]},
    "status":{"conditions":[{"type":["Ready"],"status":"True"},{"type":"Ready","status":true}]}})");
  EXPECT_EQ(obj::Name(pod), "");
  EXPECT_EQ(obj::Labels(pod).size(), 1u);
  EXPECT_EQ(obj::Generation(pod), 0);
  EXPECT_EQ(obj::ControllerKind(pod), "");
  EXPECT_EQ(obj::ControllerName(pod), "n");
  EXPECT_FALSE(pod::IsReady(pod));
}

class PluginDir {
 public:
  PluginDir() : path_(fs::temp_directory_path() / ("kinema-hostile-kube-" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~PluginDir() { fs::remove_all(path_); }
  void Write(const std::string& name, const std::string& script) {
    std::ofstream(path_ / name) << script;
    ::chmod((path_ / name).c_str(), 0755);
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(ExecCredentialPlugin, APluginThatClosesItsOutputAndHangsIsKilledAtTheDeadline) {
  PluginDir dir;
  // Prints a valid credential, closes stdout/stderr, and never exits.
  dir.Write("hang.sh", R"(#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'
exec >&- 2>&-
exec sleep 600
)");
  RestConfig cfg;
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1", "./hang.sh", {}, {}, false, "Never", dir.path()};
  CredentialProvider::Options o;
  o.exec_timeout = std::chrono::seconds(1);
  CredentialProvider creds(cfg, o);
  const auto start = std::chrono::steady_clock::now();
  auto t = creds.Token();
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(t.ok()) << "waited for the plugin's exit without a deadline before";
  EXPECT_EQ(t.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(t.status().message().find("timed out"), std::string::npos) << t.status().message();
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(ExecCredentialPlugin, ARunningPluginHoldsNoLockThatInvalidateNeeds) {
  PluginDir dir;
  dir.Write("slow.sh", R"(#!/bin/sh
sleep 2
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"slow"}}'
)");
  RestConfig cfg;
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1", "./slow.sh", {}, {}, false, "Never", dir.path()};
  CredentialProvider creds(cfg);
  auto token = std::async(std::launch::async, [&] { return creds.Token(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  creds.Invalidate();  // a 401 elsewhere: must not wait for the plugin
  EXPECT_EQ(creds.exec_runs(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  auto t = token.get();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, "slow");
}

}  // namespace
}  // namespace kinema::kube
