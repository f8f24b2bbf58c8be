// The scheduler of workflow kinds: test-only kinds, each registered with
// one line, on a real engine, journal file and disruption ledger.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "engine/budget/disruption_ledger.h"
#include "engine/kinds/kind_registry.h"
#include "engine/runtime/kind_scheduler.h"
#include "engine/workflow/static_epoch_provider.h"
#include "engine/workflow/step_context.h"
#include "engine/workflow/workflow_engine.h"
#include "storage/journal_writer.h"
#include "tests/support/test_support.h"

namespace kinema {
namespace {

using Step = std::function<StatusOr<nlohmann::json>(StepContext&)>;

// A kind whose one step is given by the test.
class TestKind : public WorkflowKind {
 public:
  TestKind(std::string type, DisruptionClass disruption, Step step, Duration interval = Duration(50))
      : type_(std::move(type)), disruption_(disruption), step_(std::move(step)), interval_(interval) {}
  std::string type() const override { return type_; }
  std::string section() const override { return type_; }
  KindTraits traits() const override {
    KindTraits t;
    t.enabled_by_default = true;
    t.default_interval = interval_;
    t.disruption = disruption_;
    t.reason = disruption_ == DisruptionClass::kRetiresNodes ? "spot" : "resize";
    return t;
  }
  void DeclareConfig(config::Fields* root) override { (*root)[type_] = config::Map({}); }
  std::vector<kube::Permission> Permissions(const ControllerConfig&) const override { return {}; }
  StatusOr<WorkflowType> Build(const KindServices&) override {
    StepDefinition s;
    s.name = "act";
    s.run = step_;
    s.reconcile = step_;
    s.retry.max_attempts = 1;
    return WorkflowType{type_, {s}};
  }

 private:
  std::string type_;
  DisruptionClass disruption_;
  Step step_;
  Duration interval_;
};

// Engine, journal, ledger and scheduler around a set of test kinds.
class Harness {
 public:
  explicit Harness(std::vector<std::unique_ptr<WorkflowKind>> kinds, LedgerOptions ledger = {},
                   KindSchedulerOptions options = {})
      : ledger_(std::move(ledger)) {
    for (auto& k : kinds) EXPECT_TRUE(kinds_.Add(std::move(k)).ok());  // one line per kind
    auto c = kinds_.ParseConfig("catalog: c.json\n");
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    config_ = *c;
    EXPECT_TRUE(kinds_.BuildAll(KindServices{}, &workflows_).ok());
    auto j = JournalWriter::Open(dir_.File("kinema.db"), {});
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    options.workers = 4;
    scheduler_ = std::make_unique<KindScheduler>(&kinds_, &config_, &metrics_, &epochs_, options);
    KindScheduler::DescribeMetrics(&metrics_);
    EngineOptions eo;
    eo.ledger = &ledger_;
    eo.poll_ms = 20;
    eo.on_terminal = [this](const WorkflowView& v) { scheduler_->OnTerminal(v); };
    eo.on_kind_request = [this](const KindRequest& r) { scheduler_->OnKindRequest(r); };
    engine_ = std::make_unique<WorkflowEngine>(journal_.get(), &workflows_, &epochs_, eo);
  }
  ~Harness() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { result_ = scheduler_->Run(*engine_); });
  }
  Status Stop() {
    if (thread_.joinable()) {
      engine_->RequestStop();
      thread_.join();
    }
    return result_;
  }
  Status RunOnce() {
    result_ = scheduler_->Run(*engine_);
    return result_;
  }

  std::vector<WorkflowView> Workflows(const std::string& type) {
    std::vector<WorkflowView> out;
    for (WorkflowStatus st : {WorkflowStatus::kRunning, WorkflowStatus::kPaused, WorkflowStatus::kCompleted,
                              WorkflowStatus::kAborted, WorkflowStatus::kFailed}) {
      auto ids = journal_->WorkflowIds(st);
      if (!ids.ok()) continue;
      for (const std::string& id : *ids) {
        auto v = journal_->View(id);
        if (v.ok() && v->type == type) out.push_back(*v);
      }
    }
    return out;
  }
  int Completed(const std::string& type) {
    int n = 0;
    for (const auto& w : Workflows(type)) n += w.status == WorkflowStatus::kCompleted;
    return n;
  }
  KindState StateOf(const std::string& type) {
    for (const auto& s : scheduler_->States()) {
      if (s.type == type) return s;
    }
    return {};
  }
  bool WaitFor(const std::function<bool()>& cond, int ms = 10000) {
    for (int i = 0; i < ms / 10; ++i) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
  }
  JournalWriter* journal() { return journal_.get(); }
  DisruptionLedger* ledger() { return &ledger_; }
  Metrics* metrics() { return &metrics_; }

 private:
  testing::TempDir dir_;
  KindRegistry kinds_;
  ControllerConfig config_;
  WorkflowRegistry workflows_;
  Metrics metrics_;
  StaticEpochProvider epochs_{1};
  DisruptionLedger ledger_;
  std::unique_ptr<JournalWriter> journal_;
  std::unique_ptr<KindScheduler> scheduler_;
  std::unique_ptr<WorkflowEngine> engine_;
  std::thread thread_;
  Status result_;
};

// A step that blocks until `gate` opens (or the workflow is interrupted).
Step WaitFor(std::atomic<bool>* gate, std::atomic<int>* started) {
  return [gate, started](StepContext& ctx) -> StatusOr<nlohmann::json> {
    ++*started;
    while (!gate->load()) KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(10)));
    return nlohmann::json{{"done", true}};
  };
}

Step Quick() {
  return [](StepContext&) -> StatusOr<nlohmann::json> { return nlohmann::json{{"resized", 1}}; };
}

TEST(KindScheduler, AResizeLikeKindRunsDuringARollout) {
  std::atomic<bool> gate{false};
  std::atomic<int> started{0};
  std::vector<std::unique_ptr<WorkflowKind>> kinds;
  kinds.push_back(std::make_unique<TestKind>("test-rollout", DisruptionClass::kRetiresNodes, WaitFor(&gate, &started),
                                             Duration(3600000)));
  kinds.push_back(std::make_unique<TestKind>("test-resize", DisruptionClass::kPodsOnly, Quick()));
  Harness h(std::move(kinds));
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return started.load() == 1; }));
  EXPECT_TRUE(h.WaitFor([&] { return h.Completed("test-resize") >= 3; }))
      << "resize cycles keep running while the rollout holds its worker";
  EXPECT_EQ(h.StateOf("test-rollout").state, "running");
  EXPECT_EQ(h.Completed("test-rollout"), 0);
  gate = true;
  EXPECT_TRUE(h.WaitFor([&] { return h.Completed("test-rollout") == 1; }));
  ASSERT_TRUE(h.Stop().ok());
  EXPECT_GE(h.metrics()->Get("kinema_iterations_total", {{"type", "test-resize"}, {"outcome", "completed"}}), 3);
}

TEST(KindScheduler, ASecondNodeRetiringKindWaitsForTheFirst) {
  std::atomic<bool> gate{false};
  std::atomic<int> a_started{0}, b_started{0};
  std::atomic<bool> open{true};
  std::vector<std::unique_ptr<WorkflowKind>> kinds;
  kinds.push_back(std::make_unique<TestKind>("retire-a", DisruptionClass::kRetiresNodes, WaitFor(&gate, &a_started),
                                             Duration(3600000)));
  kinds.push_back(std::make_unique<TestKind>("retire-b", DisruptionClass::kRetiresNodes, WaitFor(&open, &b_started),
                                             Duration(3600000)));
  Harness h(std::move(kinds));
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return a_started.load() + b_started.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(a_started.load() + b_started.load(), 1) << "never two node-retiring workflows at once";
  const std::string waiting = a_started.load() == 1 ? "retire-b" : "retire-a";
  EXPECT_EQ(h.StateOf(waiting).state, "waiting");
  gate = true;
  EXPECT_TRUE(h.WaitFor([&] { return h.Completed("retire-a") == 1 && h.Completed("retire-b") == 1; }))
      << "the second starts once the first ended";
  ASSERT_TRUE(h.Stop().ok());
}

TEST(KindScheduler, AFailedWorkflowBlocksOnlyItsOwnKind) {
  std::atomic<int> attempts{0};
  std::vector<std::unique_ptr<WorkflowKind>> kinds;
  kinds.push_back(std::make_unique<TestKind>(
      "test-failing", DisruptionClass::kRetiresNodes,
      [&attempts](StepContext&) -> StatusOr<nlohmann::json> {
        ++attempts;
        return Status::InvalidArgument("bad plan");  // non-retryable: the workflow fails
      },
      Duration(20)));
  kinds.push_back(std::make_unique<TestKind>("test-resize", DisruptionClass::kPodsOnly, Quick()));
  Harness h(std::move(kinds));
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return h.StateOf("test-failing").state == "blocked"; }));
  EXPECT_TRUE(h.WaitFor([&] { return h.Completed("test-resize") >= 3; })) << "the failure does not stop other kinds";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(attempts.load(), 1) << "no new workflow of the failed kind starts";
  EXPECT_NE(h.StateOf("test-failing").detail.find("resume or abort"), std::string::npos);
  EXPECT_EQ(h.metrics()->Get("kinema_kind_blocked", {{"type", "test-failing"}}), 1);
  ASSERT_TRUE(h.Stop().ok());
}

TEST(KindScheduler, TwoKindsShareOneDisruptionBudget) {
  // A paused node-retiring workflow keeps what it holds; another kind that
  // retires nodes gets only what is left of the shared budget.
  std::atomic<bool> release{false};
  std::vector<std::unique_ptr<WorkflowKind>> kinds;
  auto claim = [](std::vector<std::string> nodes, bool then_pause, std::atomic<bool>* release) -> Step {
    return [nodes, then_pause, release](StepContext& ctx) -> StatusOr<nlohmann::json> {
      ClaimRequest r;
      r.reason = "spot";
      r.node_count = 20;
      r.retire = nodes;
      auto g = ctx.Claim(r);
      if (!g.ok()) return g.status();
      if (then_pause && !release->load()) return Status::Unavailable("cloud down");  // retryable -> paused
      return nlohmann::json{{"granted", g->retire}};
    };
  };
  kinds.push_back(std::make_unique<TestKind>("holder", DisruptionClass::kRetiresNodes,
                                             claim({"n1", "n2", "n3"}, true, &release), Duration(3600000)));
  KindSchedulerOptions once;
  once.once = true;
  Harness h(std::move(kinds),
            [] {
              LedgerOptions o;
              o.budgets = {*NodeBudget::FromNodes("4")};
              return o;
            }(),
            once);
  ASSERT_TRUE(h.RunOnce().code() == Status::Code::kFailedPrecondition) << "holder ends paused";
  // A second process of the same build would see the same: reload the ledger from the journal.
  auto views = h.journal()->Unfinished();
  ASSERT_EQ(views->size(), 1u);
  EXPECT_EQ(views->front().status, WorkflowStatus::kPaused);
  auto held = h.ledger()->NodesAvailable("spot", 20, "other", 1'800'000'000'000);
  EXPECT_EQ(held.allowed, 1) << "4 allowed, 3 held by the paused workflow: " << held.binding;
}

TEST(KindScheduler, OnceRunsEveryKindAndNamesTheOnesThatDidNotFinish) {
  std::vector<std::unique_ptr<WorkflowKind>> kinds;
  kinds.push_back(std::make_unique<TestKind>("ok-kind", DisruptionClass::kPodsOnly, Quick()));
  kinds.push_back(std::make_unique<TestKind>(
      "bad-kind", DisruptionClass::kPodsOnly,
      [](StepContext&) -> StatusOr<nlohmann::json> { return Status::InvalidArgument("broken input"); }));
  KindSchedulerOptions o;
  o.once = true;
  Harness h(std::move(kinds), {}, o);
  Status s = h.RunOnce();
  ASSERT_EQ(s.code(), Status::Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("bad-kind: workflow bad-kind-"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("ok-kind"), std::string::npos) << s.message();
  EXPECT_EQ(h.Completed("ok-kind"), 1);
  auto ids = h.Workflows("ok-kind");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].id.rfind("ok-kind-2", 0), 0u) << "ids are <type>-<UTC timestamp>: " << ids[0].id;
  // A second --once: the failed workflow blocks its own kind only.
  Status again = h.RunOnce();
  EXPECT_NE(again.message().find("bad-kind: blocked by workflow bad-kind-"), std::string::npos) << again.message();
  EXPECT_EQ(h.Completed("ok-kind"), 2);
}

TEST(KindScheduler, AKindRequestIsJournaledAndHandedToTheTargetKind) {
  std::atomic<int> seen_requests{0};
  std::vector<std::unique_ptr<WorkflowKind>> kinds;
  kinds.push_back(std::make_unique<TestKind>(
      "asker", DisruptionClass::kPodsOnly,
      [](StepContext& ctx) -> StatusOr<nlohmann::json> {
        KINEMA_RETURN_IF_ERROR(ctx.RequestKind("target", "pod-x", {{"pod", "shop/x"}, {"memory", "2Gi"}}));
        KINEMA_RETURN_IF_ERROR(ctx.RequestKind("target", "pod-x", {{"pod", "shop/x"}}));  // idempotent
        return nlohmann::json::object();
      },
      Duration(3600000)));
  kinds.push_back(std::make_unique<TestKind>(
      "target", DisruptionClass::kPodsOnly,
      [&seen_requests](StepContext& ctx) -> StatusOr<nlohmann::json> {
        const auto& in = ctx.workflow_input();
        if (in.contains("requests")) {
          for (const auto& r : in["requests"]) {
            if (r["input"].value("memory", "") == "2Gi") ++seen_requests;
          }
        }
        return nlohmann::json::object();
      },
      Duration(3600000)));
  Harness h(std::move(kinds));
  h.Start();
  EXPECT_TRUE(h.WaitFor([&] { return seen_requests.load() == 1; })) << "the target ran again at once with the request";
  ASSERT_TRUE(h.Stop().ok());
  auto pending = h.journal()->PendingKindRequests(0);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty()) << "the request was consumed by the target's workflow";
}

}  // namespace
}  // namespace kinema
