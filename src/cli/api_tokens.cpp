#include "cli/api_tokens.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace solocron::cli {

namespace {

constexpr std::size_t kMinToken = 16;
constexpr std::size_t kMaxToken = 256;
constexpr std::size_t kMaxFileBytes = 1 << 20;

bool token_char(unsigned char c) {
  return std::isalnum(c) || (c != 0 && std::strchr("-_.~+/", c) != nullptr);
}

bool name_char(unsigned char c) { return std::isalnum(c) || (c != 0 && std::strchr("-_.@", c) != nullptr); }

struct Field {
  std::string_view text;
  std::size_t column;  // 1-based
};

std::vector<Field> fields_of(std::string_view line) {
  std::vector<Field> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back({line.substr(start, i - start), start + 1});
  }
  return out;
}

// Constant time in the contents: every byte of the longer is visited whatever the others hold.
bool same_secret(std::string_view a, std::string_view b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

Expected<ApiTokens, std::string> ApiTokens::parse(std::string_view text, const std::string& file) {
  ApiTokens out;
  std::map<std::string, std::size_t> names;  // name -> its line
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto f = fields_of(line);
    if (f.empty() || f[0].text.front() == '#') continue;
    const auto at = [&](std::size_t column) {
      return file + ":" + std::to_string(line_no) + ":" + std::to_string(column) + ": ";
    };
    if (f.size() != 3) {
      return Unexpected{at(f[0].column) + "expected three fields, ROLE NAME TOKEN (found " +
                        std::to_string(f.size()) + ")"};
    }
    Entry e;
    if (f[0].text == "read") {
      e.principal.role = ApiRole::read;
    } else if (f[0].text == "operate") {
      e.principal.role = ApiRole::operate;
    } else {
      // Not quoted: with the fields in the wrong order, this may be the token.
      return Unexpected{at(f[0].column) + "ROLE: expected read or operate"};
    }
    e.principal.name = std::string(f[1].text);
    for (unsigned char c : f[1].text) {
      if (!name_char(c) || e.principal.name.size() > 64) {
        return Unexpected{at(f[1].column) + "NAME: expected 1 to 64 of A-Z a-z 0-9 - _ . @"};
      }
    }
    if (auto [it, fresh] = names.emplace(e.principal.name, line_no); !fresh) {
      return Unexpected{at(f[1].column) + "NAME: also given on line " + std::to_string(it->second)};
    }
    const std::string_view token = f[2].text;
    bool ok = token.size() >= kMinToken && token.size() <= kMaxToken;
    for (unsigned char c : token) ok = ok && token_char(c);
    if (!ok) {
      return Unexpected{at(f[2].column) + "TOKEN: expected " + std::to_string(kMinToken) + " to " +
                        std::to_string(kMaxToken) + " of A-Z a-z 0-9 - _ . ~ + / (not shown here)"};
    }
    for (const Entry& other : out.entries_) {
      if (other.token == token) {
        return Unexpected{at(f[2].column) + "TOKEN: also the token of " + other.principal.name};
      }
    }
    e.token = std::string(token);
    out.entries_.push_back(std::move(e));
  }
  return out;
}

Expected<ApiTokens, std::string> ApiTokens::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected{path + ": cannot read the API tokens file: " + std::strerror(errno)};
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) return Unexpected{path + ": larger than 1 MiB: not an API tokens file"};
  return parse(text, path);
}

std::optional<ApiPrincipal> ApiTokens::find(std::string_view token) const {
  std::optional<ApiPrincipal> found;
  for (const Entry& e : entries_) {
    if (same_secret(e.token, token) && !found) found = e.principal;
  }
  return found;
}

std::string tokens_path_in(const std::string& configured, const std::string& config_file) {
  if (configured.empty() || std::filesystem::path(configured).is_absolute()) return configured;
  return (std::filesystem::path(config_file).parent_path() / configured).string();
}

std::optional<std::string> readable_by_others(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  if (st.st_mode & S_IROTH) return "others";
  if (st.st_mode & S_IRGRP) return "group";
  return std::nullopt;
}

}  // namespace solocron::cli
