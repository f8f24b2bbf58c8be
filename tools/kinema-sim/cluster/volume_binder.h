// VolumeBinder (issue 20): the PersistentVolume controller and a dynamic
// provisioner whose volumes are directories of this machine.
//   - A Pending claim without spec.volumeName gets a PersistentVolume
//     "pvc-<claim uid>": capacity = the claim's storage request, its access
//     modes, storageClassName, hostPath <state-dir>/volumes/pvc-<uid>
//     (created here; type DirectoryOrCreate), claimRef (with uid), reclaim
//     policy Delete, annotation pv.kubernetes.io/provisioned-by
//     kinema-sim/hostpath, status Bound. The claim then gets
//     spec.volumeName, the bind-completed/bound-by-controller annotations
//     and status {phase Bound, accessModes, capacity}.
//   - A claim outlives its pods (the run-image kubelet mounts the same
//     directory into the next pod). Deleting the claim deletes its
//     provisioned volume (reclaim policy Delete) and the directory.
//   - Claims naming a volume (static binding) are bound if that volume
//     exists; otherwise left Pending.
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "tools/kinema-sim/cluster/controller_loop.h"
#include "tools/kinema-sim/cluster/informer.h"

namespace kinema::sim::cluster {

class VolumeBinder : public ControllerLoop {
 public:
  std::string Name() const override { return "volume-binder"; }
  // Where the volume of a provisioned claim lives ("" before Start).
  static std::string VolumeDir(const std::string& state_dir, const std::string& claim_uid);

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = Informer::Key;
  void Bind(const Key& claim);
  void Reclaim(const ObjectPtr& claim);

  std::string state_dir_;
  std::unique_ptr<Informer> claims_;
  std::set<Key> dirty_;
};

}  // namespace kinema::sim::cluster
