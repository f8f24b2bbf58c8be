// Deterministic request ids for idempotent cloud mutations.
//
// Contract:
//   - RequestIdFor(verb, key) is a name-based UUID (RFC 4122 version 5, SHA-1)
//     of "<verb>/<key>" in Kinema's own namespace: lowercase, 36 characters,
//     never the zero UUID. Same inputs → same id, on every machine and after
//     every restart, which is what GCE's `requestId` needs to deduplicate a
//     retried insert/delete.
//   - The verb ("instances.insert", "instances.delete") keeps an insert and a
//     delete that share a workflow key from colliding: GCE would otherwise
//     answer the delete with the insert's operation.
//   - Sha256Hex is the plain hex digest, used for instance names.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace kinema::cloud {

std::string RequestIdFor(std::string_view verb, std::string_view key);
std::string Sha256Hex(std::string_view data);

}  // namespace kinema::cloud
