// Hostile answers (the "Hostile peer" rules of faults.h): how an answer the
// simulator computed is spoiled before it is sent — on the Kubernetes API,
// the fake Compute API, the metrics API and the Prometheus stand-in alike.
//
//   wrong type    one JSON value (picked by the decision's seed) replaced by a
//                 value of another type: string <-> number, object <-> array,
//                 bool -> string, null -> object
//   truncated     the body cut at a random byte; Content-Length matches
//   invalid UTF-8 "\xff\xc3(" inserted inside a string of the answer (or
//                 anywhere in a non-JSON body)
//   huge          `bytes` of leading whitespace before the answer (still
//                 valid JSON: only its size is hostile)
//   gzip bomb     Content-Encoding: gzip; `bytes` of whitespace then the
//                 answer, compressed ~1000:1 (the compressed whitespace is
//                 computed once per size and reused)
//   slow          sent unchanged, but trickled over `slow` (HttpResponse::trickle)
// Thread-safety: SpoilAnswer may be called from any io thread.
#pragma once

#include <string>

#include "tools/kinema-sim/faults.h"
#include "tools/kinema-sim/http_types.h"

namespace kinema::sim {

void SpoilAnswer(const HostileDecision& d, HttpResponse* response);

// gzip(`whitespace` spaces followed by `tail`), one gzip member.
std::string GzipBomb(size_t whitespace, const std::string& tail);

}  // namespace kinema::sim
