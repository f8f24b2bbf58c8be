// Probe: a container's startup, liveness or readiness probe run against the
// real process, with the kubelet's counting (k8s.io/kubernetes/pkg/kubelet/prober):
// initialDelaySeconds after the container starts, then every periodSeconds;
// a result is a success when the check answers within timeoutSeconds
// (httpGet: status 200-399; tcpSocket: the connection opens);
// failureThreshold consecutive failures flip it to failed,
// successThreshold consecutive successes to succeeded. Defaults as the
// API's: period 10, timeout 1, success 1, failure 3.
// Ports are the container's (a number or a containerPort name) on
// 127.0.0.1: the process shares this machine's network. `exec` probes are
// not run (reported as success, with a warning once).
// Times are wall-clock: the probed process lives in real time.
// Thread-safety: one thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace kinema::sim::runner {

class Probe {
 public:
  using Clock = std::chrono::steady_clock;
  // nullopt when the container has no such probe.
  static std::optional<Probe> FromContainer(const nlohmann::json& container, const std::string& kind);

  // Runs the check if it is due; true when the state changed.
  bool MaybeRun(Clock::time_point started, Clock::time_point now);
  bool succeeded() const { return state_ == State::kSucceeded; }
  bool failed() const { return state_ == State::kFailed; }
  std::string Describe() const;  // "httpGet http://127.0.0.1:8080/healthz"
  const std::string& last_error() const { return last_error_; }
  void Reset();

 private:
  enum class State { kUnknown, kSucceeded, kFailed };
  bool Check();
  std::string kind_, path_, scheme_ = "HTTP";
  int port_ = 0;
  bool tcp_ = false, exec_ = false;
  double initial_delay_ = 0, period_ = 10, timeout_ = 1;
  int success_threshold_ = 1, failure_threshold_ = 3;
  State state_ = State::kUnknown;
  int successes_ = 0, failures_ = 0;
  Clock::time_point next_{};
  std::string last_error_;
};

}  // namespace kinema::sim::runner
