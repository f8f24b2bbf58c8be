#include "tools/kinema-sim/runner/process_kubelet.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/kinema-sim/base64.h"
#include "tools/kinema-sim/cluster/volume_binder.h"
#include "tools/kinema-sim/runner/container_process.h"
#include "tools/kinema-sim/runner/pod_environment.h"
#include "tools/kinema-sim/runner/pod_files.h"
#include "tools/kinema-sim/runner/probe.h"

namespace kinema::sim::runner {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char kServiceAccountMount[] = "/var/run/secrets/kubernetes.io/serviceaccount";
constexpr double kBackoffInitial = 10, kBackoffMax = 300, kBackoffReset = 600;
constexpr long long kTokenSeconds = 3607;  // the kubelet's projected token lifetime

const ResourceType& Type(const char* plural) { return *ResourceRegistry::Default().Find("", "v1", plural); }

std::string UidOf(const Json& o) { return o.value("metadata", Json::object()).value("uid", ""); }
bool Terminating(const Json& o) { return o.value("metadata", Json::object()).contains("deletionTimestamp"); }

Clock::duration Seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }

std::vector<std::string> Strings(const Json& j) {
  std::vector<std::string> out;
  for (const auto& x : j.is_array() ? j : Json::array()) out.push_back(x.is_string() ? x.get<std::string>() : x.dump());
  return out;
}

bool NodeReady(const ObjectPtr& node) {
  if (!node) return false;
  for (const auto& c : node->body.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

}  // namespace

struct ProcessKubelet::PodRun {
  struct Container {
    std::string name, image;
    const RunImage* run_image = nullptr;
    std::unique_ptr<ContainerProcess> proc;
    std::optional<Probe> startup, liveness, readiness;
    Clock::time_point started{}, next_start{};
    SimClock::TimePoint started_at{};
    bool started_ok = false, ready = false, finished = false;
    int restarts = 0;
    double backoff = 0;
    Json last_state = Json::object();
    std::string waiting_reason = "ContainerCreating", waiting_message;
    bool killing = false;
    Clock::time_point kill_deadline{};
  };
  std::string uid, node;
  std::unique_ptr<PodFiles> files;
  std::vector<Container> containers;
  bool prepared = false, terminating = false, node_lost = false;
  Clock::time_point next_prepare{}, next_refresh{}, term_deadline{};
  SimClock::TimePoint token_refresh{};
  std::map<std::string, std::string> volume_hash;  // volume -> data it was written from
  std::string pending_message;
  Json written_status;
  std::string cwd;
};

ProcessKubelet::ProcessKubelet(ImageMap images) : images_(std::move(images)) {}

ProcessKubelet::~ProcessKubelet() { Stop(); }

bool ProcessKubelet::Runs(const Json& pod) const {
  const Json containers = pod.value("spec", Json::object()).value("containers", Json::array());
  return containers.is_array() && !containers.empty() && containers[0].is_object() &&
         images_.Match(containers[0].value("image", "")) != nullptr;
}

Status ProcessKubelet::Start(SimServer& server) {
  server_ = &server;
  WatchFilter f;
  f.resource = &Type("pods");
  watcher_ = server.store().Subscribe(f, [this] {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
    cv_.notify_one();
  });
  for (const ObjectPtr& p : server.store().List(f).items) {
    if (Runs(p->body)) tracked_.insert({p->ns, p->name});
  }
  thread_ = std::thread([this] { Loop(); });
  spdlog::info("run-image kubelet: state under {}", server.options().state_dir);
  return Status::OK();
}

void ProcessKubelet::Stop() {
  if (stop_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  if (watcher_) watcher_->Stop();
  // The simulator goes away: its containers stop like a node shutting down.
  for (auto& [key, run] : runs_) KillAll(*run, SIGTERM);
  auto until = Clock::now() + std::chrono::seconds(10);
  bool any = true;
  while (any && Clock::now() < until) {
    any = false;
    for (auto& [key, run] : runs_) {
      for (auto& c : run->containers) {
        if (c.proc && c.proc->running() && !c.proc->Poll()) any = true;
      }
    }
    if (any) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  runs_.clear();  // SIGKILLs what is left
}

void ProcessKubelet::KillAll(PodRun& run, int sig) {
  for (auto& c : run.containers) {
    if (c.proc && c.proc->running()) c.proc->Signal(sig);
  }
}

void ProcessKubelet::Loop() {
  while (!stop_) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(100), [this] { return wake_; });
      wake_ = false;
    }
    if (stop_) break;
    for (const WatchItem& item : watcher_->Take()) {
      if (item.object && Runs(item.object->body)) tracked_.insert({item.object->ns, item.object->name});
    }
    for (const Key& k : std::vector<Key>(tracked_.begin(), tracked_.end())) Sync(k);
  }
}

std::optional<std::map<std::string, std::string>> ProcessKubelet::Lookup(const std::string& ns, const std::string& kind,
                                                                         const std::string& name) const {
  bool secret = kind == "Secret";
  ObjectPtr o = server_->store().Get(Type(secret ? "secrets" : "configmaps"), ns, name);
  if (!o) return std::nullopt;
  std::map<std::string, std::string> out;
  for (const char* field : {"data", "binaryData"}) {
    const Json d = o->body.value(field, Json::object());
    if (!d.is_object()) continue;
    for (auto it = d.begin(); it != d.end(); ++it) {
      if (!it.value().is_string()) continue;
      bool encoded = secret || std::string(field) == "binaryData";
      auto v = encoded ? Base64Decode(it.value().get<std::string>()) : std::optional<std::string>(it.value().get<std::string>());
      if (v) out[it.key()] = *v;
    }
  }
  return out;
}

void ProcessKubelet::Event(const Json& pod, const std::string& type, const std::string& reason, const std::string& message) {
  std::string ns = pod["metadata"].value("namespace", ""), name = pod["metadata"].value("name", "");
  std::string now = SimClock::FormatTime(server_->clock().Now());
  Json ev = {{"apiVersion", "v1"},
             {"kind", "Event"},
             {"metadata", {{"generateName", name + "."}, {"namespace", ns}}},
             {"involvedObject",
              {{"kind", "Pod"}, {"namespace", ns}, {"name", name}, {"uid", UidOf(pod)}, {"apiVersion", "v1"}}},
             {"reason", reason},
             {"message", message},
             {"type", type},
             {"source", {{"component", "kubelet"}, {"host", pod["spec"].value("nodeName", "")}}},
             {"firstTimestamp", now},
             {"lastTimestamp", now},
             {"count", 1},
             {"reportingComponent", "kubelet"},
             {"reportingInstance", pod["spec"].value("nodeName", "")}};
  server_->registry().Create(*ResourceRegistry::Default().Find("", "v1", "events"), ns, std::move(ev));
  spdlog::info("run-image kubelet: pod {}/{}: {} {}: {}", ns, name, type, reason, message);
}

void ProcessKubelet::Sync(const Key& key) {
  ObjectPtr po = server_->store().Get(Type("pods"), key.first, key.second);
  auto it = runs_.find(key);
  if (!po || (it != runs_.end() && it->second->uid != UidOf(po->body))) {
    if (it != runs_.end()) {  // gone (force-deleted, PodGC) or replaced: its processes die now
      KillAll(*it->second, SIGKILL);
      for (auto& c : it->second->containers) {
        if (c.proc) c.proc->Poll();
      }
      it->second->files->RemoveVolumes();
      spdlog::info("run-image kubelet: pod {}/{} is gone: its processes were killed", key.first, key.second);
      runs_.erase(it);
    }
    if (!po) {
      tracked_.erase(key);
      return;
    }
    it = runs_.end();
  }
  const Json& pod = po->body;
  std::string node = pod.value("spec", Json::object()).value("nodeName", "");
  if (node.empty()) return;  // not scheduled yet
  ObjectPtr node_obj = server_->store().Get(Type("nodes"), "", node);
  if (it == runs_.end()) {
    if (Terminating(pod)) {
      if (NodeReady(node_obj)) server_->registry().FinishPodTermination(key.first, key.second);
      return;
    }
    std::string phase = pod.value("status", Json::object()).value("phase", "Pending");
    if (phase == "Succeeded" || phase == "Failed") return;
    if (!NodeReady(node_obj)) return;
    auto run = std::make_unique<PodRun>();
    run->uid = UidOf(pod);
    run->node = node;
    run->files = std::make_unique<PodFiles>(server_->options().state_dir, key.first, key.second, run->uid);
    for (const auto& c : pod["spec"].value("containers", Json::array())) {
      PodRun::Container pc;
      pc.name = c.value("name", "");
      pc.image = c.value("image", "");
      pc.run_image = images_.Match(pc.image);
      pc.startup = Probe::FromContainer(c, "startupProbe");
      pc.liveness = Probe::FromContainer(c, "livenessProbe");
      pc.readiness = Probe::FromContainer(c, "readinessProbe");
      run->containers.push_back(std::move(pc));
    }
    it = runs_.emplace(key, std::move(run)).first;
  }
  PodRun& run = *it->second;
  if (!node_obj) {
    if (!run.node_lost) {  // the machine is gone: so are its processes
      run.node_lost = true;
      KillAll(run, SIGKILL);
      spdlog::warn("run-image kubelet: node {} of pod {}/{} was deleted: its processes were killed", node, key.first,
                   key.second);
    }
    for (auto& c : run.containers) {
      if (c.proc) c.proc->Poll();
    }
    return;  // PodGC removes the pod
  }
  if (Terminating(pod)) {
    Terminate(run, pod);
    return;
  }
  if (!run.prepared) {
    if (Clock::now() < run.next_prepare) return;
    Status st = Prepare(run, pod);
    if (!st.ok()) {
      run.next_prepare = Clock::now() + std::chrono::seconds(1);
      if (run.pending_message != st.message()) {
        run.pending_message = st.message();
        Event(pod, "Warning", "FailedMount", st.message());
      }
      for (auto& c : run.containers) c.waiting_message = st.message();
      WriteStatus(run, pod);
      return;
    }
    run.prepared = true;
    StartContainers(run, pod);
  }
  Supervise(run, pod);
  RefreshVolumes(run, pod);
  WriteStatus(run, pod);
}

Status ProcessKubelet::Prepare(PodRun& run, const Json& pod) {
  const std::string ns = pod["metadata"].value("namespace", ""), name = pod["metadata"].value("name", "");
  const Json& spec = pod["spec"];
  PodFiles& files = *run.files;
  std::string sa_name = spec.value("serviceAccountName", spec.value("serviceAccount", "default"));
  ObjectPtr sa = server_->store().Get(Type("serviceaccounts"), ns, sa_name);
  if (!sa) return Status::NotFound("serviceaccount \"" + sa_name + "\" not found");
  std::map<std::string, std::string> mounts_by_volume;
  for (const auto& v : spec.value("volumes", Json::array())) {
    std::string vname = v.value("name", "");
    std::string dir;
    if (v.contains("configMap") || v.contains("secret")) {
      bool secret = v.contains("secret");
      const Json src = v[secret ? "secret" : "configMap"];
      std::string source = secret ? src.value("secretName", "") : src.value("name", "");
      auto data = Lookup(ns, secret ? "Secret" : "ConfigMap", source);
      if (!data) {
        if (!src.value("optional", false)) {
          return Status::NotFound("MountVolume.SetUp failed for volume \"" + vname + "\" : " +
                                  (secret ? "secret" : "configmap") + " \"" + source + "\" not found");
        }
        data.emplace();
      }
      auto d = files.WriteProjected(vname, *data, src.value("items", Json::array()), src.value("defaultMode", 0644));
      if (!d.ok()) return d.status();
      dir = *d;
      std::string hash;
      for (const auto& [k, val] : *data) hash += k + '\0' + val + '\0';
      run.volume_hash[vname] = hash;
    } else if (v.contains("emptyDir")) {
      auto d = files.EmptyDir(vname);
      if (!d.ok()) return d.status();
      dir = *d;
    } else if (v.contains("hostPath")) {
      dir = v["hostPath"].value("path", "");
    } else if (v.contains("persistentVolumeClaim")) {
      std::string claim = v["persistentVolumeClaim"].value("claimName", "");
      ObjectPtr pvc = server_->store().Get(Type("persistentvolumeclaims"), ns, claim);
      if (!pvc) return Status::NotFound("persistentvolumeclaim \"" + claim + "\" not found");
      std::string pv_name = pvc->body.value("spec", Json::object()).value("volumeName", "");
      ObjectPtr pv = pv_name.empty() ? nullptr : server_->store().Get(Type("persistentvolumes"), "", pv_name);
      if (!pv || pvc->body.value("status", Json::object()).value("phase", "") != "Bound") {
        return Status::FailedPrecondition("persistentvolumeclaim \"" + claim + "\" is not bound");
      }
      dir = pv->body["spec"].value("hostPath", Json::object()).value("path", "");
      if (dir.empty()) return Status::FailedPrecondition("persistentvolume " + pv_name + " has no hostPath directory");
      std::error_code ec;
      fs::create_directories(dir, ec);
    } else {
      continue;  // projected/downwardAPI/... volumes are not laid out (README)
    }
    mounts_by_volume[vname] = dir;
  }
  // The ServiceAccount token volume (the admission plugin's kube-api-access-*).
  bool automount = spec.value("automountServiceAccountToken", sa->body.value("automountServiceAccountToken", true));
  std::string sa_dir;
  if (automount) {
    rbac::TokenClaims claims;
    claims.ns = ns;
    claims.service_account = sa_name;
    claims.service_account_uid = UidOf(sa->body);
    claims.pod = name;
    claims.pod_uid = run.uid;
    claims.node = run.node;
    claims.issued_at = server_->clock().Now();
    claims.expires_at = claims.issued_at + std::chrono::seconds(kTokenSeconds);
    std::map<std::string, std::string> data = {
        {"token", server_->tokens().Issue(claims)}, {"ca.crt", server_->ca_pem()}, {"namespace", ns}};
    auto d = files.WriteProjected("kube-api-access", data, Json::array(), 0644);
    if (!d.ok()) return d.status();
    sa_dir = *d;
    run.token_refresh = claims.issued_at + std::chrono::seconds(kTokenSeconds * 8 / 10);
    KINEMA_RETURN_IF_ERROR(files.AddMount({kServiceAccountMount, sa_dir}));
  }
  const Json& c0 = spec["containers"][0];
  for (const auto& m : c0.value("volumeMounts", Json::array())) {
    auto v = mounts_by_volume.find(m.value("name", ""));
    if (v == mounts_by_volume.end()) continue;
    std::string dir = v->second;
    if (!m.value("subPath", "").empty()) {
      dir = (fs::path(dir) / m.value("subPath", "")).string();
      std::error_code ec;
      fs::create_directories(dir, ec);
    }
    KINEMA_RETURN_IF_ERROR(files.AddMount({m.value("mountPath", ""), dir}));
  }
  // Files were projected before the mounts were known: project again so
  // their text is mapped (a no-op rewrite when nothing refers to a mount).
  for (const auto& v : spec.value("volumes", Json::array())) {
    if (!v.contains("configMap") && !v.contains("secret")) continue;
    bool secret = v.contains("secret");
    const Json src = v[secret ? "secret" : "configMap"];
    auto data = Lookup(ns, secret ? "Secret" : "ConfigMap", secret ? src.value("secretName", "") : src.value("name", ""));
    if (data) {
      auto d = files.WriteProjected(v.value("name", ""), *data, src.value("items", Json::array()), src.value("defaultMode", 0644));
      if (!d.ok()) return d.status();
    }
  }
  std::string wd = c0.value("workingDir", "");
  run.cwd = wd.empty() ? files.root() : files.MapPath(wd);
  if (!fs::is_directory(run.cwd)) run.cwd = files.root();
  (void)sa_dir;
  return Status::OK();
}

void ProcessKubelet::StartContainers(PodRun& run, const Json& pod) {
  const Json containers = pod["spec"].value("containers", Json::array());
  for (size_t i = 0; i < run.containers.size() && i < containers.size(); ++i) {
    auto& c = run.containers[i];
    if (c.proc && c.proc->running()) continue;
    if (Clock::now() < c.next_start) continue;
    if (!c.run_image) {
      c.waiting_reason = "ErrImagePull";
      c.waiting_message = "kinema-sim has no --run-image entry for image \"" + c.image + "\"";
      continue;
    }
    const Json& spec = containers[i];
    std::vector<std::string> command = Strings(spec.value("command", Json::array()));
    std::vector<std::string> args = Strings(spec.value("args", Json::array()));
    EnvContext ctx;
    ctx.pod = &pod;
    ctx.container = &spec;
    std::string url = server_->ServerUrl();  // https://127.0.0.1:PORT
    ctx.api_host = url.substr(url.find("//") + 2, url.rfind(':') - url.find("//") - 2);
    if (ctx.api_host.size() > 2 && ctx.api_host.front() == '[') ctx.api_host = ctx.api_host.substr(1, ctx.api_host.size() - 2);
    ctx.api_port = server_->port();
    ctx.service_account_dir = run.files->MapPath(kServiceAccountMount);
    if (ctx.service_account_dir == kServiceAccountMount) ctx.service_account_dir.clear();
    ctx.home = run.files->root();
    std::string ns = pod["metadata"].value("namespace", "");
    ctx.lookup = [this, ns](const std::string& kind, const std::string& name) { return Lookup(ns, kind, name); };
    PodFiles* files = run.files.get();
    ctx.map_text = [files](const std::string& s) { return files->MapText(s); };
    auto env = BuildEnvironment(ctx);
    std::map<std::string, std::string> vars;
    if (env.ok()) {
      for (const auto& [k, v] : *env) vars[k] = v;
    }
    auto argv = env.ok() ? images_.Argv(*c.run_image, command, args) : StatusOr<std::vector<std::string>>(env.status());
    Status st = argv.status();
    if (st.ok()) {
      for (size_t a = 0; a < argv->size(); ++a) {
        if (a > 0) (*argv)[a] = ExpandVars(files->MapText((*argv)[a]), vars);
      }
      std::vector<std::string> envp;
      for (const auto& [k, v] : *env) envp.push_back(k + "=" + v);
      // The previous run's log becomes --previous.
      std::error_code ec;
      if (c.restarts > 0) fs::rename(files->LogPath(c.name, false), files->LogPath(c.name, true), ec);
      c.proc = std::make_unique<ContainerProcess>();
      st = c.proc->Start(*argv, envp, run.cwd, files->LogPath(c.name, false));
    }
    if (!st.ok()) {
      c.proc.reset();
      c.waiting_reason = st.code() == Status::Code::kNotFound ? "CreateContainerConfigError" : "RunContainerError";
      c.waiting_message = st.message();
      c.backoff = c.backoff == 0 ? kBackoffInitial : std::min(c.backoff * 2, kBackoffMax);
      c.next_start = Clock::now() + Seconds(c.backoff);
      Event(pod, "Warning", "Failed", "Error: " + st.message());
      continue;
    }
    c.started = Clock::now();
    c.started_at = server_->clock().Now();
    c.started_ok = !c.startup;
    c.ready = false;
    c.killing = false;
    c.waiting_reason.clear();
    c.waiting_message.clear();
    for (auto* p : {&c.startup, &c.liveness, &c.readiness}) {
      if (*p) (*p)->Reset();
    }
    std::string cmdline;
    for (const auto& a : *argv) cmdline += (cmdline.empty() ? "" : " ") + a;
    Event(pod, "Normal", "Started", "Started container " + c.name + " (pid " + std::to_string(c.proc->pid()) + "): " +
                                        cmdline);
  }
}

void ProcessKubelet::Supervise(PodRun& run, const Json& pod) {
  auto now = Clock::now();
  std::string policy = pod["spec"].value("restartPolicy", "Always");
  long long grace = pod["spec"].value("terminationGracePeriodSeconds", 30LL);
  for (auto& c : run.containers) {
    if (!c.proc) continue;
    if (auto exit = c.proc->Poll()) {
      std::string reason = exit->exit_code == 0 ? "Completed" : "Error";
      c.last_state = {{"terminated",
                       {{"exitCode", exit->exit_code},
                        {"reason", reason},
                        {"startedAt", SimClock::FormatTime(c.started_at)},
                        {"finishedAt", SimClock::FormatTime(server_->clock().Now())},
                        {"containerID", "kinema-sim://" + c.name}}}};
      if (exit->signal) c.last_state["terminated"]["signal"] = exit->signal;
      c.proc.reset();
      c.ready = false;
      c.started_ok = false;
      bool restart = policy == "Always" || (policy == "OnFailure" && exit->exit_code != 0);
      if (!restart) {
        c.finished = true;
        continue;
      }
      double ran = std::chrono::duration<double>(now - c.started).count();
      c.backoff = ran >= kBackoffReset || c.backoff == 0 ? kBackoffInitial : std::min(c.backoff * 2, kBackoffMax);
      c.next_start = now + Seconds(c.backoff);
      ++c.restarts;
      c.waiting_reason = "CrashLoopBackOff";
      c.waiting_message = "back-off " + std::to_string(static_cast<int>(c.backoff)) + "s restarting failed container=" +
                          c.name + " pod=" + pod["metadata"].value("name", "");
      Event(pod, "Warning", "BackOff", "Container " + c.name + " exited with code " + std::to_string(exit->exit_code) +
                                           "; " + c.waiting_message);
      continue;
    }
    if (c.killing) {
      if (now >= c.kill_deadline) c.proc->Signal(SIGKILL);
      continue;
    }
    if (c.startup && !c.started_ok) {
      c.startup->MaybeRun(c.started, now);
      if (c.startup->succeeded()) c.started_ok = true;
      if (c.startup->failed()) {
        Event(pod, "Warning", "Unhealthy", "Startup probe failed: " + c.startup->last_error());
        c.killing = true;
        c.kill_deadline = now + std::chrono::seconds(grace);
        c.proc->Signal(SIGTERM);
        Event(pod, "Normal", "Killing", "Container " + c.name + " failed startup probe, will be restarted");
      }
      continue;
    }
    if (c.liveness && c.liveness->MaybeRun(c.started, now) && c.liveness->failed()) {
      Event(pod, "Warning", "Unhealthy", "Liveness probe failed: " + c.liveness->last_error());
      c.killing = true;
      c.kill_deadline = now + std::chrono::seconds(grace);
      c.proc->Signal(SIGTERM);
      Event(pod, "Normal", "Killing", "Container " + c.name + " failed liveness probe, will be restarted");
      continue;
    }
    if (c.readiness) {
      if (c.readiness->MaybeRun(c.started, now) && c.readiness->failed()) {
        Event(pod, "Warning", "Unhealthy", "Readiness probe failed: " + c.readiness->last_error());
      }
      c.ready = c.readiness->succeeded();
    } else {
      c.ready = true;
    }
  }
  StartContainers(run, pod);  // those whose back-off is over
}

void ProcessKubelet::Terminate(PodRun& run, const Json& pod) {
  auto now = Clock::now();
  if (!run.terminating) {
    run.terminating = true;
    long long grace = pod["metadata"].value("deletionGracePeriodSeconds", 30LL);
    run.term_deadline = now + std::chrono::seconds(std::max(0LL, grace));
    KillAll(run, grace > 0 ? SIGTERM : SIGKILL);
    Event(pod, "Normal", "Killing", "Stopping container(s) (grace period " + std::to_string(grace) + "s)");
  }
  bool running = false;
  for (auto& c : run.containers) {
    if (c.proc && !c.proc->Poll()) running = true;
  }
  if (running && now >= run.term_deadline) {
    KillAll(run, SIGKILL);
    return;  // reaped on the next pass
  }
  if (running) return;
  std::string ns = pod["metadata"].value("namespace", ""), name = pod["metadata"].value("name", "");
  auto r = server_->registry().FinishPodTermination(ns, name);
  if (r.ok() || r.error().code == 404) {
    run.files->RemoveVolumes();
    spdlog::info("run-image kubelet: pod {}/{} terminated", ns, name);
    runs_.erase({ns, name});
  }
}

void ProcessKubelet::RefreshVolumes(PodRun& run, const Json& pod) {
  auto now = Clock::now();
  if (now < run.next_refresh) return;
  run.next_refresh = now + std::chrono::seconds(1);
  std::string ns = pod["metadata"].value("namespace", "");
  if (run.token_refresh != SimClock::TimePoint{} && server_->clock().Now() >= run.token_refresh) {
    std::string sa_name = pod["spec"].value("serviceAccountName", "default");
    ObjectPtr sa = server_->store().Get(Type("serviceaccounts"), ns, sa_name);
    if (sa) {
      rbac::TokenClaims claims;
      claims.ns = ns;
      claims.service_account = sa_name;
      claims.service_account_uid = UidOf(sa->body);
      claims.pod = pod["metadata"].value("name", "");
      claims.pod_uid = run.uid;
      claims.node = run.node;
      claims.issued_at = server_->clock().Now();
      claims.expires_at = claims.issued_at + std::chrono::seconds(kTokenSeconds);
      std::map<std::string, std::string> data = {
          {"token", server_->tokens().Issue(claims)}, {"ca.crt", server_->ca_pem()}, {"namespace", ns}};
      if (run.files->WriteProjected("kube-api-access", data, Json::array(), 0644).ok()) {
        run.token_refresh = claims.issued_at + std::chrono::seconds(kTokenSeconds * 8 / 10);
        spdlog::info("run-image kubelet: pod {}/{}: service account token rotated", ns, claims.pod);
      }
    }
  }
  for (const auto& v : pod["spec"].value("volumes", Json::array())) {
    if (!v.contains("configMap") && !v.contains("secret")) continue;
    bool secret = v.contains("secret");
    const Json src = v[secret ? "secret" : "configMap"];
    auto data = Lookup(ns, secret ? "Secret" : "ConfigMap", secret ? src.value("secretName", "") : src.value("name", ""));
    if (!data) data.emplace();
    std::string hash;
    for (const auto& [k, val] : *data) hash += k + '\0' + val + '\0';
    std::string vname = v.value("name", "");
    if (run.volume_hash[vname] == hash) continue;
    if (run.files->WriteProjected(vname, *data, src.value("items", Json::array()), src.value("defaultMode", 0644)).ok()) {
      run.volume_hash[vname] = hash;
      spdlog::info("run-image kubelet: pod {}/{}: volume {} updated", ns, pod["metadata"].value("name", ""), vname);
    }
  }
}

void ProcessKubelet::WriteStatus(PodRun& run, const Json& pod) {
  Json statuses = Json::array();
  bool all_ready = !run.containers.empty(), any_started = false, all_finished = !run.containers.empty();
  bool any_failed = false;
  for (const auto& c : run.containers) {
    Json state;
    if (c.proc && c.proc->running()) {
      state = {{"running", {{"startedAt", SimClock::FormatTime(c.started_at)}}}};
      any_started = true;
    } else if (c.finished) {
      state = c.last_state;
      any_failed = any_failed || c.last_state["terminated"].value("exitCode", 0) != 0;
    } else {
      state = {{"waiting", {{"reason", c.waiting_reason.empty() ? "ContainerCreating" : c.waiting_reason}}}};
      if (!c.waiting_message.empty()) state["waiting"]["message"] = c.waiting_message;
      any_started = any_started || c.restarts > 0;
    }
    all_ready = all_ready && c.ready && c.proc && c.proc->running();
    all_finished = all_finished && c.finished;
    Json cs = {{"name", c.name},
               {"image", c.image},
               {"imageID", c.run_image ? "kinema-sim-run-image://" + c.run_image->executable : ""},
               {"ready", c.ready && c.proc && c.proc->running()},
               {"started", c.started_ok && c.proc && c.proc->running()},
               {"restartCount", c.restarts},
               {"state", state},
               {"lastState", c.last_state}};
    if (c.proc && c.proc->running()) cs["containerID"] = "kinema-sim://" + std::to_string(c.proc->pid());
    statuses.push_back(cs);
  }
  std::string phase = all_finished ? (any_failed ? "Failed" : "Succeeded") : any_started ? "Running" : "Pending";
  Json want = {{"phase", phase}, {"containerStatuses", statuses}, {"ready", all_ready}, {"prepared", run.prepared}};
  if (want == run.written_status) return;
  std::string host_ip;
  ObjectPtr node = server_->store().Get(Type("nodes"), "", run.node);
  if (node) {
    for (const auto& a : node->body.value("status", Json::object()).value("addresses", Json::array())) {
      if (a.value("type", "") == "InternalIP") host_ip = a.value("address", "");
    }
  }
  auto now = server_->clock().Now();
  std::string ts = SimClock::FormatTime(now);
  std::string uid = run.uid;
  auto r = server_->registry().Modify(
      Type("pods"), pod["metadata"].value("namespace", ""), pod["metadata"].value("name", ""),
      [&](Json& p) -> std::optional<ApiError> {
        if (UidOf(p) != uid) return ApiError::Conflict(Type("pods"), p["metadata"].value("name", ""), "pod was replaced");
        Json& st = p["status"];
        if (!st.is_object()) st = Json::object();
        st["phase"] = phase;
        st["containerStatuses"] = statuses;
        if (!host_ip.empty()) {
          st["hostIP"] = host_ip;
          st["hostIPs"] = Json::array({{{"ip", host_ip}}});
        }
        st["podIP"] = "127.0.0.1";  // the process shares this machine's network (hostNetwork-like)
        st["podIPs"] = Json::array({{{"ip", "127.0.0.1"}}});
        if (!st.contains("startTime")) st["startTime"] = ts;
        auto set_cond = [&](const std::string& type, bool value, const std::string& reason) {
          Json& conds = st["conditions"];
          if (!conds.is_array()) conds = Json::array();
          std::string v = value ? "True" : "False";
          for (auto& c : conds) {
            if (c.value("type", "") != type) continue;
            if (c.value("status", "") != v) c["lastTransitionTime"] = ts;
            c["status"] = v;
            if (reason.empty()) c.erase("reason");
            else c["reason"] = reason;
            return;
          }
          Json c = {{"type", type}, {"status", v}, {"lastProbeTime", nullptr}, {"lastTransitionTime", ts}};
          if (!reason.empty()) c["reason"] = reason;
          conds.push_back(c);
        };
        set_cond("PodReadyToStartContainers", run.prepared, "");
        set_cond("Initialized", true, "");
        set_cond("ContainersReady", all_ready, all_ready ? "" : "ContainersNotReady");
        set_cond("Ready", all_ready, all_ready ? "" : "ContainersNotReady");
        set_cond("PodScheduled", true, "");
        return std::nullopt;
      },
      "status");
  if (r.ok()) run.written_status = want;
}

HttpResponse ProcessKubelet::Logs(const HttpRequest& req, const std::string& ns, const std::string& name) const {
  HttpResponse r;
  r.content_type = "text/plain";
  ObjectPtr po = server_->store().Get(Type("pods"), ns, name);
  if (!po) {
    r.status = 404;
    r.content_type = "application/json";
    r.body = ApiError::NotFound(Type("pods"), name).ToStatusJson().dump();
    return r;
  }
  auto bad = [&](const std::string& msg) {
    HttpResponse e;
    e.status = 400;
    e.body = ApiError::BadRequest(msg).ToStatusJson().dump();
    return e;
  };
  std::vector<std::string> names;
  for (const auto& c : po->body["spec"].value("containers", Json::array())) names.push_back(c.value("name", ""));
  std::string container = req.Query("container");
  if (container.empty()) {
    if (names.size() != 1) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
      return bad("a container name must be specified for pod " + name + ", choose one of: [" + list + "]");
    }
    container = names[0];
  } else if (std::find(names.begin(), names.end(), container) == names.end()) {
    return bad("container " + container + " is not valid for pod " + name);
  }
  if (!Runs(po->body)) return r;  // simulated containers write nothing
  PodFiles files(server_->options().state_dir, ns, name, UidOf(po->body));
  bool previous = req.Query("previous") == "true" || req.Query("previous") == "1";
  std::ifstream in(files.LogPath(container, previous), std::ios::binary);
  if (!in) {
    if (previous) return bad("previous terminated container \"" + container + "\" in pod \"" + name + "\" not found");
    return bad("container \"" + container + "\" in pod \"" + name + "\" is waiting to start: ContainerCreating");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (req.HasQuery("tailLines")) {
    long long n = std::atoll(req.Query("tailLines").c_str());
    size_t pos = text.size();
    if (pos > 0 && text.back() == '\n') --pos;
    for (long long i = 0; i < n && pos != std::string::npos && pos > 0; ++i) {
      pos = text.rfind('\n', pos - 1);
    }
    if (n >= 0 && pos != std::string::npos && pos > 0) text = text.substr(pos + 1);
    if (n == 0) text.clear();
  }
  if (req.HasQuery("limitBytes")) {
    long long n = std::atoll(req.Query("limitBytes").c_str());
    if (n > 0 && static_cast<size_t>(n) < text.size()) text.resize(static_cast<size_t>(n));
  }
  r.body = std::move(text);
  return r;
}

}  // namespace kinema::sim::runner
