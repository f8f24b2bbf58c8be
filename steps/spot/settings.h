// SpotSettings: the spot-rescheduling kind's configuration, section `spot`
// (the kind registry adds `enabled`, default false, and `interval`, default
// 10s — pusher/k8s-spot-rescheduler's --housekeeping-interval).
//
// Keys and defaults (README "Spot rescheduling"):
//   onDemandSelector  ""     label selector of the nodes to empty; "" = every
//                            node that is not spot
//   spotSelector      ""     label selector of the spot nodes; "" = planning.md's
//                            rule (cloud.google.com/gke-spot=true,
//                            cloud.google.com/gke-provisioning=spot,
//                            kinema.io/capacity-type=spot, the catalog's spot labels)
//   taintOnDemand     true   Kinema keeps kinema.io/on-demand=true:PreferNoSchedule
//                            on on-demand nodes (and removes it from the others)
//   maxNodesPerCycle  1      on-demand nodes drained per workflow (the seed's one)
//   afterDrain        keep   keep (leave the drained node schedulable for an
//                            autoscaler) | delete (Node and instance deleted
//                            through the shared drain-and-delete)
//   drainTimeout      15m    per node: evictions until only DaemonSet pods remain
//   rolloutTimeout    15m    per Deployment moved off the nodes (a rollout)
//   rolloutMaxConcurrent 3   Deployments rolling at once
//   pendingTimeout    2m     how long a drain waits for Pending pods to be
//                            scheduled before it stops (the node is kept)
//   bootSpot          false  when no on-demand node's pods fit on the spot
//                            capacity there is, boot one spot node of the
//                            catalog's cheapest type that holds every pod of
//                            the emptiest on-demand node that gains from it
//                            (spot_boot.h), through the shared node-boot
//                            (cloud provider gce or gke), then drain into it
//   bootTimeout       10m    the new spot node created and Ready
//   evictionLimits    the global evictionLimits with perNode unlimited (a node
//                     is drained whole); keys given here replace them
// Selectors are Kubernetes label-selector strings ("a=b,c!=d,e in (x,y),f,!g"),
// checked when the config is read (an error names the key).
// Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/budget/disruption_budget.h"
#include "engine/common/time.h"
#include "engine/config/schema.h"
#include "steps/spot/node_classes.h"

namespace kinema::spot {

inline constexpr int64_t kInheritLimit = INT64_MIN;  // an evictionLimits key not given under spot

struct SpotSettings {
  std::string on_demand_selector;
  std::string spot_selector;
  bool taint_on_demand = true;
  int max_nodes_per_cycle = 1;
  std::string after_drain = "keep";  // keep | delete
  Duration drain_timeout{900000};
  Duration pending_timeout{120000};
  Duration rollout_timeout{900000};
  int rollout_max_concurrent = 3;
  bool boot_spot = false;
  Duration boot_timeout{600000};
  EvictionLimits eviction_limits{kInheritLimit, kInheritLimit, kInheritLimit};

  // Parsed selectors (set by Section()'s fields as they are read).
  std::optional<LabelSelectorString> on_demand;
  std::optional<LabelSelectorString> spot;

  // The `spot` section's own fields (without enabled/interval), writing
  // into this value.
  config::Fields SectionFields();
  // The limits a spot workflow claims under: keys given under spot, else the
  // global ones, with perNode unlimited unless given.
  EvictionLimits EffectiveLimits(const EvictionLimits& global) const;
  // The node-class rules of these settings.
  NodeClassRules Rules(const Labels& catalog_spot_labels) const;
  bool DeleteAfterDrain() const { return after_drain == "delete"; }
};

}  // namespace kinema::spot
