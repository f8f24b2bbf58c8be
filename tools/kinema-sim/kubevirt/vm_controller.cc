#include "tools/kinema-sim/kubevirt/vm_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/cluster/workload.h"

namespace kinema::sim::kubevirt {

namespace {

using cluster::IsTerminating;
using cluster::PodPhase;
using cluster::PodsType;

const ResourceType& VmsType() {
  return *ResourceRegistry::Default().Find("simulation.node-classifier.io", "v1alpha1", "virtualmachines");
}

std::string NodeOf(const Json& pod) { return pod.value("spec", Json::object()).value("nodeName", ""); }

bool HasFinalizer(const Json& pod) {
  const Json md = pod.value("metadata", Json::object());
  if (!md.contains("finalizers") || !md["finalizers"].is_array()) return false;
  for (const auto& f : md["finalizers"]) {
    if (f == kFinalizer) return true;
  }
  return false;
}

std::string StatusString(const Json& vm, const char* key) {
  const Json st = vm.value("status", Json::object());
  return st.contains(key) && st[key].is_string() ? st[key].get<std::string>() : "";
}

double ParseNumber(const std::string& s, double def) {
  try {
    return std::stod(s);
  } catch (...) {
    return def;
  }
}

}  // namespace

Status VmController::Setup(SimServer& server) {
  const Json& sc = server.scenario();
  if (sc.contains("kubevirt")) {
    const Json& k = sc["kubevirt"];
    if (!k.is_object()) return Status::InvalidArgument("scenario kubevirt: must be an object");
    for (auto it = k.begin(); it != k.end(); ++it) {
      const std::string key = "kubevirt." + it.key();
      if (it.key() == "parallelMigrations") {
        if (!it.value().is_number_integer() || it.value().get<int>() < 1) {
          return Status::InvalidArgument("scenario " + key + ": must be an integer >= 1");
        }
        parallel_ = it.value().get<int>();
      } else if (it.key() == "networkBandwidthMbps") {
        if (!it.value().is_number() || it.value().get<double>() <= 0) {
          return Status::InvalidArgument("scenario " + key + ": must be a positive number");
        }
        bandwidth_mbps_ = it.value().get<double>();
      } else if (it.key() == "targetTimeout" || it.key() == "maxPreCopy") {
        auto v = cluster::ParseSeconds(it.value(), key);
        if (!v.ok()) return v.status();
        (it.key() == "targetTimeout" ? target_timeout_ : max_precopy_) = v.value();
      } else {
        return Status::InvalidArgument("scenario " + key + ": unknown key");
      }
    }
  }
  vms_ = std::make_unique<cluster::Informer>(&VmsType(), [](const ObjectPtr&, const ObjectPtr&) {});
  pods_ = std::make_unique<cluster::Informer>(&PodsType(), [this](const ObjectPtr& prev, const ObjectPtr& cur) {
    const ObjectPtr& any = cur ? cur : prev;
    std::string vm = VmNameOf(any->body);
    if (vm.empty()) return;
    Key k{any->ns, vm};
    if (cur) {
      pods_by_vm_[k].insert(any->name);
    } else {
      auto it = pods_by_vm_.find(k);
      if (it != pods_by_vm_.end()) {
        it->second.erase(any->name);
        if (it->second.empty()) pods_by_vm_.erase(it);
      }
    }
  });
  vms_->Start(&server.store(), Notifier());
  pods_->Start(&server.store(), Notifier());
  return Status::OK();
}

void VmController::Teardown() {
  vms_->Stop();
  pods_->Stop();
}

std::string VmController::Suffix() {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  uint64_t n = ++next_suffix_ * 0x9e3779b97f4a7c15ULL;
  std::string s;
  for (int i = 0; i < 5; ++i) {
    s += kAlphabet[n % (sizeof(kAlphabet) - 1)];
    n /= (sizeof(kAlphabet) - 1);
  }
  return s;
}

void VmController::Pump() {
  vms_->Drain();
  pods_->Drain();
  std::vector<std::pair<Key, ObjectPtr>> vms(vms_->items().begin(), vms_->items().end());
  for (const auto& [k, vm] : vms) Reconcile(k, vm);
  // Migrations of deleted VMs.
  for (auto it = migrations_.begin(); it != migrations_.end();) {
    it = vms_->Get(it->first.first, it->first.second) ? std::next(it) : migrations_.erase(it);
  }
}

void VmController::TrackDowntime(const Key& k, bool running) {
  if (running) {
    ever_running_.insert(k);
    auto it = down_since_.find(k);
    if (it != down_since_.end()) {
      double s = std::chrono::duration<double>(Now() - it->second).count();
      server().stats().AddVmDowntime(s);
      spdlog::info("kubevirt: VM {}/{} running again after {:.1f}s of downtime", k.first, k.second, s);
      down_since_.erase(it);
    }
  } else if (ever_running_.count(k) && !down_since_.count(k)) {
    down_since_[k] = Now();
  }
}

void VmController::Reconcile(const Key& k, const ObjectPtr& vm) {
  const Json& b = vm->body;
  if (IsTerminating(b)) return;
  std::string error;
  auto shape = ParseVmShape(b, &error);
  if (!shape) {
    spdlog::warn("kubevirt: VM {}/{}: {}", k.first, k.second, error);
    return;
  }
  // The VM's pods: the current one (newest live non-target), terminating ones.
  std::vector<ObjectPtr> pods;
  auto pit = pods_by_vm_.find(k);
  if (pit != pods_by_vm_.end()) {
    for (const auto& name : pit->second) {
      if (ObjectPtr p = pods_->Get(k.first, name)) pods.push_back(p);
    }
  }
  auto mig = migrations_.find(k);
  const std::string target = mig != migrations_.end() ? mig->second.target_pod : "";
  ObjectPtr current;
  bool any_running = false;
  for (const auto& p : pods) {
    std::string phase = PodPhase(p->body);
    if (IsTerminating(p->body)) {
      // Deleted outside a migration: the VM shuts down, the pod goes.
      bool migrating_source = mig != migrations_.end() && p->name == mig->second.source_pod;
      if (!migrating_source && HasFinalizer(p->body)) ReleasePod(p->ns, p->name, false);
      continue;
    }
    if (phase == "Running") any_running = true;
    if (p->name == target) continue;
    if (phase == "Succeeded" || phase == "Failed") continue;
    if (!current || p->body["metadata"].value("creationTimestamp", "") >
                        current->body["metadata"].value("creationTimestamp", "")) {
      current = p;
    }
  }
  creating_.erase(k);  // seen (or not) — the informer is authoritative now
  TrackDowntime(k, any_running);
  bool running_wanted = b.value("spec", Json::object()).value("running", true);
  if (!running_wanted) {
    for (const auto& p : pods) {
      if (!IsTerminating(p->body)) ReleasePod(p->ns, p->name, true);
    }
    down_since_.erase(k);
    ever_running_.erase(k);
    WriteStatus(k, vm, nullptr);
    return;
  }
  if (mig != migrations_.end()) {
    ReconcileMigration(k, vm, mig->second);
    return;
  }
  const std::string evacuation = StatusString(b, "evacuationNodeName");
  if (!current) {
    std::string name;
    if (CreateLauncher(vm, *shape, evacuation, shape->memory_utilization, &name)) {
      spdlog::info("kubevirt: VM {}/{} started in pod {}", k.first, k.second, name);
      if (!evacuation.empty()) ClearEvacuation(k);
    }
    WriteStatus(k, vm, nullptr);
    return;
  }
  if (!evacuation.empty()) {
    if (NodeOf(current->body) != evacuation || PodPhase(current->body) != "Running") {
      ClearEvacuation(k);  // nothing left to evacuate from that node
    } else if (static_cast<int>(migrations_.size()) < parallel_) {
      std::string name;
      if (CreateLauncher(vm, *shape, evacuation, "0", &name)) {
        Migration m;
        m.vm_uid = cluster::Uid(b);
        m.source_pod = current->name;
        m.source_node = evacuation;
        m.target_pod = name;
        m.deadline = Now() + std::chrono::duration_cast<SimClock::TimePoint::duration>(
                                 std::chrono::duration<double>(target_timeout_));
        migrations_[k] = m;
        spdlog::info("kubevirt: migrating VM {}/{} off {}: target pod {}", k.first, k.second, evacuation, name);
        After(target_timeout_ + 0.001, [this] { Kick(); });
      }
    }
  }
  WriteStatus(k, vm, current);
}

void VmController::ReconcileMigration(const Key& k, const ObjectPtr& vm, Migration& m) {
  ObjectPtr source = pods_->Get(k.first, m.source_pod);
  ObjectPtr target = pods_->Get(k.first, m.target_pod);
  if (m.precopy) {
    WriteStatus(k, vm, source);
    return;  // the timers finish it
  }
  if (target && !IsTerminating(target->body) && PodPhase(target->body) == "Running" &&
      NodeOf(target->body) != m.source_node) {
    if (!source || IsTerminating(source->body)) {
      // The source went away meanwhile (its node died): nothing to copy from.
      FinishMigration(k, m.target_pod);
      return;
    }
    std::string error;
    auto shape = ParseVmShape(vm->body, &error);
    if (shape) StartPreCopy(k, m, *shape);
    WriteStatus(k, vm, source);
    return;
  }
  if (Now() >= m.deadline || !target || IsTerminating(target->body)) {
    AbandonMigration(k, target ? "target pod " + m.target_pod + " not running on another node within " +
                                     std::to_string(static_cast<int>(target_timeout_)) + "s"
                               : "target pod " + m.target_pod + " vanished");
    return;
  }
  WriteStatus(k, vm, source);
}

void VmController::StartPreCopy(const Key& k, Migration& m, const VmShape& shape) {
  ObjectPtr target = pods_->Get(k.first, m.target_pod);
  m.target_node = target ? NodeOf(target->body) : "";
  m.precopy = true;
  int leaving = 0, arriving = 0;
  for (const auto& [other, om] : migrations_) {
    if (!om.precopy) continue;
    if (om.source_node == m.source_node) ++leaving;
    if (om.target_node == m.target_node) ++arriving;
  }
  double bw = bandwidth_mbps_ / std::max(1, std::max(leaving, arriving));
  double dirty = static_cast<double>(shape.dirty_rate_mbps);
  double megabits = shape.memory_bytes * 8 / 1e6;
  double t = dirty >= bw ? max_precopy_ : std::min(max_precopy_, megabits / (bw - dirty));
  spdlog::info("kubevirt: VM {}/{}: pre-copy {:.0f} Mb at {:.0f} Mbps (dirty {:.0f}) to {} takes {:.1f}s", k.first,
               k.second, megabits, bw, dirty, m.target_node, t);
  double util = ParseNumber(shape.memory_utilization, 0.8);
  const std::string target_name = m.target_pod;
  for (int step = 1; step <= 10; ++step) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.4g", util * step / 10.0);
    std::string u = buf;
    After(t * step / 10.0, [this, k, target_name, u, step] {
      vms_->Drain();
      pods_->Drain();
      RampTarget(k, target_name, u);
      if (step == 10) FinishMigration(k, target_name);
    });
  }
}

void VmController::RampTarget(const Key& k, const std::string& target, const std::string& utilization) {
  server().registry().Modify(
      PodsType(), k.first, target,
      [&](Json& p) -> std::optional<ApiError> {
        p["metadata"]["annotations"][std::string(kAnnotationPrefix) + "vm-memory-utilization"] = utilization;
        return std::nullopt;
      },
      "");
}

void VmController::FinishMigration(const Key& k, std::string target) {
  auto it = migrations_.find(k);
  if (it == migrations_.end() || it->second.target_pod != target) return;
  Migration m = it->second;
  migrations_.erase(it);
  ObjectPtr t = pods_->Get(k.first, target);
  if (!t || IsTerminating(t->body)) {
    AbandonMigration(k, "target pod " + target + " lost during pre-copy");
    return;
  }
  ReleasePod(k.first, m.source_pod, true);
  ObjectPtr vm = vms_->Get(k.first, k.second);
  auto r = server().registry().Modify(
      VmsType(), k.first, k.second,
      [&](Json& obj) -> std::optional<ApiError> {
        Json& st = obj["status"];
        if (!st.is_object()) st = Json::object();
        st["phase"] = "Running";
        st["podName"] = target;
        st["nodeName"] = NodeOf(t->body);
        st["evacuationNodeName"] = nullptr;
        return std::nullopt;
      },
      "status");
  if (r.ok()) {
    server().stats().vm_migrations++;
    spdlog::info("kubevirt: VM {}/{} live-migrated from {} to {}", k.first, k.second, m.source_node, NodeOf(t->body));
  }
  Kick();
}

void VmController::AbandonMigration(const Key& k, const std::string& why) {
  auto it = migrations_.find(k);
  if (it != migrations_.end()) {
    ReleasePod(k.first, it->second.target_pod, true);
    migrations_.erase(it);
  }
  ClearEvacuation(k);
  server().stats().vm_migrations_failed++;
  spdlog::warn("kubevirt: migration of VM {}/{} abandoned: {}", k.first, k.second, why);
  Kick();
}

bool VmController::CreateLauncher(const ObjectPtr& vm, const VmShape& shape, const std::string& avoid_node,
                                  const std::string& memory_utilization, std::string* name) {
  Key k{vm->ns, vm->name};
  if (creating_.count(k)) return false;
  Json pod = BuildLauncherPod(vm->body, shape, Suffix(), avoid_node, memory_utilization);
  *name = pod["metadata"]["name"];
  auto r = server().registry().Create(PodsType(), vm->ns, std::move(pod));
  if (!r.ok()) {
    spdlog::warn("kubevirt: create launcher pod for VM {}/{}: {}", vm->ns, vm->name, r.error().message);
    return false;
  }
  creating_.insert(k);
  return true;
}

void VmController::ReleasePod(const std::string& ns, const std::string& name, bool delete_it) {
  auto r = server().registry().Modify(
      PodsType(), ns, name,
      [&](Json& p) -> std::optional<ApiError> {
        Json& md = p["metadata"];
        if (!md.contains("finalizers") || !md["finalizers"].is_array()) return std::nullopt;
        Json kept = Json::array();
        for (const auto& f : md["finalizers"]) {
          if (f != kFinalizer) kept.push_back(f);
        }
        md["finalizers"] = kept;
        return std::nullopt;
      },
      "");
  if (!r.ok() && r.error().code == 404) return;
  if (delete_it) {
    DeleteOptions opts;
    opts.grace_period_seconds = 0;
    server().registry().Delete(PodsType(), ns, name, opts);
  }
}

void VmController::ClearEvacuation(const Key& k) {
  server().registry().Modify(
      VmsType(), k.first, k.second,
      [&](Json& obj) -> std::optional<ApiError> {
        if (obj.contains("status") && obj["status"].is_object()) obj["status"]["evacuationNodeName"] = nullptr;
        return std::nullopt;
      },
      "status");
}

void VmController::WriteStatus(const Key& k, const ObjectPtr& vm, const ObjectPtr& pod) {
  const Json& b = vm->body;
  Json st = b.value("status", Json::object());
  if (!st.is_object()) st = Json::object();
  Json next = st;
  std::string error;
  auto shape = ParseVmShape(b, &error);
  std::string phase = "Pending";
  if (pod) {
    std::string pp = PodPhase(pod->body);
    if (pp == "Running") phase = "Running";
    else if (pp == "Failed") phase = "Failed";
    else phase = NodeOf(pod->body).empty() ? "Scheduling" : "Scheduled";
    next["podName"] = pod->name;
    if (!NodeOf(pod->body).empty()) next["nodeName"] = NodeOf(pod->body);
  }
  next["phase"] = phase;
  if (shape) {
    next["allocatedCpu"] = b["spec"]["resources"].value("cpu", "");
    next["allocatedMemory"] = b["spec"]["resources"].value("memory", "");
    next["cpuUtilization"] = shape->cpu_utilization;
    next["memoryUtilization"] = shape->memory_utilization;
  }
  if (!next.contains("createdAt")) next["createdAt"] = b["metadata"].value("creationTimestamp", "");
  // Phase<X> conditions: the current phase True, with the transition recorded.
  std::string type = "Phase" + phase;
  bool have = false;
  if (!next.contains("conditions") || !next["conditions"].is_array()) next["conditions"] = Json::array();
  for (auto& c : next["conditions"]) {
    if (c.value("type", "").rfind("Phase", 0) != 0) continue;
    bool mine = c.value("type", "") == type;
    have = have || mine;
    std::string want = mine ? "True" : "False";
    if (c.value("status", "") != want) {
      c["status"] = want;
      c["lastTransitionTime"] = SimClock::FormatTime(Now());
    }
  }
  if (!have) {
    next["conditions"].push_back({{"type", type},
                                  {"status", "True"},
                                  {"reason", "TransitionedTo" + phase},
                                  {"lastTransitionTime", SimClock::FormatTime(Now())}});
  }
  if (next == st) return;
  auto r = server().registry().Modify(
      VmsType(), k.first, k.second,
      [&](Json& obj) -> std::optional<ApiError> {
        if (cluster::Uid(obj) != cluster::Uid(b)) return ApiError::Conflict(VmsType(), k.second, "recreated");
        // evacuationNodeName belongs to the interceptor and the migration: keep the stored one.
        Json keep = obj.value("status", Json::object()).value("evacuationNodeName", Json());
        obj["status"] = next;
        obj["status"]["evacuationNodeName"] = keep;
        if (keep.is_null() && !next.contains("evacuationNodeName")) obj["status"].erase("evacuationNodeName");
        return std::nullopt;
      },
      "status");
  if (!r.ok() && r.error().code != 404 && r.error().code != 409) {
    spdlog::warn("kubevirt: status of VM {}/{}: {}", k.first, k.second, r.error().message);
  }
}

}  // namespace kinema::sim::kubevirt
