// Node classes of spot rescheduling: which nodes are on-demand (to empty),
// which are spot (to fill), and which are left alone. Pure functions.
//
// Rules:
//   - spot: the node matches spot.spotSelector when one is given, else
//     DefaultSpotRule (planning.md: cloud.google.com/gke-spot=true,
//     cloud.google.com/gke-provisioning=spot, kinema.io/capacity-type=spot, or
//     every label of the catalog's `spot.labels` when it has any);
//   - on-demand: not spot, and matches spot.onDemandSelector when one is
//     given (without one, every other node is on-demand);
//   - other (left alone): matches neither explicit selector, or both.
// Label selectors are the Kubernetes string form: comma-separated
// requirements `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`,
// `!k` (as kubectl -l). An empty selector is "not given".
// Thread-safety: pure functions over values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/common/status.h"
#include "steps/optimize/label_selector_string.h"
#include "steps/optimize/scheduling.h"

namespace kinema::spot {

enum class NodeClass { kOnDemand, kSpot, kOther };
const char* NodeClassName(NodeClass c);  // "on-demand", "spot", "other"

struct NodeClassRules {
  std::optional<LabelSelectorString> spot;       // none: DefaultSpotRule
  std::optional<LabelSelectorString> on_demand;  // none: every node that is not spot
  Labels catalog_spot_labels;
};

bool DefaultSpotRule(const Labels& labels, const Labels& catalog_spot_labels);

// The class of a node with these labels, and in *why the rule that decided
// ("matches spot.spotSelector a=b", "cloud.google.com/gke-spot=true", ...).
NodeClass ClassifyNode(const Labels& labels, const NodeClassRules& rules, std::string* why = nullptr);

}  // namespace kinema::spot
