#include "tools/kinema-sim/cluster/volume_binder.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/cluster/workload.h"

namespace kinema::sim::cluster {

namespace fs = std::filesystem;

namespace {

const ResourceType& ClaimsType() { return *ResourceRegistry::Default().Find("", "v1", "persistentvolumeclaims"); }
const ResourceType& VolumesType() { return *ResourceRegistry::Default().Find("", "v1", "persistentvolumes"); }
constexpr char kProvisioner[] = "kinema-sim/hostpath";

}  // namespace

std::string VolumeBinder::VolumeDir(const std::string& state_dir, const std::string& claim_uid) {
  return (fs::path(state_dir) / "volumes" / ("pvc-" + claim_uid)).string();
}

Status VolumeBinder::Setup(SimServer& server) {
  state_dir_ = server.options().state_dir;
  claims_ = std::make_unique<Informer>(&ClaimsType(), [this](const ObjectPtr& prev, const ObjectPtr& cur) {
    if (!cur) {
      Reclaim(prev);
      return;
    }
    dirty_.insert({cur->ns, cur->name});
  });
  claims_->Start(&server.store(), Notifier());
  return Status::OK();
}

void VolumeBinder::Teardown() { claims_->Stop(); }

void VolumeBinder::Pump() {
  claims_->Drain();
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (const Key& k : dirty) Bind(k);
}

void VolumeBinder::Bind(const Key& key) {
  ObjectPtr claim = claims_->Get(key.first, key.second);
  if (!claim || IsTerminating(claim->body)) return;
  const Json& b = claim->body;
  if (b.value("status", Json::object()).value("phase", "") == "Bound") return;
  const Json spec = b.value("spec", Json::object());
  std::string uid = Uid(b);
  std::string volume = spec.value("volumeName", "");
  Registry& reg = server().registry();
  Json capacity = spec.value("resources", Json::object()).value("requests", Json::object());
  Json modes = spec.value("accessModes", Json::array());
  if (volume.empty()) {
    volume = "pvc-" + uid;
    std::string dir = VolumeDir(state_dir_, uid);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      spdlog::warn("volume-binder: claim {}/{}: create {}: {}", key.first, key.second, dir, ec.message());
      return;
    }
    Json pv = {{"apiVersion", "v1"},
               {"kind", "PersistentVolume"},
               {"metadata",
                {{"name", volume},
                 {"annotations", {{"pv.kubernetes.io/provisioned-by", kProvisioner}}},
                 {"finalizers", Json::array({"kubernetes.io/pv-protection"})}}},
               {"spec",
                {{"capacity", Json{{"storage", capacity.value("storage", "1Gi")}}},
                 {"accessModes", modes},
                 {"persistentVolumeReclaimPolicy", "Delete"},
                 {"storageClassName", spec.value("storageClassName", "")},
                 {"volumeMode", spec.value("volumeMode", "Filesystem")},
                 {"hostPath", {{"path", dir}, {"type", "DirectoryOrCreate"}}},
                 {"claimRef",
                  {{"kind", "PersistentVolumeClaim"}, {"namespace", key.first}, {"name", key.second},
                   {"uid", uid}, {"apiVersion", "v1"}}}}}};
    auto r = reg.Create(VolumesType(), "", pv);
    if (!r.ok() && r.error().code != 409) {
      spdlog::warn("volume-binder: create volume {}: {}", volume, r.error().message);
      return;
    }
    reg.Modify(VolumesType(), "", volume, [](Json& v) -> std::optional<ApiError> {
      v["status"] = {{"phase", "Bound"}};
      return std::nullopt;
    }, "status");
  } else if (!server().store().Get(VolumesType(), "", volume)) {
    return;  // static binding to a volume that does not exist (yet)
  }
  auto r = reg.Modify(ClaimsType(), key.first, key.second, [&](Json& c) -> std::optional<ApiError> {
    if (Uid(c) != uid) return ApiError::Conflict(ClaimsType(), key.second, "claim changed");
    c["spec"]["volumeName"] = volume;
    Json& ann = c["metadata"]["annotations"];
    if (!ann.is_object()) ann = Json::object();
    ann["pv.kubernetes.io/bind-completed"] = "yes";
    ann["pv.kubernetes.io/bound-by-controller"] = "yes";
    ann["volume.kubernetes.io/storage-provisioner"] = kProvisioner;
    ann["volume.beta.kubernetes.io/storage-provisioner"] = kProvisioner;
    return std::nullopt;
  }, "");
  if (!r.ok()) {
    spdlog::warn("volume-binder: bind claim {}/{}: {}", key.first, key.second, r.error().message);
    return;
  }
  reg.Modify(ClaimsType(), key.first, key.second, [&](Json& c) -> std::optional<ApiError> {
    c["status"] = {{"phase", "Bound"}, {"accessModes", modes}, {"capacity", {{"storage", capacity.value("storage", "1Gi")}}}};
    return std::nullopt;
  }, "status");
  spdlog::info("volume-binder: claim {}/{} bound to {}", key.first, key.second, volume);
}

void VolumeBinder::Reclaim(const ObjectPtr& claim) {
  std::string volume = "pvc-" + Uid(claim->body);
  ObjectPtr pv = server().store().Get(VolumesType(), "", volume);
  if (!pv || pv->body["metadata"].value("annotations", Json::object()).value("pv.kubernetes.io/provisioned-by", "") !=
                 kProvisioner) {
    return;
  }
  Registry& reg = server().registry();
  reg.Modify(VolumesType(), "", volume, [](Json& v) -> std::optional<ApiError> {
    v["metadata"].erase("finalizers");
    return std::nullopt;
  }, "");
  reg.Delete(VolumesType(), "", volume, DeleteOptions{});
  std::error_code ec;
  fs::remove_all(VolumeDir(state_dir_, Uid(claim->body)), ec);
  spdlog::info("volume-binder: claim {}/{} deleted: volume {} reclaimed (Delete)", claim->ns, claim->name, volume);
}

}  // namespace kinema::sim::cluster
