// Workflow runtime behaviour, in process, over a real SQLite journal.
// (The kill -9 campaign in tests/crash covers real process deaths.)
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "engine/workflow/static_epoch_provider.h"
#include "engine/workflow/workflow_engine.h"
#include "storage/journal_reader.h"
#include "tests/support/test_support.h"

namespace kinema {
namespace {

using kinema::testing::TempDir;

// Records calls so tests can see what ran, reconciled and compensated.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> calls;
  void Add(const std::string& c) {
    std::lock_guard<std::mutex> l(mu);
    calls.push_back(c);
  }
  int Count(const std::string& c) {
    std::lock_guard<std::mutex> l(mu);
    return static_cast<int>(std::count(calls.begin(), calls.end(), c));
  }
};

StepDefinition RecordingStep(const std::string& name, Recorder* rec) {
  StepDefinition s;
  s.name = name;
  s.retry.initial = std::chrono::milliseconds(1);
  s.retry.cap = std::chrono::milliseconds(5);
  s.run = [rec, name](StepContext& ctx) -> StatusOr<nlohmann::json> {
    rec->Add("run:" + name);
    return nlohmann::json{{"step", name}, {"key", ctx.idempotency_key()}};
  };
  s.reconcile = [rec, name](StepContext&) -> StatusOr<nlohmann::json> {
    rec->Add("reconcile:" + name);
    return nlohmann::json{{"step", name}, {"reconciled", true}};
  };
  s.compensate = [rec, name](StepContext&, const nlohmann::json&) -> Status {
    rec->Add("compensate:" + name);
    return Status::OK();
  };
  return s;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    engine_.reset();
    journal_.reset();
    auto j = JournalWriter::Open(dir_.File("j.db"), {});
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    engine_ = std::make_unique<WorkflowEngine>(journal_.get(), &registry_, &epochs_, EngineOptions{});
  }
  void Register(std::vector<StepDefinition> steps, const std::string& type = "t") {
    registry_ = WorkflowRegistry();
    ASSERT_TRUE(registry_.Register(WorkflowType{type, std::move(steps)}).ok());
  }
  std::vector<Event> Events(const std::string& id) {
    auto r = JournalReader::Open(dir_.File("j.db"));
    EXPECT_TRUE(r.ok());
    auto ev = (*r)->Events(id);
    EXPECT_TRUE(ev.ok());
    return *ev;
  }
  int CountEvents(const std::string& id, const std::string& kind) {
    int n = 0;
    for (const auto& e : Events(id)) n += e.kind == kind;
    return n;
  }
  void ExpectVerifies() {
    auto r = JournalReader::Open(dir_.File("j.db"));
    ASSERT_TRUE(r.ok());
    auto checks = (*r)->Verify();
    ASSERT_TRUE(checks.ok());
    for (const auto& c : *checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  }
  OperatorCommand Cmd(const std::string& c, const std::string& id) { return {c, id, "test", "tester@host", "test"}; }

  TempDir dir_;
  WorkflowRegistry registry_;
  StaticEpochProvider epochs_{1};
  std::unique_ptr<JournalWriter> journal_;
  std::unique_ptr<WorkflowEngine> engine_;
  Recorder rec_;
};

TEST_F(EngineTest, RunsStepsInOrderAndSkipsFinishedStepsAfterRestart) {
  Register({RecordingStep("a", &rec_), RecordingStep("b", &rec_), RecordingStep("c", &rec_)});
  ASSERT_TRUE(engine_->Start("t", "wf", {{"in", 1}}).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(rec_.calls, (std::vector<std::string>{"run:a", "run:b", "run:c"}));
  Reopen();
  v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(rec_.calls.size(), 3u);
  EXPECT_EQ(v->steps[1].result["key"], "wf/1/b");
  ExpectVerifies();
}

TEST_F(EngineTest, StartingTheSameIdTwiceStartsOneWorkflow) {
  Register({RecordingStep("a", &rec_)});
  ASSERT_TRUE(engine_->Start("t", "wf", {{"n", 1}}).ok());
  auto again = engine_->Start("t", "wf", {{"n", 2}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->input["n"], 1);
  EXPECT_EQ(CountEvents("wf", event_kind::kWorkflowStarted), 1);
}

TEST_F(EngineTest, ResumesAfterKillBetweenIntentAndEffectThroughReconcile) {
  Register({RecordingStep("a", &rec_), RecordingStep("b", &rec_)});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  // What a process that died right after journaling b's intent leaves behind.
  Event intent;
  intent.kind = event_kind::kStepIntent;
  intent.step_index = 0;
  intent.step_name = "a";
  intent.attempt = 1;
  intent.detail = {{"idempotencyKey", "wf/0/a"}};
  ASSERT_TRUE(journal_->Append("wf", {intent}, 1).ok());
  Reopen();
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(rec_.Count("run:a"), 0) << "a step with an open intent must never be blindly re-run";
  EXPECT_EQ(rec_.Count("reconcile:a"), 1);
  EXPECT_EQ(rec_.Count("run:b"), 1);
  EXPECT_EQ(v->steps[0].result["reconciled"], true);
  ExpectVerifies();
}

TEST_F(EngineTest, RetriesTransientErrorsWithBackoffThenSucceeds) {
  std::atomic<int> calls{0};
  StepDefinition flaky = RecordingStep("flaky", &rec_);
  flaky.run = [&](StepContext& ctx) -> StatusOr<nlohmann::json> {
    ++calls;
    if (ctx.attempt() < 3) return Status::Unavailable("try again");
    return nlohmann::json{{"attempt", ctx.attempt()}};
  };
  Register({flaky});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(v->steps[0].attempts, 3);
  auto events = Events("wf");
  int failures = 0;
  for (const auto& e : events) {
    if (e.kind == event_kind::kStepFailed) {
      ++failures;
      EXPECT_TRUE(e.detail.contains("retryAtMs"));
      EXPECT_EQ(e.detail["code"], "Unavailable");
    }
  }
  EXPECT_EQ(failures, 2);
}

TEST_F(EngineTest, PausesWithTheErrorVisibleWhenRetriesAreExhausted) {
  bool healthy = false;
  StepDefinition s = RecordingStep("call-cloud", &rec_);
  s.retry.max_attempts = 3;
  s.run = [&](StepContext&) -> StatusOr<nlohmann::json> {
    if (!healthy) return Status::Unavailable("GCE insert instance: 503 backendError");
    return nlohmann::json{{"ok", true}};
  };
  Register({s});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kPaused);
  EXPECT_NE(v->pause_reason.find("call-cloud failed after 3 attempts"), std::string::npos) << v->pause_reason;
  EXPECT_NE(v->pause_reason.find("503 backendError"), std::string::npos);
  // The operator fixes the cause and resumes; the step continues.
  healthy = true;
  ASSERT_TRUE(engine_->Command(Cmd("resume", "wf")).ok());
  v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(v->steps[0].attempts, 4);
  ExpectVerifies();
}

TEST_F(EngineTest, AStepThatThrowsIsAFailedAttemptWithTheExceptionTextNeverADeadProcess) {
  int calls = 0;
  StepDefinition s = RecordingStep("parse-answer", &rec_);
  s.run = [&](StepContext&) -> StatusOr<nlohmann::json> {
    ++calls;
    if (calls == 1) {
      nlohmann::json answer = nlohmann::json::parse(R"({"status": 5})");
      return nlohmann::json{{"status", answer.value("status", std::string())}};  // throws type_error
    }
    if (calls == 2) throw std::bad_alloc();
    if (calls == 3) throw 42;  // not even a std::exception
    return nlohmann::json{{"ok", true}};
  };
  Register({s});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  StatusOr<WorkflowView> v = Status::Internal("not run");
  ASSERT_NO_THROW(v = engine_->Run("wf"));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(v->steps[0].attempts, 4);
  std::vector<std::string> errors;
  for (const auto& e : Events("wf")) {
    if (e.kind == event_kind::kStepFailed) errors.push_back(e.detail.value("error", ""));
  }
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("step parse-answer threw an exception: [json.exception.type_error.302]"), std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("std::bad_alloc"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("unknown exception"), std::string::npos) << errors[2];
  ExpectVerifies();
}

TEST_F(EngineTest, AThrowingCompensationPausesTheAbortInsteadOfEndingTheProcess) {
  StepDefinition patch = RecordingStep("patch", &rec_);
  patch.retry.max_attempts = 2;
  patch.compensate = [](StepContext&, const nlohmann::json& result) -> Status {
    (void)result.at("missing");  // throws out_of_range
    return Status::OK();
  };
  StepDefinition block = RecordingStep("block", &rec_);
  block.retry.max_attempts = 1;
  block.run = [](StepContext&) -> StatusOr<nlohmann::json> { return Status::Unavailable("not yet"); };
  Register({patch, block});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->status, WorkflowStatus::kPaused);
  ASSERT_TRUE(engine_->Command(Cmd("abort", "wf")).ok());
  ASSERT_NO_THROW(v = engine_->Run("wf"));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->status, WorkflowStatus::kPaused);
  EXPECT_NE(v->pause_reason.find("compensation of step patch threw an exception"), std::string::npos)
      << v->pause_reason;
  ExpectVerifies();
}

TEST_F(EngineTest, ErrorTextWithInvalidUtf8IsJournaled) {
  StepDefinition s = RecordingStep("query", &rec_);
  s.retry.max_attempts = 1;
  s.run = [](StepContext&) -> StatusOr<nlohmann::json> {
    return Status::Unavailable(std::string("prometheus: HTTP 502: Bad Gateway \xe2\x82", 36));
  };
  Register({s});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok()) << "the journal write threw and the controller exited: " << v.status().ToString();
  EXPECT_EQ(v->status, WorkflowStatus::kPaused);
  ExpectVerifies();
}

TEST_F(EngineTest, NonRetryableErrorFailsTheWorkflowWhichStaysResumable) {
  bool fixed = false;
  StepDefinition s = RecordingStep("validate", &rec_);
  s.run = [&](StepContext&) -> StatusOr<nlohmann::json> {
    if (!fixed) return Status::InvalidArgument("catalog has no machine type e2-standard-4");
    return nlohmann::json{};
  };
  Register({s});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kFailed);
  EXPECT_EQ(v->steps[0].attempts, 1);
  EXPECT_NE(v->last_error.find("non-retryable"), std::string::npos);
  fixed = true;
  ASSERT_TRUE(engine_->Command(Cmd("resume", "wf")).ok());
  v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
}

TEST_F(EngineTest, AbortRunsCompensationsOfStartedStepsInReverseOrder) {
  std::atomic<bool> in_c{false};
  StepDefinition c = RecordingStep("c", &rec_);
  c.run = [&](StepContext& ctx) -> StatusOr<nlohmann::json> {
    rec_.Add("run:c");
    in_c = true;
    while (true) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  Register({RecordingStep("a", &rec_), RecordingStep("b", &rec_), c, RecordingStep("d", &rec_)});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  std::thread op([&] {
    while (!in_c) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto out = engine_->Command(Cmd("abort", "wf"));
    EXPECT_TRUE(out.ok());
  });
  auto v = engine_->Run("wf");
  op.join();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->status, WorkflowStatus::kAborted);
  EXPECT_EQ(rec_.calls, (std::vector<std::string>{"run:a", "run:b", "run:c", "compensate:c", "compensate:b",
                                                  "compensate:a"}));
  EXPECT_EQ(v->steps[0].status, StepStatus::kCompensated);
  EXPECT_EQ(v->steps[3].status, StepStatus::kSkipped);
  ExpectVerifies();
}

TEST_F(EngineTest, AbortOfAPausedWorkflowCompensatesWhenTheControllerRuns) {
  StepDefinition broken = RecordingStep("b", &rec_);
  broken.retry.max_attempts = 1;
  broken.run = [](StepContext&) -> StatusOr<nlohmann::json> { return Status::Unavailable("down"); };
  Register({RecordingStep("a", &rec_), broken});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  ASSERT_EQ(engine_->Run("wf")->status, WorkflowStatus::kPaused);
  ASSERT_TRUE(engine_->Command(Cmd("abort", "wf")).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kAborted);
  EXPECT_EQ(rec_.Count("compensate:b"), 1);  // it was attempted: may have partial effects
  EXPECT_EQ(rec_.Count("compensate:a"), 1);
}

TEST_F(EngineTest, ACompensationThatWaitsIsNotInterruptedByTheAbortItCarriesOut) {
  // A compensation that polls (e.g. for a cloud delete) checkpoints, pauses
  // and sleeps on a durable timer: none of them may return the abort request
  // it is carrying out, or an abort would pause itself forever.
  StepDefinition waits = RecordingStep("w", &rec_);
  waits.compensate = [&](StepContext& ctx, const nlohmann::json&) -> Status {
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(5)));
    KINEMA_RETURN_IF_ERROR(ctx.SleepFor("delete", std::chrono::milliseconds(5)));
    rec_.Add("compensate:w");
    return Status::OK();
  };
  StepDefinition broken = RecordingStep("b", &rec_);
  broken.retry.max_attempts = 1;
  broken.run = [](StepContext&) -> StatusOr<nlohmann::json> { return Status::Unavailable("down"); };
  Register({waits, broken});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  ASSERT_EQ(engine_->Run("wf")->status, WorkflowStatus::kPaused);
  ASSERT_TRUE(engine_->Command(Cmd("abort", "wf")).ok());  // while no controller runs it
  Reopen();
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->status, WorkflowStatus::kAborted) << v->pause_reason;
  EXPECT_EQ(rec_.Count("compensate:w"), 1);
  ExpectVerifies();
}

TEST_F(EngineTest, TerminateStopsWithoutCompensation) {
  StepDefinition stuck = RecordingStep("stuck", &rec_);
  stuck.retry.max_attempts = 1;
  stuck.run = [](StepContext&) -> StatusOr<nlohmann::json> { return Status::Unavailable("stuck"); };
  Register({RecordingStep("a", &rec_), stuck});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  ASSERT_EQ(engine_->Run("wf")->status, WorkflowStatus::kPaused);
  ASSERT_TRUE(engine_->Command(Cmd("terminate", "wf")).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kFailed);
  EXPECT_TRUE(v->terminated);
  EXPECT_EQ(rec_.Count("compensate:a"), 0);
  auto resume = engine_->Command(Cmd("resume", "wf"));
  EXPECT_FALSE(resume.ok());
  EXPECT_EQ(resume.status().code(), Status::Code::kFailedPrecondition);
}

TEST_F(EngineTest, DeterminismGuardStopsWithJournalHasXAtStepNCodeExpectsY) {
  Register({RecordingStep("drain", &rec_), RecordingStep("delete", &rec_)});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  Event intent;
  intent.kind = event_kind::kStepIntent;
  intent.step_index = 0;
  intent.step_name = "drain";
  intent.attempt = 1;
  intent.detail = {{"idempotencyKey", "wf/0/drain"}};
  Event result = intent;
  result.kind = event_kind::kStepResult;
  result.detail = {{"result", 1}};
  ASSERT_TRUE(journal_->Append("wf", {intent, result}, 1).ok());
  // A new build reordered the steps.
  Register({RecordingStep("cordon", &rec_), RecordingStep("drain", &rec_)});
  Reopen();
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kPaused);
  EXPECT_EQ(v->pause_reason, "journal has drain at step 0, code expects cordon");
  EXPECT_TRUE(rec_.calls.empty());
  // Running it again does not pile up pause events.
  ASSERT_TRUE(engine_->Command(Cmd("resume", "wf")).ok());
  ASSERT_EQ(engine_->Run("wf")->status, WorkflowStatus::kPaused);
  // With the old code back, resume continues.
  Register({RecordingStep("drain", &rec_), RecordingStep("delete", &rec_)});
  Reopen();
  ASSERT_TRUE(engine_->Command(Cmd("resume", "wf")).ok());
  v = engine_->Run("wf");
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(rec_.calls, (std::vector<std::string>{"run:delete"}));
}

TEST_F(EngineTest, DurableTimerContinuesWithItsRemainingDeadlineAfterRestart) {
  StepDefinition wait;
  wait.name = "quiet-window";
  wait.run = [](StepContext& ctx) -> StatusOr<nlohmann::json> {
    KINEMA_RETURN_IF_ERROR(ctx.SleepFor("quiet", std::chrono::milliseconds(600)));
    return nlohmann::json{{"waited", true}};
  };
  wait.reconcile = ReconcileByRerunning(wait.run);
  Register({wait});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    engine_->RequestStop();
  });
  auto v = engine_->Run("wf");
  stopper.join();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kRunning);
  ASSERT_EQ(v->timers.size(), 1u);
  int64_t deadline = v->timers.begin()->second;
  Reopen();
  v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(CountEvents("wf", event_kind::kTimerSet), 1) << "the restart must not arm a new timer";
  EXPECT_EQ(v->timers.begin()->second, deadline);
  EXPECT_GE(v->steps[0].finished_ms, deadline);
}

TEST_F(EngineTest, PauseStopsAtACheckpointAndResumeReconcilesTheInterruptedStep) {
  std::atomic<bool> started{false};
  StepDefinition slow = RecordingStep("slow", &rec_);
  slow.run = [&](StepContext& ctx) -> StatusOr<nlohmann::json> {
    rec_.Add("run:slow");
    started = true;
    while (true) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  Register({slow});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  std::thread op([&] {
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(engine_->Command(Cmd("pause", "wf")).ok());
  });
  auto v = engine_->Run("wf");
  op.join();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kPaused);
  ASSERT_TRUE(engine_->Command(Cmd("resume", "wf")).ok());
  v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(rec_.Count("reconcile:slow"), 1);
}

TEST_F(EngineTest, ALostEpochStopsJournalingAndActing) {
  StepDefinition act = RecordingStep("act", &rec_);
  act.run = [&](StepContext& ctx) -> StatusOr<nlohmann::json> {
    epochs_.Lose();  // the lease expired while the step was running
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    rec_.Add("mutated");
    return nlohmann::json{};
  };
  Register({act, RecordingStep("next", &rec_)});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  auto v = engine_->Run("wf");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(rec_.Count("mutated"), 0);
  EXPECT_EQ(CountEvents("wf", event_kind::kStepResult), 0);
  EXPECT_EQ(CountEvents("wf", event_kind::kStepFailed), 0);
  // A new leader (higher epoch) reconciles; the deposed epoch is fenced out.
  epochs_.Set(2);
  auto v2 = engine_->Run("wf");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(rec_.Count("reconcile:act"), 1);
  epochs_.Set(1);
  EXPECT_EQ(engine_->Start("t", "wf2", {}).status().code(), Status::Code::kPermissionDenied);
}

TEST_F(EngineTest, APermissionDeniedWhileLeadingIsAJournaledFailureNotFencing) {
  // A 403 from the API server (an RBAC rule missing) while this process
  // still leads: the step fails, the journal says why, the workflow can be
  // resumed once the permission is granted.
  bool granted = false;
  StepDefinition act = RecordingStep("act", &rec_);
  act.run = [&](StepContext&) -> StatusOr<nlohmann::json> {
    if (!granted) {
      return Status::PermissionDenied("list horizontalpodautoscalers.autoscaling: Forbidden (HTTP 403): forbidden");
    }
    return nlohmann::json{};
  };
  Register({act, RecordingStep("next", &rec_)});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_NE(v->status, WorkflowStatus::kRunning);
  EXPECT_NE(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(CountEvents("wf", event_kind::kStepFailed), 1);
  EXPECT_NE(v->last_error.find("HTTP 403"), std::string::npos) << v->last_error;
  granted = true;
  ASSERT_TRUE(engine_->Command(Cmd("resume", "wf")).ok());
  v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
}

TEST_F(EngineTest, UnknownWorkflowTypePausesInsteadOfCrashing) {
  Register({RecordingStep("a", &rec_)}, "old-type");
  ASSERT_TRUE(engine_->Start("old-type", "wf", {}).ok());
  Register({RecordingStep("a", &rec_)}, "new-type");
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kPaused);
  EXPECT_NE(v->pause_reason.find("unknown workflow type old-type"), std::string::npos);
}

TEST(RetryPolicy, BackoffGrowsExponentiallyWithJitterUpToTheCap) {
  RetryPolicy p;
  p.initial = std::chrono::milliseconds(100);
  p.factor = 2;
  p.cap = std::chrono::milliseconds(1000);
  p.jitter = 0.1;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 50; ++i) {
    auto d1 = p.BackoffFor(1, rng).count();
    EXPECT_GE(d1, 90);
    EXPECT_LE(d1, 110);
    auto d3 = p.BackoffFor(3, rng).count();
    EXPECT_GE(d3, 360);
    EXPECT_LE(d3, 440);
    auto d10 = p.BackoffFor(10, rng).count();
    EXPECT_LE(d10, 1100);
    EXPECT_GE(d10, 900);
  }
  EXPECT_FALSE(p.IsRetryable(Status::InvalidArgument("x")));
  EXPECT_TRUE(p.IsRetryable(Status::Unavailable("x")));
  EXPECT_FALSE(p.IsRetryable(Status::Cancelled("x")));
}

}  // namespace
}  // namespace kinema

namespace kinema {
namespace {

TEST_F(EngineTest, AStepCanFinishTheWorkflowEarlyWithAnOutcome) {
  StepDefinition decide = RecordingStep("decide", &rec_);
  decide.run = [&](StepContext&) -> StatusOr<nlohmann::json> {
    rec_.Add("run:decide");
    return nlohmann::json{{"finishWorkflow", "no_action"}, {"reason", "saving 2% below 10%"}};
  };
  Register({RecordingStep("plan", &rec_), decide, RecordingStep("boot", &rec_), RecordingStep("drain", &rec_)});
  ASSERT_TRUE(engine_->Start("t", "wf", {}).ok());
  auto v = engine_->Run("wf");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, WorkflowStatus::kCompleted);
  EXPECT_EQ(v->outcome, "no_action");
  EXPECT_EQ(v->steps[2].status, StepStatus::kSkipped);
  EXPECT_EQ(v->steps[3].status, StepStatus::kSkipped);
  EXPECT_EQ(rec_.Count("run:boot"), 0);
  auto r = JournalReader::Open(dir_.File("j.db"));
  auto list = (*r)->List({});
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].outcome, "no_action");
  ExpectVerifies();
}

}  // namespace
}  // namespace kinema
