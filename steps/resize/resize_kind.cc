#include "steps/resize/resize_kind.h"

#include "steps/resize/resize_workflow.h"
#include "steps/resize/settings.h"

namespace kinema::resize {

namespace {

class ResizeKind : public WorkflowKind {
 public:
  std::string type() const override { return kWorkflowType; }
  std::string section() const override { return "resize"; }
  KindTraits traits() const override {
    KindTraits t;
    t.enabled_by_default = false;
    t.default_interval = Duration(30000);  // the seed's METRICS_FETCH_INTERVAL
    t.disruption = DisruptionClass::kPodsOnly;
    t.reason = "resize";
    return t;
  }

  void DeclareConfig(config::Fields* root) override { (*root)["resize"] = settings_.Section(); }

  Status FinishConfig(ControllerConfig*) override {
    if (settings_.policy.memory.scale_down_threshold >= settings_.policy.memory.scale_up_threshold) {
      return Status::InvalidArgument("resize.memory.scaleDownThreshold: must be below resize.memory.scaleUpThreshold");
    }
    if (settings_.policy.cpu.scale_down_threshold >= settings_.policy.cpu.scale_up_threshold) {
      return Status::InvalidArgument("resize.cpu.scaleDownThreshold: must be below resize.cpu.scaleUpThreshold");
    }
    return Status::OK();
  }

  // Declared only when the kind is enabled (deploy/ grants the default
  // kinds; enabling resize means granting these, see deploy/README.md).
  std::vector<kube::Permission> Permissions(const ControllerConfig& global) const override {
    using kube::PermissionScope;
    auto it = global.kinds.find(type());
    if (it == global.kinds.end() || !it->second.enabled) return {};
    std::vector<kube::Permission> p = {
        {"", "pods", {"get", "list"}, PermissionScope::kCluster, {}, "resize: observe managed pods, verify resizes"},
        {"", "pods", {"patch"}, PermissionScope::kCluster, {}, "resize: kinema.io/last-resize annotation",
         {"metadata.annotations[kinema.io/]"}},
        {"", "pods/resize", {"patch"}, PermissionScope::kCluster, {}, "resize: in-place resize (KEP-1287)",
         {"spec.containers"}},
        {"metrics.k8s.io", "pods", {"list"}, PermissionScope::kCluster, {}, "resize: usage (resize.source metrics)"},
        {"", "events", {"create"}, PermissionScope::kCluster, {}, "resize: Resized / ResizeHandedOff events"},
        {"", "nodes", {"list"}, PermissionScope::kCluster, {}, "resize: node count of the disruption claim"},
    };
    if (settings_.persist == "template") {
      p.push_back({"apps", "replicasets", {"get", "list"}, PermissionScope::kCluster, {}, "resize: pod owners (persist)"});
      p.push_back({"apps", "deployments", {"get", "update"}, PermissionScope::kCluster, {}, "resize: persist: template",
                   {"spec.template.spec.containers"}});
      p.push_back({"apps", "statefulsets", {"get", "update"}, PermissionScope::kCluster, {}, "resize: persist: template",
                   {"spec.template.spec.containers"}});
    }
    return p;
  }

  StatusOr<WorkflowType> Build(const KindServices& s) override {
    if (s.kube == nullptr) return Status::FailedPrecondition("inplace-resize: no Kubernetes client");
    ResizeDeps deps;
    deps.kube = s.kube;
    deps.config = *s.config;
    deps.settings = settings_;
    deps.dry_run = s.dry_run;
    if (auto it = s.config->kinds.find(type()); it != s.config->kinds.end()) deps.interval = it->second.interval;
    return MakeResizeWorkflow(deps);
  }

  void DescribeMetrics(Metrics* m) const override {
    m->Describe("kinema_pods_resized_total", "counter", "In-place pod resizes applied, by direction (up, down).");
    m->Describe("kinema_resize_handoffs_total", "counter",
                "Deferred/Infeasible scale-ups handed to kinema-rescheduling.");
  }

  void RecordFinished(const WorkflowView& v, Metrics* m) const override {
    for (const auto& s : v.steps) {
      if (s.status != StepStatus::kSucceeded || !s.result.is_object()) continue;
      if (s.name == kResizeStep) {
        if (s.result.contains("handoffs") && s.result["handoffs"].is_array()) {
          m->Add("kinema_resize_handoffs_total", {}, static_cast<double>(s.result["handoffs"].size()));
        }
      }
    }
    const nlohmann::json ex = ExplainResize(v).extra;
    if (!ex.contains("resizes")) return;
    for (const auto& r : ex["resizes"]) {
      if (r.value("outcome", "") == "applied") m->Add("kinema_pods_resized_total", {{"direction", r.value("direction", "")}}, 1);
    }
  }

  Explanation Explain(const WorkflowView& view) const override { return ExplainResize(view); }

 private:
  ResizeSettings settings_;
};

}  // namespace

WorkflowType MakeResizeWorkflow(const ResizeDeps& deps) {
  WorkflowType t;
  t.name = kWorkflowType;
  t.steps = {MakeObserveStep(deps), MakeDecideStep(deps), MakeResizeStep(deps), MakeVerifyStep(deps),
             MakePersistStep(deps)};
  return t;
}

std::unique_ptr<WorkflowKind> NewResizeKind() { return std::make_unique<ResizeKind>(); }

}  // namespace kinema::resize
