// Everything the binary writes for people and machines passes through here on its way out.
//
// Messages are built from untrusted parts: a store URL with a password, a job's output, a
// value quoted from a YAML file. Before they reach a terminal or a log they are redacted
// (store/redact.hpp) and made safe: one line without control characters for text, valid
// UTF-8 without NUL for JSON (process/output_text.hpp).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace solocron::cli {

// Redacted, invalid UTF-8 replaced, control characters escaped: one line of text.
std::string text_line(std::string_view text);
// Redacted, valid UTF-8 without NUL: a JSON string value (json escapes the controls).
std::string json_text(std::string_view text);
// "error: MESSAGE" on stderr, as text_line(MESSAGE).
void print_error(std::string_view message);
// "warning: MESSAGE" on stderr, as text_line(MESSAGE).
void print_warning(std::string_view message);
// JSON text that is valid whatever the strings hold (invalid UTF-8 that slipped past
// json_text() is replaced rather than thrown on) and safe on a terminal (DEL and the C1
// controls, which JSON may leave raw, are written as \u escapes).
std::string dump_json(const nlohmann::json& value, int indent = 2);
std::string dump_json(const nlohmann::ordered_json& value, int indent = -1);

}  // namespace solocron::cli
