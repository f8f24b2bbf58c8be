// kinemactl: journal inspection and workflow operations (operations.md).
#include "engine/common/logging.h"
#include "tools/kinemactl/commands.h"

int main(int argc, char** argv) {
  // Library logs (warnings and errors only) go to stderr: stdout is output.
  kinema::SetupLogging("text", "warn");
  return kinema::ctl::RunKinemactl(std::vector<std::string>(argv + 1, argv + argc));
}
