#include "tests/support/json_shape.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace kinema::testing {

namespace {

using nlohmann::json;

std::string TypeOf(const json& j) {
  if (j.is_number()) return "number";
  return j.type_name();
}

void Walk(const json& want, const json& got, const std::string& path, const std::set<std::string>& optional,
          std::string* out) {
  if (TypeOf(want) != TypeOf(got)) {
    *out += path + ": type " + TypeOf(got) + ", fixture has " + TypeOf(want) + "\n";
    return;
  }
  if (want.is_object()) {
    for (auto it = want.begin(); it != want.end(); ++it) {
      std::string p = path.empty() ? it.key() : path + "." + it.key();
      if (!got.contains(it.key())) {
        if (!optional.count(p)) *out += p + ": missing\n";
        continue;
      }
      Walk(it.value(), got[it.key()], p, optional, out);
    }
  } else if (want.is_array() && !want.empty() && !got.empty()) {
    Walk(want[0], got[0], path + "[]", optional, out);
  }
}

}  // namespace

std::string ShapeDiff(const json& fixture, const json& actual, const std::set<std::string>& optional) {
  std::string out;
  Walk(fixture, actual, "", optional, &out);
  return out;
}

json GcpFixture(const std::string& relative) {
  const char* src = std::getenv("KINEMA_SOURCE_DIR");
  std::string path = std::string(src != nullptr ? src : ".") + "/tests/fixtures/gcp/" + relative;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "fixture %s cannot be read\n", path.c_str());
    std::abort();
  }
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) {
    std::fprintf(stderr, "fixture %s is not JSON\n", path.c_str());
    std::abort();
  }
  return j;
}

}  // namespace kinema::testing
