#include "cli/api_request.hpp"

#include <httplib.h>

#include <charconv>

#include "cli/operation_error.hpp"
#include "cron/time_text.hpp"

namespace solocron::cli {

namespace {

// Quoted input is cut short: a parameter can be as long as a URL.
std::string quote_input(std::string_view text) {
  return "\"" + std::string(text.substr(0, 64)) + (text.size() > 64 ? "...\"" : "\"");
}

[[noreturn]] void bad(const std::string& message) {
  throw OperationError(OperationError::Kind::bad_request, message);
}

}  // namespace

std::string text_param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

std::size_t size_param(const httplib::Request& req, const char* name, std::size_t fallback,
                       std::size_t min, std::size_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    bad(std::string(name) + " " + quote_input(text) + ": expected a whole number from " +
        std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

std::optional<std::chrono::sys_seconds> time_param(const httplib::Request& req, const char* name) {
  const std::string text = text_param(req, name);
  if (text.empty()) return std::nullopt;
  auto t = detail::parse_time_text(text, "UTC");
  if (!t) bad(std::string(name) + ": " + t.error());
  return t->seconds;
}

std::vector<RunState> states_param(const httplib::Request& req, const char* name) {
  std::vector<RunState> out;
  const std::string text = text_param(req, name);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string_view one = std::string_view(text).substr(start, comma - start);
    auto state = run_state_from_string(one);
    if (!state) {
      bad(std::string(name) + " " + quote_input(one) + ": expected run states such as succeeded, failed, " +
          "timed_out, lost, interrupted, missed, skipped_overlap, paused, running, claimed");
    }
    out.push_back(*state);
    start = comma + 1;
  }
  return out;
}

nlohmann::json body_object(const httplib::Request& req) {
  if (req.body.empty()) return nlohmann::json::object();
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) bad("the body: expected a JSON object");
  return body;
}

std::string string_field(const nlohmann::json& body, const char* name, const std::string& fallback) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_string()) bad(std::string("\"") + name + "\": expected a string");
  return it->get<std::string>();
}

bool bool_field(const nlohmann::json& body, const char* name, bool fallback) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) bad(std::string("\"") + name + "\": expected true or false");
  return it->get<bool>();
}

std::size_t size_field(const nlohmann::json& body, const char* name, std::size_t fallback) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number_unsigned()) bad(std::string("\"") + name + "\": expected a whole number");
  return it->get<std::size_t>();
}

}  // namespace solocron::cli
