// The admin socket protocol between kinemactl and a running controller.
//
// Transport: a Unix domain stream socket (default "<journal>.sock", mode
// 0600: only the controller's user may send commands). One request per
// connection: a single JSON line in, a single JSON line out.
//   request:  {"command":"abort|resume|pause|terminate","id":"...",
//              "reason":"...","identity":"user@host"}
//   response: {"ok":true,"id":"...","accepted":true,"status":"running","message":"..."}
//          or {"ok":false,"code":"FailedPrecondition","error":"..."}
// Why a socket: the controller is the journal's only writer (Debian's SQLite
// 3.40 has the WAL-reset bug with two writers), so kinemactl never writes a
// journal that a controller holds; it asks the controller to.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "engine/common/status.h"

namespace kinema {

inline std::string AdminSocketPathFor(const std::string& journal_path) { return journal_path + ".sock"; }

// Sends one request and returns the response. Unavailable when nothing
// listens on the socket (no controller, or a stale socket file).
StatusOr<nlohmann::json> SendAdminRequest(const std::string& socket_path, const nlohmann::json& request,
                                          int timeout_ms);

}  // namespace kinema
