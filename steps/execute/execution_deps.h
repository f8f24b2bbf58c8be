// What the shared execution steps (node boot, node marking, workload move,
// node retirement) need from the process, and their settings. Every
// workflow kind that executes fills one from its own configuration.
// Thread-safety: the pointers must outlive the steps; the kube client and
// cloud provider are thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/cloud/cloud_provider.h"
#include "engine/common/time.h"
#include "engine/kube/client.h"

namespace kinema::execute {

struct ExecutionSettings {
  Duration boot_timeout{600000};         // node-boot: instances created and Nodes Ready
  int boot_parallelism = 10;             // instance inserts in flight
  int rollout_max_concurrent = 3;        // Deployments rolling at once
  Duration rollout_timeout{900000};      // per Deployment
  Duration rollout_stall_timeout{120000}; // a new pod Pending this long: the stall breaker acts
  // Room holds (room_hold.h): Deployments whose pods take at least this
  // share of a planned node's cpu or memory get their planned room held
  // until they roll; 0 turns holds off. Hold pods live in
  // room_hold_namespace (the controller's own namespace: its Role allows
  // creating and deleting pods there).
  double room_hold_share = 0.25;
  std::string room_hold_namespace = "kube-system";
  int64_t move_limit = -1;               // pods the stall breaker may claim in total (-1: the ledger's default)
  Duration drain_timeout{900000};        // per node
  std::vector<std::string> zones;        // zones new nodes may use; empty = the catalog's
  std::string instance_prefix = "kinema";
  // The kind's disruption reason: nodes to retire that the workflow does not
  // hold yet are claimed from the shared ledger under it before they are
  // marked (a kind that claimed them earlier loses nothing: re-claims are
  // idempotent).
  std::string disruption_reason;
};

struct ExecutionDeps {
  kube::Client* kube = nullptr;
  cloud::CloudProvider* cloud = nullptr;  // may be null: a step that needs it fails with that reason
  const Catalog* catalog = nullptr;
  ExecutionSettings settings;
};

// Records a Kubernetes Event on `involved` (best effort: a failure is logged
// at warn level and never fails a step — the journal is the record, Events
// are the courtesy).
void AnnounceEvent(kube::Client* kube, const nlohmann::json& involved, const std::string& type,
                   const std::string& reason, const std::string& message);

// "ns/name" of a namespaced object, "name" otherwise.
std::string KeyOf(const nlohmann::json& object);

}  // namespace kinema::execute
