// Registry: Kubernetes REST semantics on top of the ObjectStore — what the
// apiserver's generic registry and per-kind strategies do between a request
// and etcd. HTTP-agnostic: the API handler, the subresources and (issue 4)
// the simulated controllers and kubelet all write through it when they want
// the real server's behaviour.
//
// Semantics implemented:
//   - create: generateName, namespace from the URL (400 on mismatch), the
//     namespace must exist (404), uid, creationTimestamp, generation = 1 for
//     kinds that use it, status reset where the real strategy resets it,
//     defaults, validation (422), AlreadyExists (409); resourceVersion set on
//     a create is refused like etcd3 does (500).
//   - update (PUT) and patch: optimistic concurrency when the body carries
//     metadata.resourceVersion (409 Conflict), immutable metadata preserved,
//     status kept by main-resource writes and spec kept by /status writes,
//     generation bumped on spec changes only, pod spec immutability, no-op
//     writes do not bump resourceVersion; /resize changes only container
//     cpu/memory resources and may not change the QoS class.
//   - delete: preconditions (409), finalizers (deletionTimestamp set, object
//     kept until finalizers are empty), pod graceful deletion (deletionTimestamp
//     = now + grace; grace 0 for unscheduled or finished pods) finished by
//     FinishPodTermination(); namespace deletion removes its contents.
// Thread-safety: thread-safe (all state is in the store).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/patch.h"
#include "tools/kinema-sim/sim_clock.h"

namespace kinema::sim {

struct DeleteOptions {
  std::optional<long long> grace_period_seconds;
  std::string precondition_uid;
  std::string precondition_rv;
  bool dry_run = false;
  std::string propagation_policy;  // accepted, informational (no garbage collector yet)
};

struct DeleteOutcome {
  ObjectPtr object;      // final (removed) state or the object now marked for deletion
  bool removed = false;  // true when the object is gone from the store
};

class Registry {
 public:
  Registry(ObjectStore* store, const SimClock* clock);

  ObjectStore* store() const { return store_; }
  const SimClock* clock() const { return clock_; }

  ApiResult<ObjectPtr> Create(const ResourceType& rt, const std::string& ns, nlohmann::json obj, bool dry_run = false);
  // PUT. `subresource` is "" (main resource), "status" or "resize".
  ApiResult<ObjectPtr> Update(const ResourceType& rt, const std::string& ns, const std::string& name,
                              nlohmann::json obj, const std::string& subresource, bool dry_run = false);
  ApiResult<ObjectPtr> Patch(const ResourceType& rt, const std::string& ns, const std::string& name, PatchType type,
                             const std::string& patch, const std::string& subresource, bool dry_run = false);
  // Read-modify-write with update semantics: `edit` changes a copy of the
  // current object (returning an error aborts). Used by subresources and
  // controllers.
  using Editor = std::function<std::optional<ApiError>(nlohmann::json& obj)>;
  ApiResult<ObjectPtr> Modify(const ResourceType& rt, const std::string& ns, const std::string& name,
                              const Editor& edit, const std::string& subresource, bool dry_run = false);
  ApiResult<DeleteOutcome> Delete(const ResourceType& rt, const std::string& ns, const std::string& name,
                                  const DeleteOptions& opts);

  // What the kubelet does once a terminating pod's containers have stopped:
  // removes it when it has no finalizers (else sets the grace period to 0 and
  // leaves it for the finalizers' owners). NotFound if the pod is gone.
  ApiResult<DeleteOutcome> FinishPodTermination(const std::string& ns, const std::string& name);

  std::string NewUid();

 private:
  // Applies update semantics to `proposed` given `current`; returns the
  // mutation to perform.
  ApiResult<ObjectStore::Mutation> PrepareUpdate(const ResourceType& rt, const std::string& ns,
                                                 const std::string& name, const StoredObject& current,
                                                 nlohmann::json proposed, const std::string& subresource);
  std::string RandomSuffix(size_t n);

  ObjectStore* store_;
  const SimClock* clock_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace kinema::sim
