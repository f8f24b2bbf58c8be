// ForwardingEpochProvider: an EpochProvider that delegates to another one set
// later (e.g. the Lease elector, created after the journal is open so it can
// start above the journal's fence). With no target it holds no epoch.
// Thread-safety: safe from any thread.
#pragma once

#include <atomic>

#include "engine/workflow/epoch_provider.h"

namespace kinema {

class ForwardingEpochProvider : public EpochProvider {
 public:
  void SetTarget(const EpochProvider* target) { target_.store(target); }
  std::optional<Epoch> Current() const override {
    const EpochProvider* t = target_.load();
    return t ? t->Current() : std::nullopt;
  }

 private:
  std::atomic<const EpochProvider*> target_{nullptr};
};

}  // namespace kinema
