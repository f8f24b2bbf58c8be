#include "engine/budget/cron_schedule.h"

#include <cctype>
#include <ctime>
#include <map>
#include <sstream>
#include <vector>

namespace kinema {

namespace {

const std::map<std::string, int>& MonthNames() {
  static const std::map<std::string, int> m = {{"jan", 1}, {"feb", 2}, {"mar", 3}, {"apr", 4},  {"may", 5},  {"jun", 6},
                                               {"jul", 7}, {"aug", 8}, {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12}};
  return m;
}
const std::map<std::string, int>& DayNames() {
  static const std::map<std::string, int> m = {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3},
                                               {"thu", 4}, {"fri", 5}, {"sat", 6}};
  return m;
}

bool ParseValue(const std::string& s, const std::map<std::string, int>* names, int* out) {
  if (s.empty() || s.size() > 9) return false;
  if (std::isdigit(static_cast<unsigned char>(s[0]))) {
    int v = 0;
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  }
  if (names == nullptr) return false;
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = names->find(lower);
  if (it == names->end()) return false;
  *out = it->second;
  return true;
}

// Parses one field into the set of values in [lo, hi]; *restricted is false for "*".
Status ParseField(const std::string& field, const char* name, int lo, int hi, const std::map<std::string, int>* names,
                  std::vector<int>* values, bool* restricted) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(std::string("cron ") + name + " field '" + field + "': " + why);
  };
  *restricted = field != "*";
  std::stringstream ss(field);
  std::string part;
  bool any = false;
  while (std::getline(ss, part, ',')) {
    any = true;
    int step = 1;
    size_t slash = part.find('/');
    std::string range = part;
    if (slash != std::string::npos) {
      if (!ParseValue(part.substr(slash + 1), nullptr, &step) || step < 1) return bad("bad step");
      range = part.substr(0, slash);
    }
    int a = lo, b = hi;
    if (range == "*") {
      // whole range
    } else {
      size_t dash = range.find('-');
      if (dash == std::string::npos) {
        if (!ParseValue(range, names, &a)) return bad("'" + range + "' is not a value");
        b = slash == std::string::npos ? a : hi;
      } else if (!ParseValue(range.substr(0, dash), names, &a) || !ParseValue(range.substr(dash + 1), names, &b)) {
        return bad("'" + range + "' is not a range");
      }
    }
    if (a < lo || b > hi || a > b) return bad("out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    for (int v = a; v <= b; v += step) values->push_back(v);
  }
  if (!any) return bad("empty");
  return Status::OK();
}

}  // namespace

StatusOr<CronSchedule> CronSchedule::Parse(const std::string& input) {
  std::string text = input;
  static const std::map<std::string, std::string> kDescriptors = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  if (!text.empty() && text[0] == '@') {
    auto it = kDescriptors.find(text);
    if (it == kDescriptors.end()) return Status::InvalidArgument("cron: unknown descriptor '" + text + "'");
    text = it->second;
  }
  std::stringstream ss(text);
  std::vector<std::string> fields;
  std::string f;
  while (ss >> f) fields.push_back(f);
  if (fields.size() != 5) {
    return Status::InvalidArgument("cron '" + input + "': want 5 fields (minute hour day-of-month month day-of-week), got " +
                                   std::to_string(fields.size()));
  }
  CronSchedule c;
  c.text_ = input;
  std::vector<int> v;
  bool restricted = false;
  auto fill = [&](auto* bits, int offset) {
    for (int x : v) bits->set(static_cast<size_t>(x - offset));
    v.clear();
  };
  KINEMA_RETURN_IF_ERROR(ParseField(fields[0], "minute", 0, 59, nullptr, &v, &restricted));
  fill(&c.minutes_, 0);
  KINEMA_RETURN_IF_ERROR(ParseField(fields[1], "hour", 0, 23, nullptr, &v, &restricted));
  fill(&c.hours_, 0);
  KINEMA_RETURN_IF_ERROR(ParseField(fields[2], "day-of-month", 1, 31, nullptr, &v, &c.days_restricted_));
  fill(&c.days_, 0);
  KINEMA_RETURN_IF_ERROR(ParseField(fields[3], "month", 1, 12, &MonthNames(), &v, &restricted));
  fill(&c.months_, 0);
  KINEMA_RETURN_IF_ERROR(ParseField(fields[4], "day-of-week", 0, 7, &DayNames(), &v, &c.weekdays_restricted_));
  for (int x : v) c.weekdays_.set(static_cast<size_t>(x % 7));
  return c;
}

bool CronSchedule::Matches(int64_t unix_ms) const {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  if (!minutes_.test(static_cast<size_t>(tm.tm_min)) || !hours_.test(static_cast<size_t>(tm.tm_hour)) ||
      !months_.test(static_cast<size_t>(tm.tm_mon + 1))) {
    return false;
  }
  bool dom = days_.test(static_cast<size_t>(tm.tm_mday));
  bool dow = weekdays_.test(static_cast<size_t>(tm.tm_wday));
  if (days_restricted_ && weekdays_restricted_) return dom || dow;
  return dom && dow;
}

int64_t CronSchedule::LastFireAtOrBefore(int64_t unix_ms, int64_t horizon_ms) const {
  const int64_t minute = 60000;
  int64_t start = unix_ms - ((unix_ms % minute) + minute) % minute;
  for (int64_t t = start; t >= start - horizon_ms; t -= minute) {
    if (Matches(t)) return t;
  }
  return -1;
}

}  // namespace kinema
