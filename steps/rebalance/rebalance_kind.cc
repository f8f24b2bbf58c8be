#include "steps/rebalance/rebalance_kind.h"

#include "engine/snapshot/cluster_snapshot.h"
#include "steps/rebalance/eviction.h"
#include "steps/rebalance/explain.h"
#include "steps/rebalance/rebalance_workflow.h"

namespace kinema::rebalance {

namespace {

using S = kube::PermissionScope;

class RebalanceKind : public WorkflowKind {
 public:
  std::string type() const override { return kWorkflowType; }
  std::string section() const override { return "rebalance"; }
  KindTraits traits() const override {
    KindTraits t;
    t.enabled_by_default = false;
    t.default_interval = Duration(60000);
    t.disruption = DisruptionClass::kPodsOnly;
    t.reason = kDisruptionReason;
    return t;
  }

  void DeclareConfig(config::Fields* root) override {
    for (auto& [name, field] : settings_.Sections()) (*root)[name] = std::move(field);
  }

  Status FinishConfig(ControllerConfig*) override { return settings_.Finish(); }

  std::vector<kube::Permission> Permissions(const ControllerConfig&) const override {
    std::vector<kube::Permission> p = SnapshotPermissions();
    p.push_back({"metrics.k8s.io", "pods", {"list"}, S::kCluster, {}, "choose-pods (measured pod usage)"});
    p.push_back({"", "pods", {"get", "list"}, S::kCluster, {}, "evict (the world before each eviction; VM pods)"});
    p.push_back({"", "pods/eviction", {"create"}, S::kCluster, {}, "evict (Eviction API: PDBs respected)"});
    return p;
  }

  StatusOr<WorkflowType> Build(const KindServices& s) override {
    RebalanceDeps deps;
    deps.kube = s.kube;
    deps.config = *s.config;
    deps.settings = settings_;
    deps.dry_run = s.dry_run;
    return MakeRebalanceWorkflow(deps);
  }

  void DescribeMetrics(Metrics* m) const override {
    m->Describe("kinema_rebalance_score_spread", "gauge", "Spread (max - min) of the node scores at the last rebalancing cycle.");
    m->Describe("kinema_rebalance_background_evictions_total", "counter",
                "Background evictions (VM live migrations) by outcome: migrated, timed-out.");
    m->Describe("kinema_rebalance_ping_pongs_total", "counter", "Ping-pongs detected (and not evicted) by rebalancing cycles.");
  }

  void RecordFinished(const WorkflowView& v, Metrics* m) const override {
    for (const auto& s : v.steps) {
      if (s.status != StepStatus::kSucceeded || !s.result.is_object()) continue;
      if (s.name == kChoosePodsStep) {
        if (auto c = ChooseResult::FromJson(s.result); c.ok()) {
          m->Set("kinema_rebalance_score_spread", {}, c->classes.Spread());
          m->Add("kinema_rebalance_ping_pongs_total", {}, static_cast<double>(c->choice.ping_pong.size()));
        }
      } else if (s.name == kEvictStep) {
        if (auto r = EvictResult::FromJson(s.result); r.ok()) {
          m->Add("kinema_evictions_total", {{"type", type()}},
                 r->Count(EvictionOutcome::kEvicted) + r->Count(EvictionOutcome::kMigrated));
          m->Add("kinema_rebalance_background_evictions_total", {{"outcome", "migrated"}}, r->Count(EvictionOutcome::kMigrated));
          m->Add("kinema_rebalance_background_evictions_total", {{"outcome", "timed-out"}}, r->Count(EvictionOutcome::kTimedOut));
        }
      }
    }
  }

  Explanation Explain(const WorkflowView& view) const override { return ExplainRebalance(view); }

  const RebalanceSettings& settings() const { return settings_; }

 private:
  RebalanceSettings settings_;
};

}  // namespace

std::unique_ptr<WorkflowKind> NewRebalanceKind() { return std::make_unique<RebalanceKind>(); }

const RebalanceSettings* SettingsOf(const WorkflowKind* kind) {
  auto* k = dynamic_cast<const RebalanceKind*>(kind);
  return k ? &k->settings() : nullptr;
}

}  // namespace kinema::rebalance
