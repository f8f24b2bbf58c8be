// Fuzz target: GCE Compute answers as engine/cloud decodes them —
// operations (and their error lists), instances, machine types, and HTTP
// error bodies (first input line: the HTTP status).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/cloud/gce_wire.h"
#include "engine/common/safe_json.h"
#include "engine/common/text.h"

using namespace kinema;
using namespace kinema::cloud;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  long code = 200;
  size_t nl = in.find('\n');
  if (nl != std::string_view::npos && nl <= 3) {
    code = 0;
    for (char c : in.substr(0, nl)) code = c >= '0' && c <= '9' ? code * 10 + (c - '0') : code;
    in.remove_prefix(nl + 1);
  }
  if (code >= 300) {
    Status s = GceHttpError(code, in, "gce insert instance x");
    if (!IsValidUtf8(s.message())) std::abort();
    (void)GceErrorKind(code, in);
    (void)GceErrorReason(in);
    return 0;
  }
  auto j = safe_json::Parse(in);
  auto op = ParseOperation(j, "gce wait operation");
  if (op.ok()) {
    if (op->progress < 0 || op->progress > 100) std::abort();
    if (!IsValidUtf8(op->error.message())) std::abort();
  }
  (void)ParseInstance(j, "gce get instance");
  auto mt = ParseMachineType(j, "gce get machine type");
  if (mt.ok() && (mt->guest_cpus < 0 || mt->memory_mb < 0)) std::abort();
  return 0;
}
