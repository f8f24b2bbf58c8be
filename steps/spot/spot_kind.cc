#include "steps/spot/spot_kind.h"

#include "engine/snapshot/cluster_snapshot.h"
#include "steps/execute/execution_permissions.h"
#include "steps/execute/node_retirement.h"
#include "steps/execute/workload_move.h"
#include "steps/spot/explain.h"
#include "steps/spot/spot_workflow.h"

namespace kinema::spot {

namespace {

class SpotKind : public WorkflowKind {
 public:
  std::string type() const override { return kWorkflowType; }
  std::string section() const override { return "spot"; }
  KindTraits traits() const override {
    KindTraits t;
    t.enabled_by_default = false;
    t.default_interval = Duration(10000);
    t.disruption = DisruptionClass::kRetiresNodes;
    t.reason = kDisruptionReason;
    return t;
  }

  void DeclareConfig(config::Fields* root) override { (*root)["spot"] = config::Map(settings_.SectionFields()); }

  Status FinishConfig(ControllerConfig* global) override {
    auto it = global->kinds.find(type());
    bool enabled = it != global->kinds.end() && it->second.enabled;
    if (enabled && !global->exclusions.label_selector.empty()) {
      auto sel = ParseLabelSelectorString(global->exclusions.label_selector);
      if (!sel.ok()) return Status::InvalidArgument("exclusions.labelSelector: " + sel.status().message());
    }
    return CheckBootSpot(*global);
  }

  // spot.bootSpot's cross-key rules (whatever `enabled` says: --kind runs
  // a kind that is not enabled).
  Status CheckBootSpot(const ControllerConfig& global) const {
    if (!settings_.boot_spot) return Status::OK();
    if (settings_.boot_timeout < Duration(1000)) {
      return Status::InvalidArgument("spot.bootTimeout: " + FormatDuration(settings_.boot_timeout) +
                                     " is too short for a node to boot (at least 1s)");
    }
    if (global.cloud.provider == "gce" && global.cloud.endpoint.empty() && global.cloud.instance_template.empty()) {
      return Status::InvalidArgument(
          "spot.bootSpot: booting spot nodes with cloud.provider gce on the real Compute endpoint needs "
          "cloud.instanceTemplate");
    }
    return Status::OK();
  }

  std::vector<kube::Permission> Permissions(const ControllerConfig&) const override {
    std::vector<kube::Permission> p = SnapshotPermissions();
    if (settings_.boot_spot) {
      auto boot = execute::NodeBootPermissions();
      p.insert(p.end(), boot.begin(), boot.end());
    }
    for (const auto& part : {execute::NodeMarkingPermissions(), execute::WorkloadMovePermissions(),
                             execute::NodeRetirementPermissions()}) {
      p.insert(p.end(), part.begin(), part.end());
    }
    p.push_back({"", "nodes", {"get", "list", "update"}, kube::PermissionScope::kCluster, {},
                 "spot rescheduling (on-demand PreferNoSchedule taint)", execute::NodeFieldsKinemaChanges()});
    return p;
  }

  StatusOr<WorkflowType> Build(const KindServices& s) override {
    SpotDeps deps;
    deps.kube = s.kube;
    deps.cloud = s.cloud;
    deps.catalog = s.catalog;
    deps.config = *s.config;
    deps.settings = settings_;
    deps.dry_run = s.dry_run;
    return MakeSpotWorkflow(deps);
  }

  void DescribeMetrics(Metrics* m) const override {
    m->Describe("kinema_spot_nodes_drained_total", "counter", "On-demand nodes emptied into spot capacity.");
    m->Describe("kinema_spot_tolerant_pods_on_demand", "gauge",
                "Movable pods on on-demand nodes that a spot node would accept (its labels and taints; with no spot node, one "
                "as the catalog describes it), at the last spot plan.");
  }

  void RecordFinished(const WorkflowView& v, Metrics* m) const override {
    for (const auto& s : v.steps) {
      if (s.status != StepStatus::kSucceeded || !s.result.is_object()) continue;
      if (s.name == kPlanStep) {
        if (auto r = PlanStepResult::FromJson(s.result); r.ok()) {
          m->Set("kinema_spot_tolerant_pods_on_demand", {}, r->plan.spot_tolerant_on_demand_pods);
        }
      } else if (s.name == execute::kDrainDeleteStep) {
        if (auto r = execute::RetireResult::FromJson(s.result); r.ok()) {
          int drained = 0;
          for (const auto& n : r->nodes) drained += n.outcome != execute::RetireOutcome::kKept;
          m->Add("kinema_spot_nodes_drained_total", {}, drained);
          m->Add("kinema_evictions_total", {{"type", type()}}, r->Evicted());
        }
      } else if (s.name == execute::kDeploymentPatchStep) {
        if (auto r = execute::MoveResult::FromJson(s.result); r.ok()) {
          m->Add("kinema_evictions_total", {{"type", type()}}, static_cast<double>(r->evicted.size()));
        }
      }
    }
  }

  Explanation Explain(const WorkflowView& view) const override { return ExplainSpot(view); }

  const SpotSettings& settings() const { return settings_; }

 private:
  SpotSettings settings_;
};

}  // namespace

std::unique_ptr<WorkflowKind> NewSpotKind() { return std::make_unique<SpotKind>(); }

const SpotSettings* SettingsOf(const WorkflowKind* kind) {
  auto* k = dynamic_cast<const SpotKind*>(kind);
  return k ? &k->settings() : nullptr;
}

}  // namespace kinema::spot
