// Unit tests of kube::Client against a scripted loopback HTTP server.
#include "engine/kube/client.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/common/shutdown.h"
#include "tests/http/test_http_server.h"

namespace kinema::kube {
namespace {

using kinema::testing::TestHttpServer;
using kinema::testing::TestRequest;
using kinema::testing::TestResponse;
using std::chrono::milliseconds;

constexpr char kToken[] = "super-secret-token-xyz";

TestResponse JsonResponse(int status, const Json& body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  TestResponse r;
  r.status = status;
  r.body = body.dump();
  r.headers = std::move(headers);
  return r;
}

Json StatusBody(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
          {"code", code},     {"reason", reason},   {"message", message}};
}

Json Pod(const std::string& name, const std::string& rv) {
  return {{"metadata", {{"name", name}, {"namespace", "shop"}, {"resourceVersion", rv}, {"uid", "uid-" + name}}}};
}

ClientOptions FastOptions() {
  ClientOptions o;
  o.retry.initial_backoff = milliseconds(5);
  o.retry.max_backoff = milliseconds(20);
  o.retry.max_attempts = 4;
  o.request_timeout = milliseconds(3000);
  o.qps = 0;  // unlimited for tests
  return o;
}

std::unique_ptr<Client> MakeClient(const TestHttpServer& server, ClientOptions options = FastOptions()) {
  RestConfig cfg;
  cfg.server = server.base_url();
  cfg.token = kToken;
  auto c = Client::Create(cfg, options);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(*c);
}

std::string QueryParam(const std::string& target, const std::string& name) {
  size_t q = target.find('?');
  if (q == std::string::npos) return "";
  std::string query = target.substr(q + 1);
  std::stringstream ss(query);
  std::string part;
  while (std::getline(ss, part, '&')) {
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
  }
  return "";
}

TEST(KubeClient, GetSendsTokenAndParsesObject) {
  TestHttpServer server([](const TestRequest& r) {
    EXPECT_EQ(r.Path(), "/apis/apps/v1/namespaces/shop/deployments/cart");
    EXPECT_EQ(r.Header("authorization"), std::string("Bearer ") + kToken);
    return JsonResponse(200, Pod("cart", "7"));
  });
  auto client = MakeClient(server);
  auto obj = client->Get(resources::kDeployments, "shop", "cart");
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_EQ(obj::ResourceVersion(*obj), "7");
  EXPECT_EQ(client->requests_sent(), 1u);
}

TEST(KubeClient, ListFollowsContinueTokensAndKeepsTheFirstResourceVersion) {
  TestHttpServer server([](const TestRequest& r) {
    std::string cont = QueryParam(r.target, "continue");
    EXPECT_EQ(QueryParam(r.target, "limit"), "2");
    EXPECT_EQ(QueryParam(r.target, "labelSelector"), "app%3Dweb%2Ctier%21%3Dfront");
    Json list = {{"kind", "PodList"}, {"metadata", {{"resourceVersion", "100"}}}, {"items", Json::array()}};
    if (cont.empty()) {
      list["items"] = {Pod("a", "1"), Pod("b", "2")};
      list["metadata"]["continue"] = "tok1";
    } else if (cont == "tok1") {
      list["items"] = {Pod("c", "3"), Pod("d", "4")};
      list["metadata"]["continue"] = "tok2";
    } else {
      list["items"] = Json::array({Pod("e", "5")});
    }
    return JsonResponse(200, list);
  });
  auto client = MakeClient(server);
  ListOptions lo;
  lo.limit = 2;
  lo.label_selector = "app=web,tier!=front";
  auto list = client->List(resources::kPods, "", lo);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->items.size(), 5u);
  EXPECT_EQ(list->pages, 3);
  EXPECT_EQ(list->resource_version, "100");
  EXPECT_EQ(list->items[4]["kind"], "Pod");
  EXPECT_EQ(server.requests()[0].Path(), "/api/v1/pods");
}

TEST(KubeClient, ExpiredContinueTokenRestartsTheList) {
  std::atomic<int> expired_once{0};
  TestHttpServer server([&](const TestRequest& r) {
    std::string cont = QueryParam(r.target, "continue");
    Json list = {{"metadata", {{"resourceVersion", "200"}}}, {"items", Json::array()}};
    if (cont.empty()) {
      list["items"] = Json::array({Pod("a", "1")});
      list["metadata"]["continue"] = "old";
    } else if (expired_once++ == 0) {
      return JsonResponse(410, StatusBody(410, "Expired", "The provided continue parameter is too old"));
    } else {
      list["items"] = Json::array({Pod("b", "2")});
    }
    return JsonResponse(200, list);
  });
  auto client = MakeClient(server);
  ListOptions lo;
  lo.limit = 1;
  auto list = client->List(resources::kPods, "shop", lo);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->restarts, 1);
  ASSERT_EQ(list->items.size(), 2u);  // no duplicates from the abandoned pass
  EXPECT_EQ(server.request_count(), 4u);
}

TEST(KubeClient, GetAndUpdateReReadsOnConflictThenSucceeds) {
  std::atomic<int> puts{0};
  std::atomic<int> version{10};
  TestHttpServer server([&](const TestRequest& r) {
    if (r.method == "GET") return JsonResponse(200, Pod("x", std::to_string(version.load())));
    auto body = Json::parse(r.body);
    if (++puts <= 2) {
      version += 1;  // someone else wrote in between
      return JsonResponse(409, StatusBody(409, "Conflict", "the object has been modified"));
    }
    EXPECT_EQ(body["metadata"]["labels"]["k"], "v");
    return JsonResponse(200, body);
  });
  auto client = MakeClient(server);
  int mutations = 0;
  auto out = client->GetAndUpdate(resources::kPods, "shop", "x", [&](Json& o) {
    ++mutations;
    o["metadata"]["labels"]["k"] = "v";
    return Status::OK();
  });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(mutations, 3);
  EXPECT_EQ(server.request_count(), 6u);
}

TEST(KubeClient, GetAndUpdateGivesUpAfterBoundedConflicts) {
  TestHttpServer server([&](const TestRequest& r) {
    if (r.method == "GET") return JsonResponse(200, Pod("x", "1"));
    return JsonResponse(409, StatusBody(409, "Conflict", "the object has been modified"));
  });
  ClientOptions o = FastOptions();
  o.conflict_retries = 2;
  auto client = MakeClient(server, o);
  auto out = client->GetAndUpdate(resources::kPods, "shop", "x", [](Json&) { return Status::OK(); });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kConflict);
  EXPECT_NE(out.status().message().find("after 3 attempts"), std::string::npos) << out.status().message();
  EXPECT_EQ(server.request_count(), 6u);  // 3 x (GET + PUT)
}

TEST(KubeClient, MutateErrorStopsWithoutWriting) {
  TestHttpServer server([&](const TestRequest&) { return JsonResponse(200, Pod("x", "1")); });
  auto client = MakeClient(server);
  auto out = client->GetAndUpdate(resources::kPods, "shop", "x",
                                  [](Json&) { return Status::FailedPrecondition("nothing to do"); });
  EXPECT_EQ(out.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(KubeClient, ServerErrorsAreRetriedAFixedNumberOfTimes) {
  TestHttpServer server([](const TestRequest&) {
    return JsonResponse(503, StatusBody(503, "ServiceUnavailable", "etcd is sad"));
  });
  auto client = MakeClient(server);
  auto out = client->Get(resources::kNodes, "", "n1");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(server.request_count(), 4u);  // max_attempts
  EXPECT_NE(out.status().message().find("get nodes n1 (after 4 attempts): ServiceUnavailable (HTTP 503)"),
            std::string::npos)
      << out.status().message();
}

TEST(KubeClient, ClientErrorsAreNotRetried) {
  for (int code : {400, 403, 404, 409, 422}) {
    TestHttpServer server([code](const TestRequest&) { return JsonResponse(code, StatusBody(code, "", "no")); });
    auto client = MakeClient(server);
    auto out = client->Create(resources::kPods, "shop", Pod("x", ""));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(server.request_count(), 1u) << code;
  }
}

TEST(KubeClient, TooManyRequestsHonoursRetryAfter) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest&) {
    if (calls++ == 0) {
      return JsonResponse(429, StatusBody(429, "TooManyRequests", "slow down"), {{"Retry-After", "1"}});
    }
    return JsonResponse(200, Pod("x", "1"));
  });
  auto client = MakeClient(server);
  auto start = std::chrono::steady_clock::now();
  auto out = client->Get(resources::kPods, "shop", "x");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(950));
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(KubeClient, ConnectionFailuresAreRetriedThenReportedWithContext) {
  int port;
  {
    TestHttpServer gone([](const TestRequest&) { return TestResponse{}; });
    port = gone.port();
  }
  RestConfig cfg;
  cfg.server = "http://127.0.0.1:" + std::to_string(port);
  cfg.token = kToken;
  auto client = Client::Create(cfg, FastOptions());
  ASSERT_TRUE(client.ok());
  auto out = (*client)->Get(resources::kPods, "shop", "x");
  EXPECT_EQ(out.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ((*client)->requests_sent(), 4u);
  EXPECT_NE(out.status().message().find("get pods shop/x"), std::string::npos);
}

TEST(KubeClient, PatchSendsTheRightContentTypes) {
  TestHttpServer server([](const TestRequest& r) { return JsonResponse(200, Pod("x", "1")); });
  auto client = MakeClient(server);
  ASSERT_TRUE(client->Patch(resources::kNodes, "", "n1", PatchType::kMerge, {{"metadata", {{"labels", {{"a", nullptr}}}}}}).ok());
  ASSERT_TRUE(client->Patch(resources::kDeployments, "shop", "d", PatchType::kStrategicMerge, {{"spec", Json::object()}}).ok());
  ASSERT_TRUE(client->Patch(resources::kPods, "shop", "p", PatchType::kJson,
                            Json::array({{{"op", "add"}, {"path", "/metadata/labels/x"}, {"value", "y"}}}))
                  .ok());
  ASSERT_TRUE(client->Patch(resources::kLeases, "kube-system", "l", PatchType::kApply, {{"spec", Json::object()}}).ok());
  ASSERT_TRUE(client->ResizePod("shop", "p", {{"spec", {{"containers", Json::array()}}}}).ok());
  // A JSON patch that is not an array never reaches the server.
  EXPECT_EQ(client->Patch(resources::kPods, "shop", "p", PatchType::kJson, Json::object()).status().code(),
            Status::Code::kInvalidArgument);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].Header("content-type"), "application/merge-patch+json");
  EXPECT_EQ(reqs[0].Path(), "/api/v1/nodes/n1");
  EXPECT_EQ(reqs[1].Header("content-type"), "application/strategic-merge-patch+json");
  EXPECT_EQ(reqs[2].Header("content-type"), "application/json-patch+json");
  EXPECT_EQ(reqs[3].Header("content-type"), "application/apply-patch+yaml");
  EXPECT_NE(reqs[3].target.find("fieldManager=kinema"), std::string::npos);
  EXPECT_EQ(reqs[4].Path(), "/api/v1/namespaces/shop/pods/p/resize");
  for (const auto& r : reqs) EXPECT_EQ(r.method, "PATCH");
}

TEST(KubeClient, DeleteSendsPreconditions) {
  TestHttpServer server([](const TestRequest&) { return JsonResponse(200, Pod("x", "1")); });
  auto client = MakeClient(server);
  DeleteOptions d;
  d.precondition_uid = "uid-1";
  d.precondition_resource_version = "42";
  d.grace_period_seconds = 0;
  ASSERT_TRUE(client->Delete(resources::kNodes, "", "n1", d).ok());
  auto body = Json::parse(server.requests()[0].body);
  EXPECT_EQ(body["kind"], "DeleteOptions");
  EXPECT_EQ(body["preconditions"]["uid"], "uid-1");
  EXPECT_EQ(body["preconditions"]["resourceVersion"], "42");
  EXPECT_EQ(body["gracePeriodSeconds"], 0);
}

TEST(KubeClient, EvictionRetriesWhileABudgetRefusesThenSucceeds) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest& r) {
    EXPECT_EQ(r.Path(), "/api/v1/namespaces/shop/pods/web-1/eviction");
    auto body = Json::parse(r.body);
    EXPECT_EQ(body["kind"], "Eviction");
    EXPECT_EQ(body["apiVersion"], "policy/v1");
    if (calls++ < 2) {
      return JsonResponse(429, StatusBody(429, "TooManyRequests",
                                          "Cannot evict pod as it would violate the pod's disruption budget."));
    }
    return JsonResponse(201, {{"kind", "Status"}, {"status", "Success"}, {"code", 201}});
  });
  auto client = MakeClient(server);
  EvictOptions eo;
  eo.initial_backoff = milliseconds(10);
  eo.max_backoff = milliseconds(20);
  Status s = client->Evict("shop", "web-1", eo);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(KubeClient, EvictionBlockedPastMaxWaitIsResourceExhausted) {
  TestHttpServer server([&](const TestRequest&) {
    Json body = StatusBody(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.");
    body["details"]["causes"] = {{{"reason", "DisruptionBudget"}, {"message", "The disruption budget web needs 2 healthy pods and has 2 currently"}}};
    return JsonResponse(429, body);
  });
  auto client = MakeClient(server);
  EvictOptions eo;
  eo.max_wait = milliseconds(300);
  eo.initial_backoff = milliseconds(40);
  eo.max_backoff = milliseconds(80);
  Status s = client->Evict("shop", "web-1", eo);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(s.message().find("needs 2 healthy pods"), std::string::npos) << s.message();
  EXPECT_GE(server.request_count(), 2u);
  EXPECT_LE(server.request_count(), 10u);
}

TEST(KubeClient, EvictionWithSeveralBudgetsIsFinal) {
  TestHttpServer server([&](const TestRequest&) {
    return JsonResponse(500, StatusBody(500, "InternalError",
                                        "Internal error occurred: This pod has more than one PodDisruptionBudget, "
                                        "which the eviction subresource does not support."));
  });
  auto client = MakeClient(server);
  Status s = client->Evict("shop", "web-1");
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(KubeClient, EvictionOfAMissingPodIsNotFound) {
  TestHttpServer server([&](const TestRequest&) {
    return JsonResponse(404, StatusBody(404, "NotFound", "pods \"web-1\" not found"));
  });
  auto client = MakeClient(server);
  EXPECT_EQ(client->Evict("shop", "web-1").code(), Status::Code::kNotFound);
}

class FixedGate : public EpochProvider {
 public:
  std::optional<Epoch> Current() const override { return epoch; }
  std::optional<Epoch> epoch;
};

TEST(KubeClient, MutationGateStopsWritesButNotReads) {
  TestHttpServer server([](const TestRequest&) { return JsonResponse(200, Pod("x", "1")); });
  auto client = MakeClient(server);
  FixedGate gate;
  client->SetMutationGate(&gate);
  EXPECT_TRUE(client->Get(resources::kPods, "shop", "x").ok());
  auto p = client->Patch(resources::kPods, "shop", "x", PatchType::kMerge, {{"a", 1}});
  EXPECT_EQ(p.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(client->Delete(resources::kPods, "shop", "x").code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(client->Evict("shop", "x").code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(server.request_count(), 1u);
  gate.epoch = Epoch{3, "me"};
  EXPECT_TRUE(client->Patch(resources::kPods, "shop", "x", PatchType::kMerge, {{"a", 1}}).ok());
}

TEST(KubeClient, UnauthorizedReRunsTheExecPluginOnce) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kinema-401-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "plugin.sh") << "#!/bin/sh\nn=$(cat " << (dir / "n").string()
                                   << " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " << (dir / "n").string()
                                   << "\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
                                      "\"ExecCredential\",\"status\":{\"token\":\"tok-'$n'\"}}'\n";
  ::chmod((dir / "plugin.sh").c_str(), 0755);
  TestHttpServer server([](const TestRequest& r) {
    if (r.Header("authorization") != "Bearer tok-2") {
      return JsonResponse(401, StatusBody(401, "Unauthorized", "Unauthorized"));
    }
    return JsonResponse(200, Pod("x", "1"));
  });
  RestConfig cfg;
  cfg.server = server.base_url();
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1", (dir / "plugin.sh").string(), {}, {}, false, "Never", ""};
  auto client = Client::Create(cfg, FastOptions());
  ASSERT_TRUE(client.ok());
  auto out = (*client)->Get(resources::kPods, "shop", "x");
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(server.request_count(), 2u);
  // The refreshed token is cached: the next call needs no refresh.
  EXPECT_TRUE((*client)->Get(resources::kPods, "shop", "y").ok());
  EXPECT_EQ(server.request_count(), 3u);
  fs::remove_all(dir);
}

TEST(KubeClient, PersistentUnauthorizedEndsInPermissionDeniedAfterOneRefresh) {
  TestHttpServer server([](const TestRequest&) {
    return JsonResponse(401, StatusBody(401, "Unauthorized", "Unauthorized"));
  });
  auto client = MakeClient(server);
  auto out = client->Get(resources::kPods, "shop", "x");
  EXPECT_EQ(out.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(KubeClient, WatchDeliversEventsAndTracksTheResumePoint) {
  TestHttpServer server([](const TestRequest& r) {
    EXPECT_EQ(QueryParam(r.target, "watch"), "1");
    EXPECT_EQ(QueryParam(r.target, "resourceVersion"), "10");
    EXPECT_EQ(QueryParam(r.target, "allowWatchBookmarks"), "true");
    TestResponse resp;
    resp.chunks = {
        Json({{"type", "ADDED"}, {"object", Pod("a", "11")}}).dump() + "\n",
        // An event split across two chunks.
        Json({{"type", "MODIFIED"}, {"object", Pod("a", "12")}}).dump().substr(0, 20),
        Json({{"type", "MODIFIED"}, {"object", Pod("a", "12")}}).dump().substr(20) + "\n",
        Json({{"type", "BOOKMARK"}, {"object", {{"metadata", {{"resourceVersion", "15"}}}}}}).dump() + "\n",
        Json({{"type", "DELETED"}, {"object", Pod("a", "16")}}).dump() + "\n",
    };
    resp.chunk_pause = milliseconds(10);
    return resp;
  });
  auto client = MakeClient(server);
  WatchOptions wo;
  wo.resource_version = "10";
  std::vector<std::string> seen;
  WatchResult r = client->Watch(resources::kPods, "shop", wo, [&](const WatchEvent& e) {
    seen.push_back(std::string(WatchEventTypeName(e.type)) + ":" + obj::ResourceVersion(e.object));
    return true;
  });
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.gone);
  EXPECT_EQ(r.last_resource_version, "16");
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED:11", "MODIFIED:12", "BOOKMARK:15", "DELETED:16"}));
}

TEST(KubeClient, WatchReportsGoneForErrorEventsAndHttp410) {
  TestHttpServer event_server([](const TestRequest&) {
    TestResponse resp;
    resp.chunks = {Json({{"type", "ERROR"},
                         {"object", StatusBody(410, "Expired", "too old resource version: 5 (90)")}})
                       .dump() +
                   "\n"};
    return resp;
  });
  auto client = MakeClient(event_server);
  WatchResult r = client->Watch(resources::kPods, "", {}, [](const WatchEvent&) { return true; });
  EXPECT_TRUE(r.gone);
  EXPECT_EQ(r.status.code(), Status::Code::kFailedPrecondition);

  TestHttpServer http_server([](const TestRequest&) { return JsonResponse(410, StatusBody(410, "Gone", "gone")); });
  auto client2 = MakeClient(http_server);
  WatchResult r2 = client2->Watch(resources::kPods, "", {}, [](const WatchEvent&) { return true; });
  EXPECT_TRUE(r2.gone);
}

TEST(KubeClient, TokensNeverReachLogsOrErrors) {
  std::ostringstream logs;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::trace);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);

  std::vector<std::string> messages;
  {
    // The server misbehaves in every way and even echoes the token back.
    std::atomic<int> n{0};
    TestHttpServer server([&](const TestRequest& r) {
      int i = n++;
      if (i % 3 == 0) return JsonResponse(500, StatusBody(500, "InternalError", "bad " + r.Header("authorization")));
      if (i % 3 == 1) return JsonResponse(401, StatusBody(401, "Unauthorized", "token " + std::string(kToken) + " rejected"));
      return JsonResponse(422, StatusBody(422, "Invalid", "{\"token\":\"" + std::string(kToken) + "\"}"));
    });
    auto client = MakeClient(server);
    for (int i = 0; i < 4; ++i) messages.push_back(client->Get(resources::kPods, "shop", "x").status().ToString());
    messages.push_back(client->Evict("shop", "x").ToString());
  }
  {
    int port;
    {
      TestHttpServer gone([](const TestRequest&) { return TestResponse{}; });
      port = gone.port();
    }
    RestConfig cfg;
    cfg.server = "http://127.0.0.1:" + std::to_string(port);
    cfg.token = kToken;
    cfg.tls.client_key_pem = "-----BEGIN PRIVATE KEY-----\nKEYMATERIAL\n-----END PRIVATE KEY-----\n";
    auto client = Client::Create(cfg, FastOptions());
    ASSERT_TRUE(client.ok());
    messages.push_back((*client)->Get(resources::kPods, "shop", "x").status().ToString());
    messages.push_back(cfg.DebugString());
  }
  spdlog::set_default_logger(previous);
  std::string all_logs = logs.str();
  EXPECT_FALSE(all_logs.empty());
  EXPECT_EQ(all_logs.find(kToken), std::string::npos) << all_logs;
  EXPECT_EQ(all_logs.find("KEYMATERIAL"), std::string::npos);
  for (const auto& m : messages) {
    EXPECT_FALSE(m.empty());
    EXPECT_EQ(m.find(kToken), std::string::npos) << m;
    EXPECT_EQ(m.find("KEYMATERIAL"), std::string::npos) << m;
  }
}

// SIGTERM during a retry back-off: the back-off ends at once (the
// WorkflowService raises the process-wide shutdown), not after its delay.
TEST(KubeClientTest, RetryBackoffEndsAtOnceOnShutdown) {
  ResetProcessShutdownForTesting();
  TestHttpServer server([](const TestRequest&) { return JsonResponse(503, StatusBody(503, "ServiceUnavailable", "x")); });
  ClientOptions o = FastOptions();
  o.retry.initial_backoff = milliseconds(60000);
  o.retry.max_backoff = milliseconds(60000);
  auto client = MakeClient(server, o);
  std::thread stopper([] {
    std::this_thread::sleep_for(milliseconds(300));
    RequestProcessShutdown();
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = client->Get(resources::kPods, "shop", "a");
  stopper.join();
  ResetProcessShutdownForTesting();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCancelled) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// A list answer over the client's size cap is refused, not held in memory.
TEST(KubeClientTest, AnswersLargerThanTheCapAreRefused) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r;
    r.body = "{\"items\": [" + std::string(3 << 20, ' ') + "]}";
    return r;
  });
  ClientOptions o = FastOptions();
  o.max_response_bytes = 1 << 20;
  auto client = MakeClient(server, o);
  auto r = client->List(resources::kPods, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted) << r.status().ToString();
  EXPECT_EQ(server.request_count(), 1u) << "not retried: the same answer would come again";
}

}  // namespace
}  // namespace kinema::kube
