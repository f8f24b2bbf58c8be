// Wiring of the kinema controller process: the pieces main() connects —
// the cloud provider from config, leader election, the status server, the
// engine's metric families and the test-delay hook. No policy lives here:
// which workflows run is the KindScheduler's (engine/runtime), what they do
// is their kinds' (steps/).
// Thread-safety: start-up code, called from main's thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "engine/budget/disruption_ledger.h"
#include "engine/catalog/catalog.h"
#include "engine/cloud/cloud_provider.h"
#include "engine/config/controller_config.h"
#include "engine/kube/client.h"
#include "engine/kube/leader_elector.h"
#include "engine/pricing/price_book.h"
#include "engine/runtime/kind_scheduler.h"
#include "engine/status/metrics.h"
#include "engine/status/status_server.h"
#include "engine/workflow/forwarding_epoch_provider.h"
#include "engine/workflow/workflow_engine.h"
#include "storage/journal_writer.h"

namespace kinema::controller {

// This replica's identity: leaderElection.identity, else $POD_NAME or the
// host name, with the pid.
std::string Identity(const ControllerConfig& c);

// The cloud provider from cloud.* (gce or gke); null without cloud.project.
// gke reads node-pool labels, taints and zones from the catalog.
StatusOr<std::unique_ptr<cloud::CloudProvider>> MakeCloudProvider(const ControllerConfig::Cloud& c,
                                                                  const Catalog& catalog);

// The prices plans use (pricing.source): the catalog file's, or — with
// `billing` — live prices from the Cloud Billing Catalog (pricing.endpoint)
// and `cloud`'s machineTypes for the catalog's region and zones, the file
// as the fallback. Not started: the caller refreshes once and Start()s it.
// `billing` without a cloud provider (cloud.project) is an InvalidArgument.
StatusOr<std::unique_ptr<pricing::PriceBook>> MakePriceBook(const ControllerConfig& c, const Catalog& catalog,
                                                            cloud::CloudProvider* cloud);

// The engine's own metric families (leader, workflows, journal, lease,
// budget, evictions).
void DescribeEngineMetrics(Metrics* m);

// Leader election on the configured Lease (the client refuses mutations
// once it is lost; losing it stops the engine), or — with
// leaderElection.enabled false — a single-process epoch above the
// journal's fence. `epochs` points at whichever holds the epoch.
struct Leadership {
  std::unique_ptr<kube::LeaderElector> elector;
  std::unique_ptr<EpochProvider> single;
  std::atomic<bool> stopping{false};  // set before Stop(): a release is not a loss
  void Stop();
};
Status StartLeadership(const ControllerConfig& c, kube::Client* client, JournalWriter* journal, WorkflowEngine* engine,
                       Metrics* metrics, ForwardingEpochProvider* epochs, Leadership* out);

// Serves /healthz, /readyz (leading or standby, and what each kind is
// doing) and /metrics on server.address.
StatusOr<std::unique_ptr<StatusServer>> StartStatusServer(const ControllerConfig& c, Metrics* metrics,
                                                          const EpochProvider* epochs, JournalWriter* journal,
                                                          const KindScheduler* scheduler, const DisruptionLedger* ledger);

// KINEMA_TEST_DELAY="<point>:<step index>:<ms>" (end-to-end tests only):
// sleeps at that engine hook point; null when unset.
std::function<void(const std::string&, const std::string&, int)> TestDelayHook();

}  // namespace kinema::controller
