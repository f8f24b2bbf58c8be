#include "engine/admin/admin_protocol.h"

#include "engine/common/safe_json.h"
#include "engine/common/text.h"

namespace kinema {

StatusOr<AdminRequest> ParseAdminRequest(std::string_view line) {
  if (line.size() > kMaxAdminMessageBytes) {
    return Status::InvalidArgument("request exceeds " + std::to_string(kMaxAdminMessageBytes) + " bytes");
  }
  auto j = safe_json::Parse(line);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("request is not a JSON object");
  AdminRequest r;
  struct Field {
    const char* name;
    std::string* out;
  };
  for (const Field& f : {Field{"command", &r.command}, Field{"id", &r.id}, Field{"reason", &r.reason},
                         Field{"identity", &r.identity}}) {
    const auto* v = safe_json::Find(j, f.name);
    if (v == nullptr || v->is_null()) continue;
    auto s = safe_json::AsString(*v);
    if (!s) return Status::InvalidArgument(std::string("request field \"") + f.name + "\" is not a string");
    *f.out = *s;
  }
  if (r.command.empty()) return Status::InvalidArgument("request has no command");
  return r;
}

nlohmann::json AdminErrorResponse(const Status& s) {
  return {{"ok", false}, {"code", Status::CodeName(s.code())}, {"error", SanitizeUtf8(s.message())}};
}

}  // namespace kinema
