// Unit tests of LeaderElector and Informer against small scripted servers
// (the same behaviours run against the real kinema-sim in the integration
// tests).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "engine/kube/informer.h"
#include "engine/kube/leader_elector.h"
#include "tests/http/test_http_server.h"

namespace kinema::kube {
namespace {

using kinema::testing::TestHttpServer;
using kinema::testing::TestRequest;
using kinema::testing::TestResponse;
using std::chrono::milliseconds;

TestResponse Reply(int status, const Json& body) {
  TestResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Json StatusBody(int code, const std::string& reason) {
  return {{"kind", "Status"}, {"code", code}, {"reason", reason}, {"message", reason}};
}

// One Lease with optimistic concurrency, like the API server's.
class LeaseServer {
 public:
  LeaseServer()
      : server_([this](const TestRequest& r) { return Handle(r); }) {}
  std::string url() const { return server_.base_url(); }
  void SetUnreachable(bool v) { unreachable_ = v; }
  Json lease() {
    std::lock_guard<std::mutex> l(mu_);
    return lease_;
  }

 private:
  TestResponse Handle(const TestRequest& r) {
    if (unreachable_) return Reply(503, StatusBody(503, "ServiceUnavailable"));
    std::lock_guard<std::mutex> l(mu_);
    if (r.method == "GET") {
      if (lease_.is_null()) return Reply(404, StatusBody(404, "NotFound"));
      return Reply(200, lease_);
    }
    Json body = Json::parse(r.body);
    if (r.method == "POST") {
      if (!lease_.is_null()) return Reply(409, StatusBody(409, "AlreadyExists"));
      body["metadata"]["resourceVersion"] = std::to_string(++rv_);
      lease_ = body;
      return Reply(201, lease_);
    }
    if (r.method == "PUT") {
      if (body["metadata"].value("resourceVersion", "") != lease_["metadata"].value("resourceVersion", "")) {
        return Reply(409, StatusBody(409, "Conflict"));
      }
      body["metadata"]["resourceVersion"] = std::to_string(++rv_);
      lease_ = body;
      return Reply(200, lease_);
    }
    return Reply(405, StatusBody(405, "MethodNotAllowed"));
  }

  std::mutex mu_;
  Json lease_;
  int rv_ = 0;
  std::atomic<bool> unreachable_{false};
  TestHttpServer server_;
};

std::unique_ptr<Client> ClientFor(const std::string& url) {
  RestConfig cfg;
  cfg.server = url;
  ClientOptions o;
  o.qps = 0;
  o.retry.initial_backoff = milliseconds(5);
  o.retry.max_backoff = milliseconds(10);
  return std::move(*Client::Create(cfg, o));
}

LeaderElectionConfig FastConfig(const std::string& id) {
  LeaderElectionConfig c;
  c.lease_namespace = "kube-system";
  c.lease_name = "kinema";
  c.identity = id;
  c.lease_duration = milliseconds(1000);
  c.renew_deadline = milliseconds(700);
  c.retry_period = milliseconds(150);
  return c;
}

template <typename F>
bool Eventually(F f, milliseconds timeout = milliseconds(5000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return f();
}

TEST(LeaderElector, RejectsInconsistentTimings) {
  auto client = ClientFor("http://127.0.0.1:1");
  auto c = FastConfig("a");
  c.renew_deadline = c.lease_duration;
  EXPECT_EQ(LeaderElector::Create(client.get(), c).status().code(), Status::Code::kInvalidArgument);
  c = FastConfig("a");
  c.retry_period = c.renew_deadline;
  EXPECT_EQ(LeaderElector::Create(client.get(), c).status().code(), Status::Code::kInvalidArgument);
  c = FastConfig("");
  EXPECT_EQ(LeaderElector::Create(client.get(), c).status().code(), Status::Code::kInvalidArgument);
}

TEST(LeaderElector, FirstCandidateCreatesTheLeaseAtMinEpoch) {
  LeaseServer server;
  auto client = ClientFor(server.url());
  auto cfg = FastConfig("pod-a");
  cfg.min_epoch = 7;
  std::atomic<int64_t> started{-1};
  cfg.on_started_leading = [&](const Epoch& e) { started = e.value; };
  auto elector = std::move(*LeaderElector::Create(client.get(), cfg));
  EXPECT_FALSE(elector->Current().has_value());
  elector->Start();
  ASSERT_TRUE(Eventually([&] { return elector->Current().has_value(); }));
  EXPECT_EQ(elector->Current()->value, 7);
  EXPECT_EQ(elector->Current()->holder, "pod-a");
  EXPECT_EQ(started.load(), 7);
  EXPECT_EQ(server.lease()["spec"]["holderIdentity"], "pod-a");
  EXPECT_EQ(server.lease()["spec"]["leaseTransitions"], 7);
  // Renewals keep the epoch.
  std::this_thread::sleep_for(milliseconds(800));
  ASSERT_TRUE(elector->Current().has_value());
  EXPECT_EQ(elector->Current()->value, 7);
  elector->Stop();
  EXPECT_FALSE(elector->Current().has_value());
  EXPECT_EQ(server.lease()["spec"]["holderIdentity"], "");  // released
}

TEST(LeaderElector, SuccessorTakesOverAnAbandonedLeaseWithAHigherEpoch) {
  LeaseServer server;
  auto client_a = ClientFor(server.url());
  auto client_b = ClientFor(server.url());
  auto cfg_a = FastConfig("pod-a");
  cfg_a.release_on_stop = false;  // a crash: no release
  auto a = std::move(*LeaderElector::Create(client_a.get(), cfg_a));
  auto b = std::move(*LeaderElector::Create(client_b.get(), FastConfig("pod-b")));
  a->Start();
  ASSERT_TRUE(Eventually([&] { return a->Current().has_value(); }));
  int64_t epoch_a = a->Current()->value;
  b->Start();
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_FALSE(b->Current().has_value());  // a is renewing
  EXPECT_EQ(b->ObservedHolder(), "pod-a");
  a->Stop();
  auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return b->Current().has_value(); }));
  // b must wait out the lease duration it observed.
  EXPECT_GE(std::chrono::steady_clock::now() - stopped_at, milliseconds(500));
  EXPECT_GT(b->Current()->value, epoch_a);
  EXPECT_FALSE(a->Current().has_value());
  b->Stop();
}

TEST(LeaderElector, LeadershipEndsAtTheRenewDeadlineWhenTheServerIsUnreachable) {
  LeaseServer server;
  auto client = ClientFor(server.url());
  auto cfg = FastConfig("pod-a");
  std::atomic<int> lost{0};
  std::atomic<int64_t> lost_epoch{-1};
  cfg.on_stopped_leading = [&](const Epoch& e) {
    ++lost;
    lost_epoch = e.value;
  };
  auto elector = std::move(*LeaderElector::Create(client.get(), cfg));
  elector->Start();
  ASSERT_TRUE(Eventually([&] { return elector->Current().has_value(); }));
  int64_t first = elector->Current()->value;
  server.SetUnreachable(true);
  auto cut = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return !elector->Current().has_value(); }, milliseconds(3000)));
  // Never later than the renew deadline after the last successful renewal.
  EXPECT_LE(std::chrono::steady_clock::now() - cut, milliseconds(700 + 300));
  ASSERT_TRUE(Eventually([&] { return lost.load() == 1; }));
  EXPECT_EQ(lost_epoch.load(), first);
  // Back online: re-acquired, under a new epoch (the lost one is never reused).
  server.SetUnreachable(false);
  ASSERT_TRUE(Eventually([&] { return elector->Current().has_value(); }));
  EXPECT_GT(elector->Current()->value, first);
  elector->Stop();
}

TEST(LeaderElector, GatesTheClientsMutations) {
  LeaseServer server;
  auto lease_client = ClientFor(server.url());
  auto work_client = ClientFor(server.url());
  auto elector = std::move(*LeaderElector::Create(lease_client.get(), FastConfig("pod-a")));
  work_client->SetMutationGate(elector.get());
  Json obj = {{"metadata", {{"name", "x"}, {"namespace", "kube-system"}}}};
  EXPECT_EQ(work_client->Create(resources::kLeases, "kube-system", obj).status().code(),
            Status::Code::kPermissionDenied);
  elector->Start();
  ASSERT_TRUE(Eventually([&] { return elector->Current().has_value(); }));
  // Now mutations reach the server (which answers 409: the lease exists).
  EXPECT_EQ(work_client->Create(resources::kLeases, "kube-system", obj).status().code(),
            Status::Code::kAlreadyExists);
  elector->Stop();
}

// --- Informer -------------------------------------------------------------

Json Pod(const std::string& name, int rv) {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}, {"resourceVersion", std::to_string(rv)}}}};
}

std::string Line(const std::string& type, const Json& obj) {
  return Json({{"type", type}, {"object", obj}}).dump() + "\n";
}

TEST(Informer, ListsWatchesResumesAfterDropsAndRelistsAfterGone) {
  std::atomic<int> lists{0}, watches{0};
  std::mutex mu;
  std::vector<std::string> watch_rvs;
  TestHttpServer server([&](const TestRequest& r) {
    bool is_watch = r.target.find("watch=1") != std::string::npos;
    if (!is_watch) {
      int n = lists++;
      Json list = {{"metadata", {{"resourceVersion", n == 0 ? "10" : "50"}}}};
      // The second list (after 410) shows b deleted and c created meanwhile.
      list["items"] = n == 0 ? Json::array({Pod("a", 5), Pod("b", 6)}) : Json::array({Pod("a", 12), Pod("c", 40)});
      return Reply(200, list);
    }
    size_t p = r.target.find("resourceVersion=");
    std::string rv = r.target.substr(p + 16, r.target.find('&', p) - p - 16);
    {
      std::lock_guard<std::mutex> l(mu);
      watch_rvs.push_back(rv);
    }
    int n = watches++;
    TestResponse resp;
    resp.chunk_pause = milliseconds(5);
    if (n == 0) {
      // Stream drops after one event (connection closed mid-stream).
      resp.chunks = {Line("MODIFIED", Pod("a", 11))};
    } else if (n == 1) {
      resp.chunks = {Line("MODIFIED", Pod("a", 12)),
                     Line("ERROR", StatusBody(410, "Expired"))};
    } else {
      resp.chunks = {Line("BOOKMARK", {{"metadata", {{"resourceVersion", "60"}}}})};
      resp.chunk_pause = milliseconds(300);
    }
    return resp;
  });
  RestConfig cfg;
  cfg.server = server.base_url();
  ClientOptions o;
  o.qps = 0;
  auto client = std::move(*Client::Create(cfg, o));
  InformerOptions io;
  io.min_backoff = milliseconds(10);
  io.max_backoff = milliseconds(50);
  Informer informer(client.get(), resources::kPods, io);
  std::mutex ev_mu;
  std::vector<std::string> events;
  informer.AddHandler({
      [&](const Json& o) { std::lock_guard<std::mutex> l(ev_mu); events.push_back("add " + obj::Name(o)); },
      [&](const Json&, const Json& n) {
        std::lock_guard<std::mutex> l(ev_mu);
        events.push_back("update " + obj::Name(n) + "@" + obj::ResourceVersion(n));
      },
      [&](const Json& o) { std::lock_guard<std::mutex> l(ev_mu); events.push_back("delete " + obj::Name(o)); },
  });
  EXPECT_FALSE(informer.HasSynced());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(milliseconds(3000)));
  ASSERT_TRUE(Eventually([&] { return informer.LastResourceVersion() == "60"; }));
  informer.Stop();

  EXPECT_EQ(lists.load(), 2);
  {
    std::lock_guard<std::mutex> l(mu);
    ASSERT_GE(watch_rvs.size(), 3u);
    EXPECT_EQ(watch_rvs[0], "10");  // from the list
    EXPECT_EQ(watch_rvs[1], "11");  // resumed after the drop, from the last event
    EXPECT_EQ(watch_rvs[2], "50");  // from the relist after 410
  }
  ASSERT_NE(informer.Get("ns/a"), nullptr);
  EXPECT_EQ(obj::ResourceVersion(*informer.Get("ns/a")), "12");
  EXPECT_EQ(informer.Get("ns/b"), nullptr);
  EXPECT_NE(informer.Get("ns/c"), nullptr);
  EXPECT_EQ(informer.Size(), 2u);
  std::lock_guard<std::mutex> l(ev_mu);
  EXPECT_EQ(events, (std::vector<std::string>{"add a", "add b", "update a@11", "update a@12", "add c", "delete b"}));
  EXPECT_EQ(informer.stats().relists_after_gone, 1u);
}

}  // namespace
}  // namespace kinema::kube
