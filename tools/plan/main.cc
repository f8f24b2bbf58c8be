// kinema-plan: standalone entry point for `kinemactl plan` (testing aid).
#include <string>
#include <vector>

#include "tools/plan/plan_command.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "plan") args.erase(args.begin());
  return kinema::RunPlanCommand(args);
}
