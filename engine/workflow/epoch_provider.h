// EpochProvider: who may write the journal and act on the world right now.
//
// Contract:
//   - An epoch is a strictly increasing integer handed out by leader election
//     (the Kubernetes Lease's leaseTransitions in production; a test double in
//     tests). Every step intent is stamped with the epoch of its writer.
//   - Current() returns the epoch this process holds, or nullopt when it does
//     not hold leadership (never acquired, lost, or past its renew deadline).
//   - Once Current() has returned nullopt after holding epoch E, it must never
//     return E again: a writer that lost its epoch must not journal or act.
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kinema {

struct Epoch {
  int64_t value = 0;
  std::string holder;  // identity of the holder, e.g. pod name
};

class EpochProvider {
 public:
  virtual ~EpochProvider() = default;
  virtual std::optional<Epoch> Current() const = 0;
};

}  // namespace kinema
