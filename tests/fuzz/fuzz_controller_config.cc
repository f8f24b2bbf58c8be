// Fuzz target: the controller's global YAML config (engine/config: every
// global key through the shared schema builders, whose number, duration and
// URL parsers the workflow kinds' sections use too). Accepted configs must
// hold finite, non-negative durations and sane budgets.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/config/controller_config.h"
#include "engine/config/schema.h"

using namespace kinema;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto root = config::ParseYaml(text, "config");
  if (!root.ok()) return 0;
  ControllerConfig c;
  if (!config::Walk(*root, config::Map(GlobalConfigFields(&c)), "").ok()) return 0;
  if (!ValidateGlobalConfig(c).ok()) return 0;
  for (Duration d : {c.journal_retention, c.prometheus.timeout, c.pricing.refresh, c.leader_election.lease_duration,
                     c.leader_election.renew_deadline, c.leader_election.retry_period}) {
    if (d.count() < 0) std::abort();
  }
  for (const NodeBudget& b : c.budgets) {
    if (b.count < 0) std::abort();
  }
  return 0;
}
