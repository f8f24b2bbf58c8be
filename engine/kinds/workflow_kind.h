// WorkflowKind: the unit of extension of the controller. A kind is one
// mode of operation (the KINEMA rescheduling iteration, spot rescheduling,
// in-place resize, load rebalancing, ...) run as durable workflows of one
// type on the shared engine, journal and disruption budget.
//
// A kind supplies (Karpenter's disruption "methods", made durable):
//   - its type name (the workflow type and id prefix) and config section;
//   - its config: the sections it reads, parsed and validated by the kind
//     (unknown keys are errors naming the key); the scheduler adds
//     `enabled` and `interval` to its main section;
//   - its steps (Build), given the process's services;
//   - when it wants to start (the interval, requests from other kinds, and
//     an optional trigger);
//   - the Kubernetes RBAC rules its steps need (the union over kinds is
//     what deploy/ grants);
//   - how a finished workflow is recorded in metrics, and how any workflow
//     of the kind is explained from the journal (kinemactl explain).
// The engine knows kinds only through this interface: adding a kind touches
// no file under engine/.
// Thread-safety: DeclareConfig/FinishConfig/Build run once, before any
// workflow; the other methods may be called from any thread and must not
// mutate the kind.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/cloud/cloud_provider.h"
#include "engine/common/status.h"
#include "engine/config/controller_config.h"
#include "engine/config/schema.h"
#include "engine/kinds/explanation.h"
#include "engine/kube/client.h"
#include "engine/kube/permissions.h"
#include "engine/status/metrics.h"
#include "engine/workflow/workflow_type.h"
#include "storage/workflow_view.h"

namespace kinema {

namespace pricing {
class PriceBook;  // engine/pricing/price_book.h
}

// How a kind's workflows disrupt the cluster, for the scheduler's rules.
enum class DisruptionClass {
  kNone,          // observes only
  kPodsOnly,      // evicts, moves or resizes pods; may run beside others on disjoint nodes and pods
  kRetiresNodes,  // drains or retires nodes: at most one such workflow runs at a time
};
const char* DisruptionClassName(DisruptionClass c);

struct KindTraits {
  bool enabled_by_default = false;
  Duration default_interval{300000};
  DisruptionClass disruption = DisruptionClass::kNone;
  std::string reason;  // its disruption reason in budgets (rescheduling, spot, rebalance, resize)
};

// What the process hands every kind when it builds its workflow type.
struct KindServices {
  kube::Client* kube = nullptr;
  cloud::CloudProvider* cloud = nullptr;  // may be null (no cloud configured)
  const Catalog* catalog = nullptr;
  const ControllerConfig* config = nullptr;
  Metrics* metrics = nullptr;
  bool dry_run = false;
  // The prices plans use (pricing.source; may be null: the catalog's own).
  const pricing::PriceBook* prices = nullptr;
};

// Why a workflow of a kind starts.
struct KindStart {
  bool dry_run = false;
  std::vector<KindRequest> requests;  // pending requests from other kinds, oldest first
};

class WorkflowKind {
 public:
  virtual ~WorkflowKind() = default;

  virtual std::string type() const = 0;     // "kinema-rescheduling"
  virtual std::string section() const = 0;  // "rescheduling"
  virtual KindTraits traits() const = 0;

  // Adds the kind's config sections to `root` (its main section() must be
  // among them, possibly empty); the fields write into the kind's own
  // settings.
  virtual void DeclareConfig(config::Fields* root) = 0;
  // After the whole file was read: checks relations between keys and
  // applies legacy aliases (it may adjust its own entry in global->kinds).
  virtual Status FinishConfig(ControllerConfig* global) { return Status::OK(); }

  // The RBAC rules the kind's steps need (declared, least privilege).
  virtual std::vector<kube::Permission> Permissions(const ControllerConfig& global) const = 0;

  // The workflow type (steps) of this kind.
  virtual StatusOr<WorkflowType> Build(const KindServices& services) = 0;

  // The input of a new workflow (an object). The scheduler adds the
  // requests it hands over as "requests": [{requestId, input}].
  virtual nlohmann::json StartInput(const KindStart& start) const;

  // Metrics: families the kind records, and what a finished workflow adds
  // (the scheduler records kinema_iterations_total{type,outcome}, step
  // durations and retries for every kind).
  virtual void DescribeMetrics(Metrics* metrics) const {}
  virtual void RecordFinished(const WorkflowView& view, Metrics* metrics) const {}

  // Why a workflow of this kind did what it did, from its journaled view
  // alone (`kinemactl explain`): per node, per moved pod, the budget, or
  // why it stopped early. The default is GenericExplanation().
  virtual Explanation Explain(const WorkflowView& view) const { return GenericExplanation(view); }
};

}  // namespace kinema
