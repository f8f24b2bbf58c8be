#include "engine/common/flags.h"

namespace kinema {

void FlagSet::AddString(const std::string& name, const std::string& def, const std::string& help) {
  Flag f;
  f.value = def;
  f.help = help;
  flags_[name] = f;
  order_.push_back(name);
}

void FlagSet::AddBool(const std::string& name, const std::string& help) {
  Flag f;
  f.is_bool = true;
  f.help = help;
  flags_[name] = f;
  order_.push_back(name);
}

void FlagSet::AddList(const std::string& name, const std::string& help) {
  Flag f;
  f.help = help;
  f.is_list = true;
  flags_[name] = f;
  order_.push_back(name);
}

std::vector<std::string> FlagSet::GetList(const std::string& name) const {
  auto it = flags_.find(name);
  return it == flags_.end() ? std::vector<std::string>{} : it->second.values;
}

Status FlagSet::Parse(const std::vector<std::string>& args, size_t max_positionals) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), value;
      bool has_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      auto it = flags_.find(name);
      if (it == flags_.end()) return Status::InvalidArgument("unknown flag --" + name);
      Flag& f = it->second;
      if (f.is_bool) {
        if (has_value) return Status::InvalidArgument("flag --" + name + " takes no value");
        f.value = "true";
      } else if (has_value) {
        f.value = value;
      } else {
        if (i + 1 >= args.size()) return Status::InvalidArgument("flag --" + name + " needs a value");
        f.value = args[++i];
      }
      if (f.is_list) f.values.push_back(f.value);
      f.set = true;
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      return Status::InvalidArgument("unknown flag " + a);
    } else {
      if (positionals_.size() >= max_positionals) return Status::InvalidArgument("unexpected argument '" + a + "'");
      positionals_.push_back(a);
    }
  }
  return Status::OK();
}

std::string FlagSet::Get(const std::string& name) const {
  auto it = flags_.find(name);
  return it == flags_.end() ? "" : it->second.value;
}

bool FlagSet::IsSet(const std::string& name) const {
  auto it = flags_.find(name);
  return it != flags_.end() && it->second.set;
}

bool FlagSet::GetBool(const std::string& name) const { return Get(name) == "true"; }

std::string FlagSet::Usage() const {
  std::string out;
  for (const auto& n : order_) {
    const Flag& f = flags_.at(n);
    std::string left = "  --" + n + (f.is_bool ? "" : " VALUE") + (f.is_list ? "..." : "");
    if (left.size() < 28) left.resize(28, ' ');
    out += left + " " + f.help;
    if (!f.is_bool && !f.value.empty()) out += " (default: " + f.value + ")";
    out += "\n";
  }
  return out;
}

}  // namespace kinema
