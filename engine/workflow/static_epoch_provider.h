// StaticEpochProvider: an EpochProvider with a settable epoch, for tests,
// kinema-sample and single-process deployments without leader election.
// Thread-safety: safe from any thread.
#pragma once

#include <mutex>

#include "engine/workflow/epoch_provider.h"

namespace kinema {

class StaticEpochProvider : public EpochProvider {
 public:
  explicit StaticEpochProvider(int64_t epoch, std::string holder = "local") { Set(epoch, std::move(holder)); }
  std::optional<Epoch> Current() const override {
    std::lock_guard<std::mutex> l(mu_);
    return epoch_;
  }
  void Set(int64_t epoch, std::string holder = "local") {
    std::lock_guard<std::mutex> l(mu_);
    epoch_ = Epoch{epoch, std::move(holder)};
  }
  void Lose() {
    std::lock_guard<std::mutex> l(mu_);
    epoch_.reset();
  }

 private:
  mutable std::mutex mu_;
  std::optional<Epoch> epoch_;
};

}  // namespace kinema
