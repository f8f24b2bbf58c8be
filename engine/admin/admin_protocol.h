// The admin socket protocol between kinemactl and a running controller.
//
// Transport: a Unix domain stream socket (default "<journal>.sock", mode
// 0600 from its creation: only the controller's user may send commands). One
// request per connection: a single JSON line in, a single JSON line out.
//   request:  {"command":"abort|resume|pause|terminate|ping","id":"...",
//              "reason":"...","identity":"user@host"}
//   response: {"ok":true,"id":"...","accepted":true,"status":"running","message":"..."}
//          or {"ok":false,"code":"FailedPrecondition","error":"..."}
// Limits: a request line is at most kMaxAdminMessageBytes; a connection is
// served within kAdminSessionTimeout or closed.
// Identity: "identity" is what the client claims; the server also records
// the peer's uid and pid from the socket (SO_PEERCRED), which the client
// cannot forge.
// Why a socket: the controller is the journal's only writer (Debian's SQLite
// 3.40 has the WAL-reset bug with two writers), so kinemactl never writes a
// journal that a controller holds; it asks the controller to.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/status.h"

namespace kinema {

inline constexpr size_t kMaxAdminMessageBytes = 64 * 1024;
inline constexpr std::chrono::milliseconds kAdminSessionTimeout{10000};

inline std::string AdminSocketPathFor(const std::string& journal_path) { return journal_path + ".sock"; }

// A request as the server acts on it. Fields other than `command` may be empty.
struct AdminRequest {
  std::string command;
  std::string id;
  std::string reason;
  std::string identity;
};

// Who is on the other end of the socket (from the kernel; -1 when unknown).
struct AdminPeer {
  int64_t uid = -1;
  int64_t gid = -1;
  int64_t pid = -1;
};

// Parses one request line. kInvalidArgument naming what is wrong: not a
// JSON object, too long, a field of the wrong type, no command.
StatusOr<AdminRequest> ParseAdminRequest(std::string_view line);

// The error response for a Status.
nlohmann::json AdminErrorResponse(const Status& s);

// Sends one request and returns the response. Unavailable when nothing
// listens on the socket (no controller, or a stale socket file).
StatusOr<nlohmann::json> SendAdminRequest(const std::string& socket_path, const nlohmann::json& request,
                                          int timeout_ms);

}  // namespace kinema
