// Step 4: node boot — the plan's new nodes, through the CloudProvider.
//
// Intent input: the boot targets (planned name → instance name, type, zone).
// Effect: for each target, insert the instance (at most boot.parallelism
// inserts in flight) and wait for its operation; then wait until every Node
// has registered and is Ready, within boot.timeout (a durable deadline: a
// restart does not extend it).
// Idempotency: instance names derive from the workflow id and the planned
// name, and every insert carries a request id derived from the step's
// idempotency key, the zone and the type: a retried or resumed boot finds
// the instance (alreadyExists = done) instead of creating a second one.
// Capacity: a quota or stockout error moves the target to its next option
// (same type in another zone, then a larger type: BootOptionsFor); when no
// option is left, or the deadline passes, the step aborts the workflow —
// the compensation deletes what this iteration booted.
// Reconcile: the same procedure; it first lists the instances labelled with
// this workflow, so instances an earlier run created are adopted.
// Compensation: deletes this workflow's instances (found by cloud label) and
// their Nodes, unless a Node hosts pods other than DaemonSet pods.
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "engine/cloud/cloud_provider.h"
#include "engine/workflow/step_context.h"
#include "steps/rescheduling/execution.h"
#include "steps/rescheduling/events.h"
#include "steps/rescheduling/rescheduling_workflow.h"

namespace kinema::rescheduling {

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

SteadyClock::time_point SteadyDeadline(int64_t deadline_unix_ms) {
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return SteadyClock::now() + std::chrono::milliseconds(std::max<int64_t>(0, deadline_unix_ms - now_ms));
}

json TargetsJson(const std::vector<BootTarget>& targets) {
  json a = json::array();
  for (const auto& t : targets) {
    a.push_back({{"planned", t.planned}, {"instance", t.instance_name}, {"machineType", t.machine_type},
                 {"zone", t.zone}, {"capacityType", t.capacity}});
  }
  return a;
}

struct BootState {
  BootTarget target;
  std::vector<BootOption> options;
  size_t next = 0;             // index into options of the attempt in flight / next
  bool done = false;
  std::string zone, machine_type;  // where it was created
  cloud::Operation op;
  bool in_flight = false;
  json tried = json::array();  // {zone, machineType, error}
};

cloud::InstanceSpec SpecFor(const BootState& b, const std::string& workflow_id, const std::string& step_key) {
  const BootOption& o = b.options[b.next];
  cloud::InstanceSpec spec;
  spec.name = b.target.instance_name;
  spec.zone = o.zone;
  spec.machine_type = o.machine_type;
  spec.capacity = b.target.capacity == "spot" ? CapacityType::kSpot : CapacityType::kOnDemand;
  spec.labels[kCloudWorkflowLabel] = IterationValue(workflow_id);
  spec.labels[kCloudPlannedLabel] = IterationValue(b.target.planned);
  spec.idempotency_key = step_key + "/" + b.target.planned + "/" + o.zone + "/" + o.machine_type;
  return spec;
}

StatusOr<json> BootNodes(const ReschedulingDeps& deps, StepContext& ctx) {
  const json& opt = ctx.ResultOf("optimization");
  if (!opt.is_object() || !opt.contains("plan")) {
    return Status::FailedPrecondition("node-boot: the optimization step left no plan in the journal");
  }
  std::vector<BootTarget> targets = BootTargetsOf(opt["plan"], ctx.workflow_id(), deps.config.cloud.instance_prefix);
  if (targets.empty()) return json{{"booted", json::array()}, {"reason", "the plan boots no node"}};
  if (!deps.cloud) return Status::FailedPrecondition("node-boot: the plan boots nodes but no cloud provider is configured");

  auto deadline_ms = ctx.DeadlineFor("boot", deps.config.boot.timeout);
  if (!deadline_ms.ok()) return deadline_ms.status();
  const SteadyClock::time_point deadline = SteadyDeadline(*deadline_ms);

  std::vector<BootState> boots;
  for (const auto& t : targets) {
    BootState b;
    b.target = t;
    b.options = BootOptionsFor(*deps.catalog, t, deps.config.cloud.zones);
    boots.push_back(std::move(b));
  }

  // Adopt instances an earlier run created (listed by this workflow's label).
  cloud::InstanceFilter filter;
  filter.zones = deps.config.cloud.zones;
  filter.labels[kCloudWorkflowLabel] = IterationValue(ctx.workflow_id());
  auto existing = deps.cloud->ListInstances(filter);
  if (!existing.ok()) return existing.status().WithContext("node-boot: list instances of " + ctx.workflow_id());
  for (auto& b : boots) {
    for (const auto& inst : *existing) {
      if (inst.name != b.target.instance_name) continue;
      b.done = true;
      b.zone = inst.zone;
      b.machine_type = inst.machine_type;
      spdlog::info("workflow {}: instance {} (planned {}) already exists in {} ({}); adopting it", ctx.workflow_id(),
                   inst.name, b.target.planned, inst.zone, inst.status);
    }
  }

  const std::string step_key = ctx.idempotency_key();
  const size_t parallelism = static_cast<size_t>(std::max(1, deps.config.boot.parallelism));
  for (;;) {
    // Start inserts up to the parallelism limit.
    size_t in_flight = 0;
    for (const auto& b : boots) in_flight += b.in_flight ? 1 : 0;
    for (auto& b : boots) {
      if (in_flight >= parallelism) break;
      if (b.done || b.in_flight) continue;
      if (b.next >= b.options.size()) {
        return ctx.AbortWorkflow("no capacity for planned node " + b.target.planned + " (" + b.target.machine_type +
                                 "): tried " + b.tried.dump());
      }
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      cloud::InstanceSpec spec = SpecFor(b, ctx.workflow_id(), step_key);
      auto op = deps.cloud->InsertInstance(spec);
      if (!op.ok()) {
        cloud::CloudErrorKind kind = cloud::ClassifyCloudError(op.status());
        if (kind == cloud::CloudErrorKind::kAlreadyExists) {
          b.done = true;
          b.zone = spec.zone;
          b.machine_type = spec.machine_type;
          continue;
        }
        if (cloud::IsCapacityError(kind)) {
          b.tried.push_back({{"zone", spec.zone}, {"machineType", spec.machine_type}, {"error", op.status().message()}});
          spdlog::warn("workflow {}: boot {} in {} as {}: {}; trying the next option", ctx.workflow_id(), spec.name,
                       spec.zone, spec.machine_type, op.status().message());
          ++b.next;
          continue;
        }
        return op.status().WithContext("node-boot: insert instance " + spec.name + " in " + spec.zone);
      }
      spdlog::info("workflow {}: booting {} (planned {}) in {} as {} ({}), operation {}", ctx.workflow_id(), spec.name,
                   b.target.planned, spec.zone, spec.machine_type, b.target.capacity, op->name);
      b.op = *op;
      b.in_flight = true;
      ++in_flight;
    }
    if (in_flight == 0) {
      bool all_done = true;
      for (const auto& b : boots) all_done = all_done && b.done;
      if (all_done) break;
      continue;  // targets moved to their next option; start those inserts
    }
    // Wait for the operations in flight (they progress in the cloud at once).
    for (auto& b : boots) {
      if (!b.in_flight) continue;
      KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
      auto op = deps.cloud->WaitOperation(b.op, deadline);
      if (!op.ok()) {
        if (op.status().code() == Status::Code::kDeadlineExceeded || SteadyClock::now() >= deadline) {
          return ctx.AbortWorkflow("boot of " + b.target.instance_name + " did not finish within " +
                                   FormatDuration(deps.config.boot.timeout));
        }
        return op.status().WithContext("node-boot: wait for " + b.target.instance_name);
      }
      b.in_flight = false;
      const BootOption& o = b.options[b.next];
      cloud::CloudErrorKind kind = cloud::ClassifyCloudError(op->error);
      if (op->error.ok() || kind == cloud::CloudErrorKind::kAlreadyExists) {
        b.done = true;
        b.zone = o.zone;
        b.machine_type = o.machine_type;
      } else if (cloud::IsCapacityError(kind)) {
        b.tried.push_back({{"zone", o.zone}, {"machineType", o.machine_type}, {"error", op->error.message()}});
        spdlog::warn("workflow {}: boot {} in {} as {} failed: {}; trying the next option", ctx.workflow_id(),
                     b.target.instance_name, o.zone, o.machine_type, op->error.message());
        ++b.next;
      } else {
        return op->error.WithContext("node-boot: operation " + op->name + " for " + b.target.instance_name);
      }
    }
  }

  // Wait for every Node to register and be Ready.
  std::map<std::string, bool> ready;
  for (const auto& b : boots) ready[b.target.instance_name] = false;
  for (;;) {
    size_t missing = 0;
    std::string waiting_for;
    for (auto& [name, is_ready] : ready) {
      if (is_ready) continue;
      auto node = deps.kube->Get(kube::resources::kNodes, "", name);
      if (node.ok() && NodeIsReady(*node)) {
        is_ready = true;
        spdlog::info("workflow {}: node {} registered and Ready", ctx.workflow_id(), name);
        for (const auto& b : boots) {
          if (b.target.instance_name != name) continue;
          auto price = deps.catalog->Price(b.machine_type, b.target.capacity == "spot" ? CapacityType::kSpot
                                                                                       : CapacityType::kOnDemand);
          AnnounceEvent(deps, *node, "Normal", "KinemaNodeBooted",
                        "booted by " + ctx.workflow_id() + " as " + b.machine_type + " (" + b.target.capacity +
                            ") in " + b.zone + " for planned node " + b.target.planned +
                            (price ? ", " + std::to_string(*price) + " $/h" : std::string()));
        }
        continue;
      }
      if (!node.ok() && node.status().code() != Status::Code::kNotFound) {
        return node.status().WithContext("node-boot: get node " + name);
      }
      ++missing;
      waiting_for = name + (node.ok() ? " (registered, not Ready)" : " (not registered)");
    }
    if (missing == 0) break;
    if (SteadyClock::now() >= deadline) {
      return ctx.AbortWorkflow(std::to_string(missing) + " booted node(s) not Ready within " +
                               FormatDuration(deps.config.boot.timeout) + ", e.g. " + waiting_for);
    }
    KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
  }

  json booted = json::array();
  for (const auto& b : boots) {
    booted.push_back({{"planned", b.target.planned}, {"node", b.target.instance_name}, {"zone", b.zone},
                      {"machineType", b.machine_type}, {"capacityType", b.target.capacity},
                      {"plannedZone", b.target.zone}, {"plannedMachineType", b.target.machine_type},
                      {"tried", b.tried}});
  }
  return json{{"booted", booted}};
}

// Deletes this workflow's instances and Nodes that host nothing but
// DaemonSet pods. Idempotent: gone is done.
Status DeleteBootedNodes(const ReschedulingDeps& deps, StepContext& ctx) {
  if (!deps.cloud) return Status::OK();
  cloud::InstanceFilter filter;
  filter.zones = deps.config.cloud.zones;
  filter.labels[kCloudWorkflowLabel] = IterationValue(ctx.workflow_id());
  auto instances = deps.cloud->ListInstances(filter);
  if (!instances.ok()) return instances.status().WithContext("compensate node-boot: list instances");
  auto deadline = SteadyClock::now() + deps.config.boot.timeout;
  for (const auto& inst : *instances) {
    kube::ListOptions lo;
    lo.field_selector = "spec.nodeName=" + inst.name;
    auto pods = deps.kube->List(kube::resources::kPods, "", lo);
    if (!pods.ok()) return pods.status().WithContext("compensate node-boot: pods on " + inst.name);
    std::string busy;
    for (const auto& p : pods->items) {
      if (!IsDaemonSetPod(p) && !IsPodFinished(p)) busy = p["metadata"].value("namespace", "") + "/" + p["metadata"].value("name", "");
    }
    if (!busy.empty()) {
      spdlog::warn("workflow {}: keeping booted node {}: it hosts pod {}", ctx.workflow_id(), inst.name, busy);
      continue;
    }
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    Status ds = deps.kube->Delete(kube::resources::kNodes, "", inst.name);
    if (!ds.ok() && ds.code() != Status::Code::kNotFound) return ds.WithContext("compensate node-boot: delete node " + inst.name);
    KINEMA_RETURN_IF_ERROR(cloud::EnsureInstanceDeleted(*deps.cloud, inst.zone, inst.name,
                                                        ctx.idempotency_key() + "/compensate/" + inst.name, deadline)
                               .WithContext("compensate node-boot: delete instance " + inst.name));
    spdlog::info("workflow {}: compensation deleted booted node {} ({})", ctx.workflow_id(), inst.name, inst.zone);
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeNodeBootStep(const ReschedulingDeps& deps) {
  StepDefinition s;
  s.name = "node-boot";
  s.retry.max_attempts = 5;
  s.intent_input = [deps](StepContext& ctx) -> json {
    const json& opt = ctx.ResultOf("optimization");
    if (!opt.is_object() || !opt.contains("plan")) return json::object();
    return json{{"targets", TargetsJson(BootTargetsOf(opt["plan"], ctx.workflow_id(), deps.config.cloud.instance_prefix))}};
  };
  s.run = [deps](StepContext& ctx) { return BootNodes(deps, ctx); };
  s.reconcile = [deps](StepContext& ctx) {
    spdlog::info("workflow {}: node-boot was interrupted; adopting instances already created", ctx.workflow_id());
    return BootNodes(deps, ctx);
  };
  s.compensate = [deps](StepContext& ctx, const json&) { return DeleteBootedNodes(deps, ctx); };
  return s;
}

}  // namespace kinema::rescheduling
