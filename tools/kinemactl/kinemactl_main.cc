// kinemactl: journal inspection and workflow operations (operations.md).
#include <spdlog/spdlog.h>

#include "tools/kinemactl/commands.h"

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // library logs must not pollute output
  return kinema::ctl::RunKinemactl(std::vector<std::string>(argv + 1, argv + argc));
}
