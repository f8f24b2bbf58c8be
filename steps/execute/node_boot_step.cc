// Node boot: the effects (see node_boot.h for the contract).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "engine/cloud/cloud_provider.h"
#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "steps/execute/marks.h"
#include "steps/execute/node_boot.h"
#include "steps/execute/node_retirement.h"

namespace kinema::execute {

namespace {

using nlohmann::json;
using cloud::CloudErrorKind;
using cloud::NodeState;
using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kPoll{1000};

// One target's progress through its attempts.
struct BootState {
  const BootTarget* target = nullptr;
  const std::vector<BootAttempt>* attempts = nullptr;
  size_t next = 0;              // the attempt in flight, or the next one
  bool done = false;
  cloud::NodeStatus status;     // the last LaunchNode answer for attempts[next]
  json tried = json::array();   // {zone, machineType, key, error} attempts that failed first
  const BootAttempt& current() const { return (*attempts)[next]; }
};

bool IsTransient(CloudErrorKind k) { return k == CloudErrorKind::kUnavailable || k == CloudErrorKind::kRateLimited; }

// Every target's attempts, in order (BootAttemptsFor).
BootIntent DeriveIntent(const ExecutionDeps& deps, StepContext& ctx, const BootRequest& request) {
  BootIntent intent;
  intent.targets = request.targets;
  for (const auto& t : request.targets) {
    intent.attempts.push_back(BootAttemptsFor(deps.catalog, t, deps.settings.zones, ctx.idempotency_key(),
                                              ctx.workflow_id(), deps.settings.instance_prefix, deps.cloud));
  }
  return intent;
}

// The step's intent: recorded by intent_input before the first cloud call
// (first facts win); an older journal without attempts gets them derived
// again from the request (same keys: they depend on the step key only).
StatusOr<BootIntent> IntentOf(const ExecutionDeps& deps, StepContext& ctx, const BootRequest& request) {
  const json& recorded = ctx.IntentInput();
  if (recorded.is_object() && recorded.contains("attempts")) {
    auto intent = BootIntent::FromJson(recorded);
    if (!intent.ok()) return intent.status().WithContext("node-boot: journaled intent");
    return intent;
  }
  return DeriveIntent(deps, ctx, request);
}

void RecordTried(BootState* b, const std::string& error) {
  const auto& a = b->current();
  b->tried.push_back({{"zone", a.spec.zone}, {"machineType", a.spec.machine_type}, {"key", a.spec.key},
                      {"error", error}});
}

// After a restart or a failed attempt: where each target stands. The first
// attempt with a node being created or running is resumed; the ones before
// it count as tried. Otherwise the walk starts again from the first (a
// spent attempt fails at once and is passed).
Status Resume(const ExecutionDeps& deps, StepContext& ctx, std::vector<BootState>* boots) {
  for (auto& b : *boots) {
    for (size_t i = 0; i < b.attempts->size(); ++i) {
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      auto st = deps.cloud->DescribeNode((*b.attempts)[i].spec);
      if (!st.ok()) return st.status().WithContext("node-boot: describe " + (*b.attempts)[i].spec.key);
      if (st->state != NodeState::kCreating && st->state != NodeState::kRunning) continue;
      for (size_t k = 0; k < i; ++k) {
        b.next = k;
        RecordTried(&b, "passed when resuming: a later attempt's node exists");
      }
      b.next = i;
      b.status = *st;  // it exists: never skipped as an unavailable offering
      spdlog::info("workflow {}: node-boot resumes planned node {} at attempt {} ({} in {}): {}", ctx.workflow_id(),
                   b.target->planned, (*b.attempts)[i].spec.key, (*b.attempts)[i].spec.machine_type,
                   (*b.attempts)[i].spec.zone, st->detail);
      break;
    }
  }
  return Status::OK();
}

// The offering of the target's current attempt failed recently (the
// provider's memory): skip it without a call.
std::string UnavailableReason(const ExecutionDeps& deps, const BootAttempt& a) {
  for (const auto& u : deps.cloud->UnavailableOfferings()) {
    if (u.machine_type == a.spec.machine_type && u.zone == a.spec.zone && u.capacity == a.spec.capacity) {
      return "offering unavailable: " + u.reason;
    }
  }
  return "";
}

// One LaunchNode call for `b`'s current attempt, and what it means. Moves
// to the next attempt on a capacity-like failure; aborts the workflow when
// none is left.
Status Step(const ExecutionDeps& deps, StepContext& ctx, BootState* b, bool skip_unavailable) {
  if (b->next >= b->attempts->size()) {
    return ctx.AbortWorkflow("no capacity for planned node " + b->target->planned + " (" + b->target->machine_type +
                             "): tried " + b->tried.dump());
  }
  const BootAttempt& a = b->current();
  if (skip_unavailable && b->status.state == NodeState::kAbsent && b->status.instance_name.empty()) {
    std::string why = UnavailableReason(deps, a);
    if (!why.empty()) {
      spdlog::warn("workflow {}: boot of planned node {}: skipping {} in {} ({}); {}", ctx.workflow_id(),
                   b->target->planned, a.spec.machine_type, a.spec.zone, CapacityTypeName(a.spec.capacity), why);
      RecordTried(b, why);
      ++b->next;
      b->status = {};
      return Status::OK();
    }
  }
  KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
  KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
  ctx.Hook("before_launch_node");
  auto st = deps.cloud->LaunchNode(a.spec);
  ctx.Hook("after_launch_node");
  if (!st.ok()) {
    if (IsTransient(cloud::ClassifyCloudError(st.status()))) {
      spdlog::warn("workflow {}: launch {}: {}; calling again", ctx.workflow_id(), a.spec.key, st.status().ToString());
      b->status.state = NodeState::kCreating;
      return Status::OK();
    }
    return st.status().WithContext("node-boot: launch node for " + b->target->planned);
  }
  if (st->state != b->status.state || st->detail != b->status.detail) {
    spdlog::info("workflow {}: planned node {} ({} {} in {}{}): {} — {}", ctx.workflow_id(), b->target->planned,
                 a.spec.machine_type, CapacityTypeName(a.spec.capacity), a.spec.zone,
                 a.pool.empty() ? "" : ", pool " + a.pool, cloud::NodeStateName(st->state), st->detail);
  }
  b->status = *st;
  switch (st->state) {
    case NodeState::kRunning: b->done = true; return Status::OK();
    case NodeState::kFailed: {
      CloudErrorKind kind = cloud::ClassifyCloudError(st->error);
      if (!cloud::ShouldTryAnotherOffering(kind)) {
        return st->error.WithContext("node-boot: planned node " + b->target->planned + " as " + a.spec.machine_type +
                                     " in " + a.spec.zone);
      }
      spdlog::warn("workflow {}: boot of planned node {} as {} in {} failed ({}): {}; trying the next option",
                   ctx.workflow_id(), b->target->planned, a.spec.machine_type, a.spec.zone,
                   cloud::CloudErrorKindName(kind), st->detail);
      RecordTried(b, st->detail.empty() ? st->error.message() : st->detail);
      ++b->next;
      b->status = {};
      return Status::OK();
    }
    default: return Status::OK();  // kPreparing, kCreating, kDeleting, kAbsent: call again
  }
}

// Launches every target until its node runs (at most boot_parallelism
// targets launching at once), within the durable deadline.
Status LaunchAll(const ExecutionDeps& deps, StepContext& ctx, std::vector<BootState>* boots,
                 SteadyClock::time_point deadline) {
  const size_t parallelism = static_cast<size_t>(std::max(1, deps.settings.boot_parallelism));
  for (;;) {
    size_t launching = 0, waiting = 0;
    for (auto& b : *boots) {
      if (b.done) continue;
      ++waiting;
      if (launching >= parallelism) continue;
      ++launching;
      const size_t before = b.next;
      KINEMA_RETURN_IF_ERROR(Step(deps, ctx, &b, /*skip_unavailable=*/true));
      // A fallback is tried at once, not after the pause.
      while (!b.done && b.next != before && b.next <= b.attempts->size() && b.status.state == NodeState::kAbsent) {
        const size_t moved = b.next;
        KINEMA_RETURN_IF_ERROR(Step(deps, ctx, &b, true));
        if (b.next == moved) break;
      }
    }
    if (waiting == 0) return Status::OK();
    bool all_done = std::all_of(boots->begin(), boots->end(), [](const BootState& b) { return b.done; });
    if (all_done) return Status::OK();
    if (SteadyClock::now() >= deadline) {
      std::string example;
      for (const auto& b : *boots) {
        if (!b.done) example = b.target->planned + " (" + b.status.detail + ")";
      }
      return ctx.AbortWorkflow("node boot did not finish within " + FormatDuration(deps.settings.boot_timeout) +
                               ", e.g. " + example);
    }
    KINEMA_RETURN_IF_ERROR(ctx.Pause(kPoll));
  }
}

void AnnounceBooted(const ExecutionDeps& deps, StepContext& ctx, const json& node, const BootState& b) {
  const BootAttempt& a = b.current();
  auto price = deps.catalog ? deps.catalog->Price(a.spec.machine_type, a.spec.capacity) : std::nullopt;
  AnnounceEvent(deps.kube, node, "Normal", "KinemaNodeBooted",
                "booted by " + ctx.workflow_id() + " as " + a.spec.machine_type + " (" + b.target->capacity +
                    ") in " + a.spec.zone + (a.pool.empty() ? "" : " (node pool " + b.status.group + ")") +
                    " for planned node " + b.target->planned +
                    (price ? ", " + std::to_string(*price) + " $/h" : std::string()));
}

// Waits until every booted Node has registered and is Ready.
Status AwaitNodesReady(const ExecutionDeps& deps, StepContext& ctx, const std::vector<BootState>& boots,
                       SteadyClock::time_point deadline) {
  std::map<std::string, const BootState*> waiting;
  for (const auto& b : boots) waiting[b.status.instance_name] = &b;
  while (!waiting.empty()) {
    std::string example;
    for (auto it = waiting.begin(); it != waiting.end();) {
      auto node = deps.kube->Get(kube::resources::kNodes, "", it->first);
      if (node.ok() && kube::node::IsReady(*node)) {
        spdlog::info("workflow {}: node {} registered and Ready", ctx.workflow_id(), it->first);
        AnnounceBooted(deps, ctx, *node, *it->second);
        it = waiting.erase(it);
        continue;
      }
      if (!node.ok() && node.status().code() != Status::Code::kNotFound) {
        return node.status().WithContext("node-boot: get node " + it->first);
      }
      example = it->first + (node.ok() ? " (registered, not Ready)" : " (not registered)");
      ++it;
    }
    if (waiting.empty()) break;
    if (SteadyClock::now() >= deadline) {
      return ctx.AbortWorkflow(std::to_string(waiting.size()) + " booted node(s) not Ready within " +
                               FormatDuration(deps.settings.boot_timeout) + ", e.g. " + example);
    }
    KINEMA_RETURN_IF_ERROR(ctx.Pause(kPoll));
  }
  return Status::OK();
}

StatusOr<json> BootNodes(const ExecutionDeps& deps, const BootInput& input, StepContext& ctx) {
  auto request = input(ctx);
  if (!request.ok()) return request.status();
  if (request->targets.empty()) return BootResult{{}, "no node to boot"}.ToJson();
  if (!deps.cloud) return Status::FailedPrecondition("node-boot: nodes to boot but no cloud provider is configured");
  auto intent = IntentOf(deps, ctx, *request);
  if (!intent.ok()) return intent.status();

  auto deadline_ms = ctx.DeadlineFor("boot", deps.settings.boot_timeout);
  if (!deadline_ms.ok()) return deadline_ms.status();
  const SteadyClock::time_point deadline =
      SteadyClock::now() + std::chrono::milliseconds(std::max<int64_t>(0, *deadline_ms - NowMs()));

  std::vector<BootState> boots(intent->targets.size());
  for (size_t i = 0; i < boots.size(); ++i) {
    boots[i].target = &intent->targets[i];
    boots[i].attempts = &intent->attempts[i];
  }
  if (ctx.reconciling() || ctx.attempt() > 1) KINEMA_RETURN_IF_ERROR(Resume(deps, ctx, &boots));
  KINEMA_RETURN_IF_ERROR(LaunchAll(deps, ctx, &boots, deadline));
  KINEMA_RETURN_IF_ERROR(AwaitNodesReady(deps, ctx, boots, deadline));

  BootResult result;
  for (const auto& b : boots) {
    const BootAttempt& a = b.current();
    BootedNode n;
    n.planned = b.target->planned;
    n.node = b.status.instance_name;
    n.zone = a.spec.zone;
    n.machine_type = a.spec.machine_type;
    n.capacity = b.target->capacity;
    n.planned_zone = b.target->zone;
    n.planned_machine_type = b.target->machine_type;
    n.tried = b.tried;
    n.pool = b.status.group;
    n.provider_id = b.status.provider_id;
    result.booted.push_back(std::move(n));
  }
  return result.ToJson();
}

// Whether the Node `name` hosts pods other than DaemonSet and finished ones
// (then it is kept); "" when it hosts none.
StatusOr<std::string> BusyPodOn(const ExecutionDeps& deps, const std::string& name) {
  kube::ListOptions lo;
  lo.field_selector = "spec.nodeName=" + name;
  auto pods = deps.kube->List(kube::resources::kPods, "", lo);
  if (!pods.ok()) return pods.status().WithContext("compensate node-boot: pods on " + name);
  for (const auto& p : pods->items) {
    if (!kube::pod::IsDaemonSetPod(p) && !kube::pod::IsFinished(p)) return kube::obj::Key(p);
  }
  return std::string();
}

// Retires whatever any attempt of this workflow's intent created (found with
// DescribeNode, so group members are found too) with its Node, unless the
// Node hosts pods other than DaemonSet pods. Idempotent: gone is done.
Status DeleteBootedNodes(const ExecutionDeps& deps, StepContext& ctx) {
  if (!deps.cloud) return Status::OK();
  const json& recorded = ctx.IntentInput();
  if (!recorded.is_object() || !recorded.contains("attempts")) return Status::OK();  // nothing was launched
  auto intent = BootIntent::FromJson(recorded);
  if (!intent.ok()) return intent.status().WithContext("compensate node-boot: journaled intent");
  for (const auto& attempts : intent->attempts) {
    for (const auto& a : attempts) {
      auto st = deps.cloud->DescribeNode(a.spec);
      if (!st.ok()) return st.status().WithContext("compensate node-boot: describe " + a.spec.key);
      if (st->state == NodeState::kAbsent || st->instance_name.empty()) continue;
      const std::string& name = st->instance_name;
      auto busy = BusyPodOn(deps, name);
      if (!busy.ok()) return busy.status();
      if (!busy->empty()) {
        spdlog::warn("workflow {}: keeping booted node {}: it hosts pod {}", ctx.workflow_id(), name, *busy);
        continue;
      }
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      Status ds = deps.kube->Delete(kube::resources::kNodes, "", name);
      if (!ds.ok() && ds.code() != Status::Code::kNotFound) {
        return ds.WithContext("compensate node-boot: delete node " + name);
      }
      cloud::NodeRef ref{st->zone.empty() ? a.spec.zone : st->zone, name, st->group};
      KINEMA_RETURN_IF_ERROR(RetireCloudNode(deps, ctx, ref, ctx.idempotency_key() + "/compensate/" + name,
                                             deps.settings.boot_timeout)
                                 .WithContext("compensate node-boot"));
      spdlog::info("workflow {}: compensation retired booted node {} ({}{})", ctx.workflow_id(), name, ref.zone,
                   ref.group.empty() ? "" : ", pool " + ref.group);
    }
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeNodeBootStep(const ExecutionDeps& deps, BootInput input) {
  StepDefinition s;
  s.name = kNodeBootStep;
  s.retry.max_attempts = 5;
  s.intent_input = [deps, input](StepContext& ctx) -> json {
    // First facts win: the attempts (keys, zones, types, pools) recorded
    // before the first cloud call stay the ones every retry and restart use.
    const json& earlier = ctx.IntentInput();
    if (earlier.is_object() && earlier.contains("attempts")) return earlier;
    auto request = input(ctx);
    if (!request.ok()) return json{{"error", request.status().ToString()}};
    return DeriveIntent(deps, ctx, *request).ToJson();
  };
  s.run = [deps, input](StepContext& ctx) { return BootNodes(deps, input, ctx); };
  s.reconcile = [deps, input](StepContext& ctx) {
    spdlog::info("workflow {}: node-boot was interrupted; finding the nodes its attempts created", ctx.workflow_id());
    return BootNodes(deps, input, ctx);
  };
  s.compensate = [deps](StepContext& ctx, const json&) { return DeleteBootedNodes(deps, ctx); };
  return s;
}

}  // namespace kinema::execute
