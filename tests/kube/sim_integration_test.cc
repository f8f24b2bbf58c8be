// Integration tests: the Kinema Kubernetes client against the real
// kinema-sim process (HTTP and TLS, with and without injected faults).
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "engine/kube/client.h"
#include "engine/kube/informer.h"
#include "engine/kube/leader_elector.h"
#include "engine/kube/rest_config.h"
#include "tests/kube/sim_process.h"

namespace kinema::kube {
namespace {

using kinema::testing::SimOptions;
using kinema::testing::SimProcess;
using std::chrono::milliseconds;

template <typename F>
bool Eventually(F f, milliseconds timeout = milliseconds(10000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(milliseconds(25));
  }
  return f();
}

ClientOptions TestOptions() {
  ClientOptions o;
  o.qps = 200;
  o.burst = 100;
  o.request_timeout = milliseconds(10000);
  o.retry.initial_backoff = milliseconds(20);
  o.retry.max_backoff = milliseconds(200);
  o.retry.max_attempts = 5;
  o.retry.max_retry_after = milliseconds(1500);
  return o;
}

class SimTest : public ::testing::Test {
 protected:
  void StartSim(SimOptions options) {
    Status s = sim_.Start(options);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto cfg = LoadKubeconfig(sim_.kubeconfig());
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    config_ = *cfg;
    auto c = Client::Create(config_, TestOptions());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
  }
  void StartDefault(bool tls = false) {
    SimOptions o;
    o.snapshot = kinema::testing::SmallSnapshot();
    o.catalog = kinema::testing::SmallCatalog();
    o.tls = tls;
    StartSim(o);
  }

  SimProcess sim_;
  RestConfig config_;
  std::unique_ptr<Client> client_;
};

TEST_F(SimTest, ListsEveryPodAcrossPagesWithSelectors) {
  ASSERT_NO_FATAL_FAILURE(StartDefault());
  ListOptions lo;
  lo.limit = 2;
  auto pods = client_->List(resources::kPods, "", lo);
  ASSERT_TRUE(pods.ok()) << pods.status().ToString();
  EXPECT_EQ(pods->items.size(), 9u);
  EXPECT_GE(pods->pages, 5);
  std::set<std::string> names;
  for (const auto& p : pods->items) names.insert(obj::Name(p));
  EXPECT_EQ(names.size(), 9u);  // no duplicates across pages

  lo.label_selector = "app in (web,guarded),app!=guarded";
  auto web = client_->List(resources::kPods, "shop", lo);
  ASSERT_TRUE(web.ok()) << web.status().ToString();
  EXPECT_EQ(web->items.size(), 6u);

  ListOptions by_node;
  by_node.field_selector = "spec.nodeName=node-c";
  auto on_c = client_->List(resources::kPods, "", by_node);
  ASSERT_TRUE(on_c.ok()) << on_c.status().ToString();
  for (const auto& p : on_c->items) EXPECT_EQ(pod::NodeName(p), "node-c");
  EXPECT_EQ(on_c->items.size(), 3u);

  auto nodes = client_->List(resources::kNodes, "");
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->items.size(), 3u);
  for (const auto* kind : {&resources::kDeployments, &resources::kReplicaSets, &resources::kPodDisruptionBudgets,
                           &resources::kStatefulSets, &resources::kDaemonSets, &resources::kHorizontalPodAutoscalers,
                           &resources::kLeases, &resources::kEvents}) {
    EXPECT_TRUE(client_->List(*kind, "").ok()) << kind->plural;
  }
}

TEST_F(SimTest, TypedErrorsForMissingDuplicateAndStaleObjects) {
  ASSERT_NO_FATAL_FAILURE(StartDefault());
  auto missing = client_->Get(resources::kPods, "shop", "nope");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("get pods shop/nope: NotFound (HTTP 404)"), std::string::npos)
      << missing.status().message();

  Json lease = {{"metadata", {{"name", "probe"}, {"namespace", "shop"}}}, {"spec", {{"holderIdentity", "x"}}}};
  auto created = client_->Create(resources::kLeases, "shop", lease);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(client_->Create(resources::kLeases, "shop", lease).status().code(), Status::Code::kAlreadyExists);

  // A PUT carrying an old resourceVersion loses.
  Json stale = *created;
  Json fresh = *created;
  fresh["spec"]["holderIdentity"] = "y";
  ASSERT_TRUE(client_->Update(resources::kLeases, fresh).ok());
  stale["spec"]["holderIdentity"] = "z";
  auto conflict = client_->Update(resources::kLeases, stale);
  EXPECT_EQ(conflict.status().code(), Status::Code::kConflict) << conflict.status().ToString();

  // Delete preconditions: wrong uid is refused, the right one works.
  DeleteOptions wrong;
  wrong.precondition_uid = "not-the-uid";
  EXPECT_EQ(client_->Delete(resources::kLeases, "shop", "probe", wrong).code(), Status::Code::kConflict);
  DeleteOptions right;
  right.precondition_uid = obj::Uid(*created);
  EXPECT_TRUE(client_->Delete(resources::kLeases, "shop", "probe", right).ok());
  EXPECT_EQ(client_->Get(resources::kLeases, "shop", "probe").status().code(), Status::Code::kNotFound);
}

TEST_F(SimTest, ConcurrentReadModifyWriteLosesNoUpdate) {
  ASSERT_NO_FATAL_FAILURE(StartDefault());
  constexpr int kThreads = 4, kEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0}, successes{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto r = client_->GetAndUpdate(resources::kNodes, "", "node-a", [](Json& n) {
          int v = std::stoi(obj::Annotations(n).count("kinema.io/counter") ? obj::Annotations(n)["kinema.io/counter"]
                                                                            : "0");
          n["metadata"]["annotations"]["kinema.io/counter"] = std::to_string(v + 1);
          return Status::OK();
        });
        if (r.ok()) {
          ++successes;
        } else {
          // The only acceptable failure: conflicts beyond the bounded retries.
          EXPECT_EQ(r.status().code(), Status::Code::kConflict) << r.status().ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(failures.load(), 2);  // 4 writers, 6 attempts each: exhaustion is rare
  auto node = client_->Get(resources::kNodes, "", "node-a");
  ASSERT_TRUE(node.ok());
  // Every update that reported success is in the object: none was lost.
  EXPECT_EQ(obj::Annotations(*node)["kinema.io/counter"], std::to_string(successes.load()));
}

TEST_F(SimTest, AllPatchTypesApply) {
  ASSERT_NO_FATAL_FAILURE(StartDefault());
  // Merge patch: add one label, remove another.
  auto n = client_->Patch(resources::kNodes, "", "node-b", PatchType::kMerge,
                          {{"metadata", {{"labels", {{"kinema.io/pool", "new"}, {"cloud.google.com/gke-nodepool", nullptr}}}}}});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(obj::Labels(*n)["kinema.io/pool"], "new");
  EXPECT_EQ(obj::Labels(*n).count("cloud.google.com/gke-nodepool"), 0u);
  // JSON patch: cordon.
  n = client_->Patch(resources::kNodes, "", "node-b", PatchType::kJson,
                     Json::array({{{"op", "add"}, {"path", "/spec/unschedulable"}, {"value", true}}}));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_TRUE(node::IsUnschedulable(*n));
  // Strategic merge: containers merge by name, so the image survives.
  auto d = client_->Patch(
      resources::kDeployments, "shop", "web", PatchType::kStrategicMerge,
      {{"spec",
        {{"template",
          {{"spec",
            {{"containers", Json::array({{{"name", "app"}, {"env", Json::array({{{"name", "A"}, {"value", "1"}}})}}})},
             {"affinity",
              {{"nodeAffinity",
                {{"preferredDuringSchedulingIgnoredDuringExecution",
                  Json::array({{{"weight", 50},
                                {"preference",
                                 {{"matchExpressions",
                                   Json::array({{{"key", "kinema.io/pool"}, {"operator", "In"},
                                                 {"values", Json::array({"new"})}}})}}}}})}}}}}}}}}}}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const Json& c0 = (*d)["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c0["image"], "nginx:1.27");
  EXPECT_EQ(c0["env"][0]["name"], "A");
  EXPECT_GT(obj::Generation(*d), 1);
  // Invalid JSON patch op path: a typed 422/400, not a crash or retry storm.
  uint64_t before = client_->requests_sent();
  auto bad = client_->Patch(resources::kNodes, "", "node-b", PatchType::kJson,
                            Json::array({{{"op", "remove"}, {"path", "/metadata/labels/does-not-exist"}}}));
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().code() == Status::Code::kInvalidArgument) << bad.status().ToString();
  EXPECT_EQ(client_->requests_sent() - before, 1u);
}

TEST_F(SimTest, EvictionRespectsDisruptionBudgets) {
  ASSERT_NO_FATAL_FAILURE(StartDefault());
  // No PDB covers web pods: accepted, the pod goes away (or is terminating).
  Status s = client_->Evict("shop", "web-5d8f-0");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(Eventually([&] {
    auto p = client_->Get(resources::kPods, "shop", "web-5d8f-0");
    return !p.ok() ? p.status().code() == Status::Code::kNotFound : obj::IsTerminating(*p);
  }));
  // A PDB with no disruptions allowed: 429 until we give up.
  EvictOptions eo;
  eo.max_wait = milliseconds(1500);
  eo.initial_backoff = milliseconds(200);
  eo.max_backoff = milliseconds(400);
  uint64_t before = client_->requests_sent();
  s = client_->Evict("shop", "guarded-0", eo);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("disruption budget"), std::string::npos) << s.message();
  EXPECT_LE(client_->requests_sent() - before, 12u);
  EXPECT_TRUE(client_->Get(resources::kPods, "shop", "guarded-0").ok());
  // Two PDBs: final, one request.
  before = client_->requests_sent();
  s = client_->Evict("shop", "double-0");
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(client_->requests_sent() - before, 1u);
  // Gone pod.
  EXPECT_EQ(client_->Evict("shop", "no-such-pod").code(), Status::Code::kNotFound);
}

TEST_F(SimTest, ResizesAPodInPlace) {
  ASSERT_NO_FATAL_FAILURE(StartDefault());
  auto p = client_->ResizePod(
      "shop", "web-5d8f-1",
      {{"spec", {{"containers", Json::array({{{"name", "app"},
                                               {"resources", {{"requests", {{"cpu", "150m"}}}, {"limits", {{"cpu", "300m"}}}}}}})}}}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)["spec"]["containers"][0]["resources"]["requests"]["cpu"], "150m");
  // Changing something other than resources through resize is refused, typed.
  auto bad = client_->ResizePod("shop", "web-5d8f-1",
                                {{"spec", {{"containers", Json::array({{{"name", "app"}, {"image", "evil:1"}}})}}}});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument) << bad.status().ToString();
}

TEST_F(SimTest, InformerFollowsChangesAndRelistsOnExpiredVersion) {
  ASSERT_NO_FATAL_FAILURE(StartDefault());
  InformerOptions io;
  io.ns = "shop";
  Informer informer(client_.get(), resources::kPods, io);
  std::atomic<int> updates{0}, deletes{0};
  informer.AddHandler({nullptr, [&](const Json&, const Json&) { ++updates; }, [&](const Json&) { ++deletes; }});
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(milliseconds(5000)));
  EXPECT_EQ(informer.Size(), 9u);
  ASSERT_TRUE(client_->Patch(resources::kPods, "shop", "web-5d8f-2", PatchType::kMerge,
                             {{"metadata", {{"labels", {{"seen", "yes"}}}}}})
                  .ok());
  ASSERT_TRUE(Eventually([&] {
    auto p = informer.Get("shop/web-5d8f-2");
    return p && obj::Labels(*p)["seen"] == "yes";
  }));
  DeleteOptions now;
  now.grace_period_seconds = 0;
  ASSERT_TRUE(client_->Delete(resources::kPods, "shop", "web-5d8f-3", now).ok());
  ASSERT_TRUE(Eventually([&] { return informer.Get("shop/web-5d8f-3") == nullptr; }));
  EXPECT_GE(updates.load(), 1);
  EXPECT_GE(deletes.load(), 1);
  informer.Stop();

  // Watching from a resourceVersion older than the sim's history is 410.
  WatchOptions wo;
  wo.resource_version = "1";
  WatchResult r = client_->Watch(resources::kPods, "", wo, [](const WatchEvent&) { return true; });
  EXPECT_TRUE(r.gone) << r.status.ToString();
}

TEST_F(SimTest, InformerRelistsWhenItsResumePointFellOutOfHistory) {
  SimOptions o;
  o.snapshot = kinema::testing::SmallSnapshot();
  o.catalog = kinema::testing::SmallCatalog();
  o.watch_history = 3;  // tiny: any pause in watching loses the resume point
  o.faults = {{"rules", Json::array({{{"verb", "watch"}, {"resource", "pods"}, {"watchDropRate", 1.0},
                                      {"watchDropAfterMs", 100}}})}};
  ASSERT_NO_FATAL_FAILURE(StartSim(o));
  InformerOptions io;
  io.ns = "shop";
  io.min_backoff = milliseconds(400);  // the drop is followed by a pause ...
  io.max_backoff = milliseconds(800);
  Informer informer(client_.get(), resources::kPods, io);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(milliseconds(5000)));
  // ... during which more than 3 writes happen.
  for (int round = 0; round < 6 && informer.stats().relists_after_gone == 0; ++round) {
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(client_->Patch(resources::kPods, "shop", "web-5d8f-" + std::to_string(i % 6), PatchType::kMerge,
                                 {{"metadata", {{"labels", {{"round", std::to_string(round * 10 + i)}}}}}})
                      .ok());
    }
    std::this_thread::sleep_for(milliseconds(300));
  }
  EXPECT_TRUE(Eventually([&] { return informer.stats().relists_after_gone >= 1; }));
  auto truth = client_->List(resources::kPods, "shop");
  ASSERT_TRUE(truth.ok());
  EXPECT_TRUE(Eventually([&] {
    for (const auto& p : truth->items) {
      auto cached = informer.Get(obj::Key(p));
      if (!cached || obj::Labels(*cached)["round"] != obj::Labels(p)["round"]) return false;
    }
    return informer.Size() == truth->items.size();
  }));
  informer.Stop();

  // A continue token the server no longer knows is a typed 410.
  ListOptions lo;
  lo.limit = 2;
  auto page = client_->ListPageOf(resources::kPods, "", lo, "eyJzIjo5OTk5OTksIm8iOjB9");
  EXPECT_EQ(page.status().code(), Status::Code::kFailedPrecondition) << page.status().ToString();
}

TEST_F(SimTest, LeaderElectionHandsOverAndFencesAHungLeader) {
  ASSERT_NO_FATAL_FAILURE(StartDefault());
  auto make = [&](const std::string& id) {
    LeaderElectionConfig c;
    c.lease_namespace = "kube-system";
    c.identity = id;
    c.lease_duration = milliseconds(2000);
    c.renew_deadline = milliseconds(1500);
    c.retry_period = milliseconds(300);
    c.release_on_stop = false;
    return c;
  };
  auto client_b = std::move(*Client::Create(config_, TestOptions()));
  auto a = std::move(*LeaderElector::Create(client_.get(), make("kinema-a")));
  auto b = std::move(*LeaderElector::Create(client_b.get(), make("kinema-b")));
  a->Start();
  ASSERT_TRUE(Eventually([&] { return a->Current().has_value(); }));
  b->Start();
  int64_t epoch_a = a->Current()->value;
  auto lease = client_->Get(resources::kLeases, "kube-system", "kinema");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "kinema-a");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], epoch_a);

  // a crashes (no release): b takes over with a higher epoch.
  a->Stop();
  ASSERT_TRUE(Eventually([&] { return b->Current().has_value(); }));
  EXPECT_GT(b->Current()->value, epoch_a);

  // The API server hangs: b's leadership ends at its renew deadline.
  client_b->SetMutationGate(b.get());
  sim_.Pause();
  auto paused = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return !b->Current().has_value(); }, milliseconds(4000)));
  EXPECT_LE(std::chrono::steady_clock::now() - paused, milliseconds(1500 + 500));
  // Mutations are refused locally without touching the network.
  uint64_t before = client_b->requests_sent();
  EXPECT_EQ(client_b->Patch(resources::kNodes, "", "node-a", PatchType::kMerge, {{"metadata", Json::object()}})
                .status()
                .code(),
            Status::Code::kPermissionDenied);
  EXPECT_EQ(client_b->requests_sent(), before);
  sim_.Resume();
  b->Stop();
}

TEST_F(SimTest, TlsWithTheWrittenKubeconfigAndRejectsWrongTrust) {
  ASSERT_NO_FATAL_FAILURE(StartDefault(/*tls=*/true));
  EXPECT_EQ(config_.server.rfind("https://", 0), 0u) << config_.server;
  auto nodes = client_->List(resources::kNodes, "");
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  EXPECT_EQ(nodes->items.size(), 3u);
  // A watch over TLS.
  WatchOptions wo;
  wo.timeout_seconds = 1;
  int events = 0;
  WatchResult r = client_->Watch(resources::kNodes, "", wo, [&](const WatchEvent&) { return ++events < 3; });
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(events, 3);

  // Without the sim's CA the server is not trusted: a final, typed error.
  RestConfig untrusted = config_;
  untrusted.tls.ca_file.clear();
  untrusted.tls.ca_pem.clear();
  auto c = std::move(*Client::Create(untrusted, TestOptions()));
  auto denied = c->List(resources::kNodes, "");
  EXPECT_EQ(denied.status().code(), Status::Code::kPermissionDenied) << denied.status().ToString();
  EXPECT_EQ(c->requests_sent(), 1u);
  // Without a token: 401 → PermissionDenied, one refresh at most.
  RestConfig anonymous = config_;
  anonymous.token.clear();
  anonymous.token_file.clear();
  anonymous.exec.reset();
  auto anon = std::move(*Client::Create(anonymous, TestOptions()));
  EXPECT_EQ(anon->List(resources::kNodes, "").status().code(), Status::Code::kPermissionDenied);
  EXPECT_LE(anon->requests_sent(), 2u);
}

TEST_F(SimTest, UnderInjectedFaultsEveryCallEndsTypedAndWatchesRecover) {
  SimOptions o;
  o.snapshot = kinema::testing::SmallSnapshot();
  o.catalog = kinema::testing::SmallCatalog();
  o.seed = 7;
  o.faults = {{"rules",
               Json::array({{{"verb", "*"}, {"resource", "*"}, {"error500Rate", 0.15}, {"error429Rate", 0.05},
                             {"retryAfterSeconds", 1}, {"latencyMs", 5}},
                            {{"verb", "update"}, {"resource", "nodes"}, {"conflictRate", 0.3}},
                            {{"verb", "watch"}, {"resource", "*"}, {"watchDropRate", 0.7}, {"watchDropAfterMs", 400}}})}};
  ASSERT_NO_FATAL_FAILURE(StartSim(o));

  InformerOptions io;
  io.min_backoff = milliseconds(20);
  io.max_backoff = milliseconds(200);
  Informer informer(client_.get(), resources::kNodes, io);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(milliseconds(15000)));

  const std::set<Status::Code> typed = {Status::Code::kOk, Status::Code::kUnavailable, Status::Code::kResourceExhausted,
                                        Status::Code::kConflict, Status::Code::kNotFound};
  constexpr int kOps = 30;
  uint64_t before = client_->requests_sent();
  int ok = 0;
  for (int i = 0; i < kOps; ++i) {
    Status s;
    switch (i % 3) {
      case 0:
        s = client_->Get(resources::kPods, "shop", "web-5d8f-" + std::to_string(i % 6)).status();
        break;
      case 1:
        s = client_->Patch(resources::kNodes, "", "node-" + std::string(1, static_cast<char>('a' + i % 3)),
                           PatchType::kMerge, {{"metadata", {{"labels", {{"step", std::to_string(i)}}}}}})
                .status();
        break;
      default:
        s = client_->GetAndUpdate(resources::kNodes, "", "node-a", [&](Json& n) {
                      n["metadata"]["annotations"]["kinema.io/step"] = std::to_string(i);
                      return Status::OK();
                    }).status();
    }
    EXPECT_TRUE(typed.count(s.code())) << s.ToString();
    if (s.ok()) ++ok;
  }
  EXPECT_GE(ok, kOps * 8 / 10);
  // Bounded work: at most max_attempts per HTTP call, (1 + conflict_retries) calls per update.
  uint64_t used = client_->requests_sent() - before;
  EXPECT_LE(used, static_cast<uint64_t>(kOps * 5 * 2 * 6));
  // The informer converges on the server's truth despite dropped watches.
  auto truth = client_->List(resources::kNodes, "");
  ASSERT_TRUE(truth.ok()) << truth.status().ToString();
  EXPECT_TRUE(Eventually([&] {
    for (const auto& n : truth->items) {
      auto cached = informer.Get(obj::Key(n));
      if (!cached || obj::ResourceVersion(*cached) != obj::ResourceVersion(n)) return false;
    }
    return true;
  }, milliseconds(15000)));
  informer.Stop();
  std::printf("faults: %d/%d ok, %llu requests, informer lists=%llu watches=%llu watch_errors=%llu\n", ok, kOps,
              static_cast<unsigned long long>(used), static_cast<unsigned long long>(informer.stats().lists),
              static_cast<unsigned long long>(informer.stats().watches),
              static_cast<unsigned long long>(informer.stats().watch_errors));
}

}  // namespace
}  // namespace kinema::kube
