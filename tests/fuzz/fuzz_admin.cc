// Fuzz target: admin-socket request lines as the controller parses them
// (engine/admin ParseAdminRequest) and the error response it sends back.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/admin/admin_protocol.h"
#include "engine/common/safe_json.h"

using namespace kinema;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto req = ParseAdminRequest(line);
  std::string out;
  if (req.ok()) {
    if (req->command.empty()) std::abort();
    out = safe_json::Dump({{"ok", true}, {"id", req->id}, {"reason", req->reason}, {"identity", req->identity}});
  } else {
    out = safe_json::Dump(AdminErrorResponse(req.status()));
  }
  if (safe_json::Parse(out).is_discarded()) std::abort();  // the reply is always one valid JSON line
  return 0;
}
