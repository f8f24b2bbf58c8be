#include "steps/spot/settings.h"

#include "engine/config/controller_config.h"

namespace kinema::spot {

using namespace config;

namespace {

// A label-selector string key: parsed when read, the error names the key.
Field SelectorField(std::string* text, std::optional<LabelSelectorString>* parsed) {
  return Custom([text, parsed](const YAML::Node& n, const std::string& path) -> Status {
    std::string s;
    KINEMA_RETURN_IF_ERROR(ScalarAt(n, path, &s));
    *text = s;
    parsed->reset();
    if (s.find_first_not_of(" \t") == std::string::npos) return Status::OK();  // "" = not given
    auto sel = ParseLabelSelectorString(s);
    if (!sel.ok()) return Status::InvalidArgument(path + ": " + sel.status().message());
    *parsed = *sel;
    return Status::OK();
  });
}

}  // namespace

Fields SpotSettings::SectionFields() {
  return {
      {"onDemandSelector", SelectorField(&on_demand_selector, &on_demand)},
      {"spotSelector", SelectorField(&spot_selector, &spot)},
      {"taintOnDemand", Bool(&taint_on_demand)},
      {"maxNodesPerCycle", Int(&max_nodes_per_cycle, 1, 1000)},
      {"afterDrain", OneOf(&after_drain, {"keep", "delete"})},
      {"drainTimeout", Dur(&drain_timeout)},
      {"pendingTimeout", Dur(&pending_timeout)},
      {"rolloutTimeout", Dur(&rollout_timeout)},
      {"rolloutMaxConcurrent", Int(&rollout_max_concurrent, 1, 1000)},
      {"bootSpot", Bool(&boot_spot)},
      {"bootTimeout", Dur(&boot_timeout)},
      {"evictionLimits", EvictionLimitsField(&eviction_limits)},
  };
}

EvictionLimits SpotSettings::EffectiveLimits(const EvictionLimits& global) const {
  EvictionLimits out;
  out.per_node = eviction_limits.per_node == kInheritLimit ? -1 : eviction_limits.per_node;
  out.per_namespace = eviction_limits.per_namespace == kInheritLimit ? global.per_namespace : eviction_limits.per_namespace;
  out.total = eviction_limits.total == kInheritLimit ? global.total : eviction_limits.total;
  return out;
}

NodeClassRules SpotSettings::Rules(const Labels& catalog_spot_labels) const {
  NodeClassRules r;
  r.spot = spot;
  r.on_demand = on_demand;
  r.catalog_spot_labels = catalog_spot_labels;
  return r;
}

}  // namespace kinema::spot
