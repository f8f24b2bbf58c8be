// Node boot: the effects (see node_boot.h for the contract).
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "engine/cloud/cloud_provider.h"
#include "engine/kube/object.h"
#include "engine/workflow/step_context.h"
#include "steps/execute/marks.h"
#include "steps/execute/node_boot.h"

namespace kinema::execute {

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

SteadyClock::time_point SteadyDeadline(int64_t deadline_unix_ms) {
  return SteadyClock::now() + std::chrono::milliseconds(std::max<int64_t>(0, deadline_unix_ms - NowMs()));
}

// One target's progress through its boot options.
struct BootState {
  BootTarget target;
  std::vector<BootOption> options;
  size_t next = 0;                 // index into options of the attempt in flight / next
  bool done = false;
  std::string zone, machine_type;  // where it was created
  cloud::Operation op;
  bool in_flight = false;
  json tried = json::array();      // {zone, machineType, error}
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

void MarkCreated(BootState* b, const std::string& zone, const std::string& machine_type) {
  b->done = true;
  b->zone = zone;
  b->machine_type = machine_type;
}

// Adopts instances an earlier run of this workflow created (by cloud label).
Status AdoptExisting(const ExecutionDeps& deps, StepContext& ctx, std::vector<BootState>* boots) {
  cloud::InstanceFilter filter;
  filter.zones = deps.settings.zones;
  filter.labels[kCloudWorkflowLabel] = IterationValue(ctx.workflow_id());
  auto existing = deps.cloud->ListInstances(filter);
  if (!existing.ok()) return existing.status().WithContext("node-boot: list instances of " + ctx.workflow_id());
  for (auto& b : *boots) {
    for (const auto& inst : *existing) {
      if (inst.name != b.target.instance_name) continue;
      MarkCreated(&b, inst.zone, inst.machine_type);
      spdlog::info("workflow {}: instance {} (planned {}) already exists in {} ({}); adopting it", ctx.workflow_id(),
                   inst.name, b.target.planned, inst.zone, inst.status);
    }
  }
  return Status::OK();
}

// Starts inserts up to the parallelism limit. A capacity error moves the
// target to its next option; no option left aborts the workflow.
Status StartInserts(const ExecutionDeps& deps, StepContext& ctx, std::vector<BootState>* boots, size_t* in_flight) {
  const size_t parallelism = static_cast<size_t>(std::max(1, deps.settings.boot_parallelism));
  for (auto& b : *boots) {
    if (*in_flight >= parallelism) break;
    if (b.done || b.in_flight) continue;
    if (b.next >= b.options.size()) {
      return ctx.AbortWorkflow("no capacity for planned node " + b.target.planned + " (" + b.target.machine_type +
                               "): tried " + b.tried.dump());
    }
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    cloud::InstanceSpec spec = SpecFor(b, ctx.workflow_id(), ctx.idempotency_key());
    auto op = deps.cloud->InsertInstance(spec);
    if (!op.ok()) {
      cloud::CloudErrorKind kind = cloud::ClassifyCloudError(op.status());
      if (kind == cloud::CloudErrorKind::kAlreadyExists) {
        MarkCreated(&b, spec.zone, spec.machine_type);
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
    ++*in_flight;
  }
  return Status::OK();
}

// Waits for the operations in flight; a capacity failure inside an
// operation moves the target to its next option.
Status AwaitOperations(const ExecutionDeps& deps, StepContext& ctx, std::vector<BootState>* boots,
                       SteadyClock::time_point deadline) {
  for (auto& b : *boots) {
    if (!b.in_flight) continue;
    KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
    auto op = deps.cloud->WaitOperation(b.op, deadline);
    if (!op.ok()) {
      if (op.status().code() == Status::Code::kDeadlineExceeded || SteadyClock::now() >= deadline) {
        return ctx.AbortWorkflow("boot of " + b.target.instance_name + " did not finish within " +
                                 FormatDuration(deps.settings.boot_timeout));
      }
      return op.status().WithContext("node-boot: wait for " + b.target.instance_name);
    }
    b.in_flight = false;
    const BootOption& o = b.options[b.next];
    cloud::CloudErrorKind kind = cloud::ClassifyCloudError(op->error);
    if (op->error.ok() || kind == cloud::CloudErrorKind::kAlreadyExists) {
      MarkCreated(&b, o.zone, o.machine_type);
    } else if (cloud::IsCapacityError(kind)) {
      b.tried.push_back({{"zone", o.zone}, {"machineType", o.machine_type}, {"error", op->error.message()}});
      spdlog::warn("workflow {}: boot {} in {} as {} failed: {}; trying the next option", ctx.workflow_id(),
                   b.target.instance_name, o.zone, o.machine_type, op->error.message());
      ++b.next;
    } else {
      return op->error.WithContext("node-boot: operation " + op->name + " for " + b.target.instance_name);
    }
  }
  return Status::OK();
}

void AnnounceBooted(const ExecutionDeps& deps, StepContext& ctx, const json& node, const BootState& b) {
  auto price = deps.catalog ? deps.catalog->Price(b.machine_type, b.target.capacity == "spot" ? CapacityType::kSpot
                                                                                             : CapacityType::kOnDemand)
                            : std::nullopt;
  AnnounceEvent(deps.kube, node, "Normal", "KinemaNodeBooted",
                "booted by " + ctx.workflow_id() + " as " + b.machine_type + " (" + b.target.capacity + ") in " +
                    b.zone + " for planned node " + b.target.planned +
                    (price ? ", " + std::to_string(*price) + " $/h" : std::string()));
}

// Waits until every booted Node has registered and is Ready.
Status AwaitNodesReady(const ExecutionDeps& deps, StepContext& ctx, const std::vector<BootState>& boots,
                       SteadyClock::time_point deadline) {
  std::map<std::string, const BootState*> waiting;
  for (const auto& b : boots) waiting[b.target.instance_name] = &b;
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
    KINEMA_RETURN_IF_ERROR(ctx.Pause(std::chrono::milliseconds(1000)));
  }
  return Status::OK();
}

StatusOr<json> BootNodes(const ExecutionDeps& deps, const BootInput& input, StepContext& ctx) {
  auto request = input(ctx);
  if (!request.ok()) return request.status();
  if (request->targets.empty()) return BootResult{{}, "no node to boot"}.ToJson();
  if (!deps.cloud) return Status::FailedPrecondition("node-boot: nodes to boot but no cloud provider is configured");

  auto deadline_ms = ctx.DeadlineFor("boot", deps.settings.boot_timeout);
  if (!deadline_ms.ok()) return deadline_ms.status();
  const SteadyClock::time_point deadline = SteadyDeadline(*deadline_ms);

  std::vector<BootState> boots;
  for (const auto& t : request->targets) {
    BootState b;
    b.target = t;
    b.options = deps.catalog ? BootOptionsFor(*deps.catalog, t, deps.settings.zones)
                             : std::vector<BootOption>{{t.zone, t.machine_type}};
    boots.push_back(std::move(b));
  }
  KINEMA_RETURN_IF_ERROR(AdoptExisting(deps, ctx, &boots));
  for (;;) {
    size_t in_flight = 0;
    for (const auto& b : boots) in_flight += b.in_flight ? 1 : 0;
    KINEMA_RETURN_IF_ERROR(StartInserts(deps, ctx, &boots, &in_flight));
    if (in_flight == 0) {
      bool all_done = std::all_of(boots.begin(), boots.end(), [](const BootState& b) { return b.done; });
      if (all_done) break;
      continue;  // targets moved to their next option; start those inserts
    }
    KINEMA_RETURN_IF_ERROR(AwaitOperations(deps, ctx, &boots, deadline));
  }
  KINEMA_RETURN_IF_ERROR(AwaitNodesReady(deps, ctx, boots, deadline));

  BootResult result;
  for (const auto& b : boots) {
    result.booted.push_back({b.target.planned, b.target.instance_name, b.zone, b.machine_type, b.target.capacity,
                             b.target.zone, b.target.machine_type, b.tried});
  }
  return result.ToJson();
}

// Deletes this workflow's instances and Nodes that host nothing but
// DaemonSet pods. Idempotent: gone is done.
Status DeleteBootedNodes(const ExecutionDeps& deps, StepContext& ctx) {
  if (!deps.cloud) return Status::OK();
  cloud::InstanceFilter filter;
  filter.zones = deps.settings.zones;
  filter.labels[kCloudWorkflowLabel] = IterationValue(ctx.workflow_id());
  auto instances = deps.cloud->ListInstances(filter);
  if (!instances.ok()) return instances.status().WithContext("compensate node-boot: list instances");
  auto deadline = SteadyClock::now() + deps.settings.boot_timeout;
  for (const auto& inst : *instances) {
    kube::ListOptions lo;
    lo.field_selector = "spec.nodeName=" + inst.name;
    auto pods = deps.kube->List(kube::resources::kPods, "", lo);
    if (!pods.ok()) return pods.status().WithContext("compensate node-boot: pods on " + inst.name);
    std::string busy;
    for (const auto& p : pods->items) {
      if (!kube::pod::IsDaemonSetPod(p) && !kube::pod::IsFinished(p)) busy = kube::obj::Key(p);
    }
    if (!busy.empty()) {
      spdlog::warn("workflow {}: keeping booted node {}: it hosts pod {}", ctx.workflow_id(), inst.name, busy);
      continue;
    }
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    Status ds = deps.kube->Delete(kube::resources::kNodes, "", inst.name);
    if (!ds.ok() && ds.code() != Status::Code::kNotFound) {
      return ds.WithContext("compensate node-boot: delete node " + inst.name);
    }
    KINEMA_RETURN_IF_ERROR(cloud::EnsureInstanceDeleted(*deps.cloud, inst.zone, inst.name,
                                                        ctx.idempotency_key() + "/compensate/" + inst.name, deadline)
                               .WithContext("compensate node-boot: delete instance " + inst.name));
    spdlog::info("workflow {}: compensation deleted booted node {} ({})", ctx.workflow_id(), inst.name, inst.zone);
  }
  return Status::OK();
}

}  // namespace

StepDefinition MakeNodeBootStep(const ExecutionDeps& deps, BootInput input) {
  StepDefinition s;
  s.name = kNodeBootStep;
  s.retry.max_attempts = 5;
  s.intent_input = [input](StepContext& ctx) -> json {
    auto request = input(ctx);
    return request.ok() ? request->ToJson() : json{{"error", request.status().ToString()}};
  };
  s.run = [deps, input](StepContext& ctx) { return BootNodes(deps, input, ctx); };
  s.reconcile = [deps, input](StepContext& ctx) {
    spdlog::info("workflow {}: node-boot was interrupted; adopting instances already created", ctx.workflow_id());
    return BootNodes(deps, input, ctx);
  };
  s.compensate = [deps](StepContext& ctx, const json&) { return DeleteBootedNodes(deps, ctx); };
  return s;
}

}  // namespace kinema::execute
