// FlagSet: a small, strict command-line parser shared by Kinema's binaries.
//
// Accepts "--name value", "--name=value" and boolean "--name". Unknown flags,
// missing values and stray positionals (beyond those allowed) are errors;
// binaries turn them into exit code 2 with a one-line reason.
// Thread-safety: single-threaded use at start-up.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/common/status.h"

namespace kinema {

class FlagSet {
 public:
  void AddString(const std::string& name, const std::string& def, const std::string& help);
  void AddBool(const std::string& name, const std::string& help);
  // A string flag that may be given several times (GetList).
  void AddList(const std::string& name, const std::string& help);

  // Parses args (without argv[0]); positionals are collected in order.
  Status Parse(const std::vector<std::string>& args, size_t max_positionals);

  std::string Get(const std::string& name) const;
  bool IsSet(const std::string& name) const;  // given on the command line
  bool GetBool(const std::string& name) const;
  std::vector<std::string> GetList(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  std::string Usage() const;  // one line per flag

 private:
  struct Flag {
    bool is_bool = false;
    std::string value;
    std::string help;
    bool set = false;
    bool is_list = false;
    std::vector<std::string> values;  // list flags
  };
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  std::vector<std::string> positionals_;
};

}  // namespace kinema
