// CronSchedule: a standard five-field cron expression evaluated in UTC, as
// Karpenter's disruption budgets use it (robfig/cron ParseStandard).
//
// Syntax: "minute hour day-of-month month day-of-week"; each field is `*`,
// a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of
// those; months and weekdays also by name (jan..dec, sun..sat; 0 and 7 are
// Sunday). Descriptors: @yearly (@annually), @monthly, @weekly, @daily
// (@midnight), @hourly. As in Vixie cron, when both day fields are
// restricted a day matches if either matches.
// Thread-safety: immutable after Parse.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

#include "engine/common/status.h"

namespace kinema {

class CronSchedule {
 public:
  // InvalidArgument naming the field and the text on any error.
  static StatusOr<CronSchedule> Parse(const std::string& text);

  // Does the schedule fire in the minute containing `unix_ms`?
  bool Matches(int64_t unix_ms) const;
  // The latest firing minute (its start, in ms) at or before `unix_ms`,
  // looking back at most `horizon_ms`; -1 when none.
  int64_t LastFireAtOrBefore(int64_t unix_ms, int64_t horizon_ms) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

}  // namespace kinema
