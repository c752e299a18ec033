// Reading an API request's query parameters and JSON body, with errors that name the parameter
// or field and what was expected (OperationError::bad_request, answered 400).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "solocron/store.hpp"

namespace httplib {
struct Request;
}

namespace solocron::cli {

// A whole number parameter in [min, max]; `fallback` when absent.
std::size_t size_param(const httplib::Request& req, const char* name, std::size_t fallback,
                       std::size_t min, std::size_t max);
// An instant (RFC 3339, or a wall time read in UTC).
std::optional<std::chrono::sys_seconds> time_param(const httplib::Request& req, const char* name);
// Comma-separated run states ("failed,timed_out").
std::vector<RunState> states_param(const httplib::Request& req, const char* name);
std::string text_param(const httplib::Request& req, const char* name);

// The body as a JSON object; {} for an empty body.
nlohmann::json body_object(const httplib::Request& req);
// A field of the body of the given kind, or `fallback` when absent or null.
std::string string_field(const nlohmann::json& body, const char* name, const std::string& fallback = "");
bool bool_field(const nlohmann::json& body, const char* name, bool fallback);
std::size_t size_field(const nlohmann::json& body, const char* name, std::size_t fallback);

}  // namespace solocron::cli
