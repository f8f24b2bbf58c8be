#include "engine/common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "engine/common/safe_json.h"

namespace kinema {

namespace {

// %* in a pattern: the message, escaped for the record's format.
class EscapedMessage : public spdlog::custom_flag_formatter {
 public:
  explicit EscapedMessage(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const std::string out = json_ ? JsonLogEscape(payload) : TextLogEscape(payload);
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessage>(json_); }

 private:
  bool json_;
};

}  // namespace

std::string JsonLogEscape(std::string_view message) {
  std::string quoted = safe_json::Dump(safe_json::Json(std::string(message)));
  return quoted.substr(1, quoted.size() - 2);
}

std::string TextLogEscape(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 && c != '\t') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

void SetupLogging(const std::string& format, const std::string& level) {
  spdlog::drop("kinema");
  auto logger = spdlog::stderr_logger_mt("kinema");
  const bool json = format == "json";
  // Timestamps in UTC (the "Z" in the patterns).
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedMessage>('*', json);
  if (json) {
    formatter->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","pid":%P,"msg":"%*"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %*");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace kinema
