// LeaderElector: Lease-based leader election (coordination.k8s.io/v1, the
// client-go algorithm) that is also the engine's EpochProvider.
//
// Contract:
//   - Candidates GET the Lease; create it if absent; take it over when its
//     holder has not renewed for leaseDurationSeconds *as observed locally*
//     (no clock-skew dependence); the holder renews every retry_period with a
//     conditional PUT (resourceVersion), so races end in 409 for the loser.
//   - Epoch = spec.leaseTransitions written by this process's acquisition.
//     Every acquisition (a takeover, or re-acquiring after this process lost
//     it) writes leaseTransitions = max(old + 1, min_epoch, last epoch + 1), so
//     epochs strictly increase and an epoch, once lost, is never handed out
//     again (EpochProvider contract). A freshly created Lease starts at
//     max(0, min_epoch).
//   - Current() returns nullopt as soon as renew_deadline has passed since the
//     last successful renewal was *sent* — computed on each call, not by the
//     background thread — so a partitioned leader stops acting before any
//     other candidate can take over (renew_deadline < lease_duration).
//   - on_started_leading / on_stopped_leading run on the elector thread.
//     on_stopped_leading fires once per lost epoch (deadline passed, another
//     holder seen, or Stop()).
//   - Stop() releases the Lease (holderIdentity "", so a successor need not
//     wait) when release_on_stop and still leading.
//   - Defaults: 15 s lease, 10 s renew deadline, 2 s retry (client-go).
// Thread-safety: Current() from any thread; Start/Stop from one owner thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/kube/client.h"
#include "engine/workflow/epoch_provider.h"

namespace kinema::kube {

struct LeaderElectionConfig {
  std::string lease_namespace = "kube-system";
  std::string lease_name = "kinema";
  std::string identity;  // unique per process, e.g. pod name + random suffix
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  int64_t min_epoch = 0;  // e.g. the journal's highest epoch + 1
  bool release_on_stop = true;
  std::function<void(const Epoch&)> on_started_leading;
  std::function<void(const Epoch&)> on_stopped_leading;
};

class LeaderElector : public EpochProvider {
 public:
  // Checks lease_duration > renew_deadline > 1.2 * retry_period and a
  // non-empty identity.
  static StatusOr<std::unique_ptr<LeaderElector>> Create(Client* client, LeaderElectionConfig config);
  ~LeaderElector() override;

  void Start();
  void Stop();

  std::optional<Epoch> Current() const override;
  // Holder identity last seen in the Lease ("" if none/unknown).
  std::string ObservedHolder() const;

 private:
  LeaderElector(Client* client, LeaderElectionConfig config);
  void Run();
  // One acquire-or-renew round. Returns true when this process holds the lease afterwards.
  bool TryAcquireOrRenew();
  void Release();
  void MarkLost(const std::string& why);
  StatusOr<Json> PutLease(const Json& lease, const std::string& what);

  Client* const client_;
  const LeaderElectionConfig config_;

  mutable std::mutex mu_;
  bool leading_ = false;
  Epoch epoch_;
  int64_t last_epoch_ = -1;
  std::chrono::steady_clock::time_point last_renew_sent_{};
  // Observation of other holders' records, in local time.
  std::string observed_record_;  // holder|renewTime|transitions
  std::string observed_holder_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::chrono::milliseconds observed_duration_{0};

  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::thread thread_;
};

}  // namespace kinema::kube
