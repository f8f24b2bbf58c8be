// ProcessKubelet: the kubelet for pods whose container image is mapped by
// --run-image (image_map.h): it runs them as real child processes, as a
// kubelet runs containers, while every other pod stays simulated by
// cluster/kubelet.h (which skips the pods Runs() claims).
//
// For a pod bound to a Ready node it:
//   1. waits for what the pod needs (its ServiceAccount, ConfigMaps and
//      Secrets unless optional, PersistentVolumeClaims bound), reporting
//      ContainerCreating with the reason meanwhile;
//   2. lays out its files (pod_files.h): the ServiceAccount token volume
//      (a TokenRequest token bound to the pod, ca.crt, namespace; the
//      token rewritten at 80% of its hour of simulated time, like the
//      kubelet's projected tokens), ConfigMap/Secret/emptyDir/hostPath
//      volumes, PVCs (their PersistentVolume's directory);
//   3. starts each container (container_process.h) with the argv and
//      environment a kubelet would give it (image_map.h,
//      pod_environment.h), paths under mounts mapped;
//   4. runs startup, liveness and readiness probes (probe.h) and reports
//      containerStatuses (started, ready, state, lastState, restartCount),
//      Ready/ContainersReady, podIP 127.0.0.1 (host network), hostIP;
//   5. restarts exited containers per restartPolicy with the kubelet's
//      CrashLoopBackOff (10 s doubling to 5 min, reset after 10 min of
//      running); a failed liveness probe kills the container first;
//   6. on deletion sends SIGTERM, waits the grace period (wall time; the
//      process lives in real time), then SIGKILL, and completes the
//      deletion (Registry::FinishPodTermination); a pod deleted with grace
//      0, or whose node is deleted, is SIGKILLed at once.
// Logs: `GET .../pods/NAME/log` (container, previous, tailLines,
// limitBytes) serves the container's stdout+stderr; follow returns what
// is there and ends; timestamps are not recorded.
// Events: Scheduled-style kubelet events (Pulled, Created, Started,
// Killing, Unhealthy, BackOff, FailedMount) on the pod.
// Thread-safety: one worker thread; Runs() and Logs() are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "tools/kinema-sim/runner/image_map.h"
#include "tools/kinema-sim/sim_component.h"
#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::runner {

class ProcessKubelet : public SimComponent {
 public:
  explicit ProcessKubelet(ImageMap images);
  ~ProcessKubelet() override;
  std::string Name() const override { return "run-image-kubelet"; }
  Status Start(SimServer& server) override;
  void Stop() override;

  bool Runs(const nlohmann::json& pod) const;
  HttpResponse Logs(const HttpRequest& req, const std::string& ns, const std::string& name) const;

 private:
  struct PodRun;
  using Key = std::pair<std::string, std::string>;
  void Loop();
  void Sync(const Key& key);
  Status Prepare(PodRun& run, const nlohmann::json& pod);
  void StartContainers(PodRun& run, const nlohmann::json& pod);
  void Supervise(PodRun& run, const nlohmann::json& pod);
  void Terminate(PodRun& run, const nlohmann::json& pod);
  void RefreshVolumes(PodRun& run, const nlohmann::json& pod);
  void WriteStatus(PodRun& run, const nlohmann::json& pod);
  void Event(const nlohmann::json& pod, const std::string& type, const std::string& reason, const std::string& message);
  std::optional<std::map<std::string, std::string>> Lookup(const std::string& ns, const std::string& kind,
                                                           const std::string& name) const;
  void KillAll(PodRun& run, int sig);

  ImageMap images_;
  SimServer* server_ = nullptr;
  std::shared_ptr<Watcher> watcher_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  std::atomic<bool> stop_{false};
  std::set<Key> tracked_;
  std::map<Key, std::unique_ptr<PodRun>> runs_;
};

}  // namespace kinema::sim::runner
