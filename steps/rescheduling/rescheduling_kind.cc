#include "steps/rescheduling/rescheduling_kind.h"

#include "engine/common/safe_json.h"
#include "engine/snapshot/cluster_snapshot.h"
#include "engine/workflow/typed_result.h"
#include "steps/execute/execution_permissions.h"
#include "steps/execute/node_boot.h"
#include "steps/execute/node_retirement.h"
#include "steps/execute/workload_move.h"
#include "steps/optimize/plan.h"
#include "steps/rescheduling/explain.h"
#include "steps/rescheduling/rescheduling_workflow.h"
#include "steps/rescheduling/settings.h"

namespace kinema::rescheduling {

namespace {

class ReschedulingKind : public WorkflowKind {
 public:
  std::string type() const override { return kWorkflowType; }
  std::string section() const override { return "rescheduling"; }
  KindTraits traits() const override {
    KindTraits t;
    t.enabled_by_default = true;
    t.default_interval = Duration(300000);
    t.disruption = DisruptionClass::kRetiresNodes;
    t.reason = "rescheduling";
    return t;
  }

  void DeclareConfig(config::Fields* root) override {
    for (auto& [name, field] : settings_.Sections()) (*root)[name] = std::move(field);
  }

  Status FinishConfig(ControllerConfig* global) override {
    if (settings_.loop_cooldown) {
      KindSettings& ks = global->kinds[type()];
      if (ks.interval != traits().default_interval && ks.interval != *settings_.loop_cooldown) {
        return Status::InvalidArgument("loop.cooldown: the legacy name of rescheduling.interval; set only one of them");
      }
      ks.interval = *settings_.loop_cooldown;
    }
    return Status::OK();
  }

  std::vector<kube::Permission> Permissions(const ControllerConfig&) const override {
    std::vector<kube::Permission> p = SnapshotPermissions();
    // optimization_step.cc: exclusions.labelSelector (pods list with a selector).
    p.push_back({"", "pods", {"list"}, kube::PermissionScope::kCluster, {}, "optimization (exclusions.labelSelector)"});
    if (settings_.prediction.source == "vpa" || settings_.prediction.source == "max") {
      p.push_back({"autoscaling.k8s.io", "verticalpodautoscalers", {"list"}, kube::PermissionScope::kCluster, {},
                   "prediction (prediction.source vpa|max)"});
    }
    for (const auto& part : {execute::NodeBootPermissions(), execute::NodeMarkingPermissions(),
                             execute::WorkloadMovePermissions(), execute::NodeRetirementPermissions()}) {
      p.insert(p.end(), part.begin(), part.end());
    }
    return p;
  }

  StatusOr<WorkflowType> Build(const KindServices& s) override {
    ReschedulingDeps deps;
    deps.kube = s.kube;
    deps.cloud = s.cloud;
    deps.catalog = s.catalog;
    deps.prices = s.prices;
    deps.config = *s.config;
    deps.settings = settings_;
    deps.dry_run = s.dry_run;
    return MakeReschedulingWorkflow(deps);
  }

  void DescribeMetrics(Metrics* m) const override {
    m->Describe("kinema_cost_per_hour", "gauge", "Cluster cost per hour of the last planned iteration: before, and as planned.");
    m->Describe("kinema_nodes_booted_total", "counter", "Nodes booted by iterations.");
    m->Describe("kinema_nodes_retired_total", "counter", "Nodes drained and deleted by iterations.");
    m->Describe("kinema_deployments_patched_total", "counter", "Deployment rollouts started by iterations.");
    m->Describe("kinema_plan_gap", "gauge", "Relative gap between the last plan and its lower bound.");
    m->Describe("kinema_solver_seconds", "gauge", "Wall-clock seconds the optimizer took for the last plan.");
    m->Describe("kinema_savings_ratio", "gauge", "Planned saving of the last plan: 1 - after/before.");
    m->Describe("kinema_pods_moved_total", "counter", "Pods the executed plans moved (plan moves of completed iterations).");
  }

  void RecordFinished(const WorkflowView& v, Metrics* m) const override {
    for (const auto& s : v.steps) {
      if (s.status != StepStatus::kSucceeded || !s.result.is_object()) continue;
      if (s.name == "optimization" && s.result.contains("plan")) {
        auto plan = PlanFromJson(s.result["plan"]);
        if (!plan.ok()) continue;
        m->Set("kinema_cost_per_hour", {{"phase", "before"}}, plan->cost_before);
        m->Set("kinema_cost_per_hour", {{"phase", "planned"}}, plan->cost_after);
        m->Set("kinema_savings_ratio", {}, plan->cost_before > 0 ? 1 - plan->cost_after / plan->cost_before : 0);
        m->Set("kinema_solver_seconds", {}, plan->solve_seconds);
        m->Set("kinema_plan_gap", {}, safe_json::Number(s.result, "gap", -1.0));
        if (v.status == WorkflowStatus::kCompleted && v.outcome.empty()) m->Add("kinema_pods_moved_total", {}, static_cast<double>(plan->moves));
      } else if (s.name == execute::kNodeBootStep) {
        if (auto r = execute::BootResult::FromJson(s.result); r.ok()) {
          m->Add("kinema_nodes_booted_total", {}, static_cast<double>(r->booted.size()));
        }
      } else if (s.name == execute::kDeploymentPatchStep) {
        if (auto r = execute::MoveResult::FromJson(s.result); r.ok()) {
          m->Add("kinema_deployments_patched_total", {}, static_cast<double>(r->deployments.size()));
          m->Add("kinema_evictions_total", {{"type", type()}}, static_cast<double>(r->evicted.size()));
        }
      } else if (s.name == execute::kDrainDeleteStep) {
        if (auto r = execute::RetireResult::FromJson(s.result); r.ok()) {
          m->Add("kinema_nodes_retired_total", {}, r->Retired());
          m->Add("kinema_evictions_total", {{"type", type()}}, r->Evicted());
        }
      }
    }
  }

  Explanation Explain(const WorkflowView& view) const override { return ExplainRescheduling(view); }

  const ReschedulingSettings& settings() const { return settings_; }

 private:
  ReschedulingSettings settings_;
};

}  // namespace

std::unique_ptr<WorkflowKind> NewReschedulingKind() { return std::make_unique<ReschedulingKind>(); }

const ReschedulingSettings* SettingsOf(const WorkflowKind* kind) {
  auto* k = dynamic_cast<const ReschedulingKind*>(kind);
  return k ? &k->settings() : nullptr;
}

}  // namespace kinema::rescheduling
