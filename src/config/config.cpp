#include "config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <system_error>
#include <tuple>

#include "config/job_reader.hpp"
#include "config/node_reader.hpp"
#include "config/yaml_reader.hpp"
#include "cron/zone_table.hpp"
#include "process/output_text.hpp"

namespace solocron::detail {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (column > 0) out += ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

std::optional<std::string> node_id_error(const std::string& id) {
  if (!validate_job_name(id)) return std::nullopt;  // node ids follow the job-name rule
  return quote(id) + " is not a valid node id: it must match [A-Za-z0-9_.-]{1,128}";
}

std::optional<std::string> time_zone_error(const std::string& zone) {
  if (load_zone_table(zone)) return std::nullopt;
  return quote(zone) + " is not a known IANA time zone (expected e.g. Europe/Berlin)";
}

namespace {

// Values an alias-free file of this size could hold at most, plus room for honest aliases.
std::size_t value_budget(std::size_t bytes) { return bytes + 1'000'000; }

void read_jobs(const YAML::Node& jobs, YamlReader& r, ConfigLoad& out) {
  if (!jobs.IsSequence()) {
    r.error(jobs, "jobs", "expected a list of jobs (each item starting with \"- name: ...\")");
    out.fatal = true;
    return;
  }
  if (!r.spend(jobs, jobs.size())) {
    out.fatal = true;
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    std::string path = "jobs[" + std::to_string(i) + "]";
    std::size_t before = r.error_count();
    std::optional<JobSpec> job = read_job(jobs[i], path, out.config.node, r);
    if (job && !job->name.empty() && !seen.insert(job->name).second) {
      r.error(jobs[i]["name"], path + ".name",
              "duplicate job name " + quote(job->name) + " (names must be unique)");
      job.reset();
    }
    if (job && r.error_count() == before) {
      out.config.jobs.push_back(std::move(*job));
    } else if (jobs[i].IsMap() && jobs[i]["name"] && jobs[i]["name"].IsScalar()) {
      out.bad_jobs.push_back(jobs[i]["name"].Scalar());
    }
  }
}

// The error at byte `offset` of `text`, with its line and column.
ConfigError error_at(std::string_view text, std::size_t offset, const std::string& file,
                     std::string message) {
  const std::string_view before = text.substr(0, offset);
  const int line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
  const auto nl = before.rfind('\n');
  const int column = static_cast<int>(nl == std::string_view::npos ? offset : offset - nl - 1) + 1;
  return ConfigError{file, line, column, "", std::move(message)};
}

std::string too_large(std::size_t size, const ConfigLimits& limits, bool at_least) {
  return std::string("the file is ") + (at_least ? "more than " : "") + std::to_string(size) +
         " bytes, over the limit of " + std::to_string(limits.max_bytes) +
         " bytes (a larger limit can be given with --max-config-bytes)";
}

// What makes the text unreadable before YAML sees it: its size and its encoding.
std::optional<ConfigError> check_text(std::string_view text, const std::string& file,
                                      const ConfigLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return ConfigError{file, 0, 0, "", too_large(text.size(), limits, false)};
  }
  if (auto bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    static constexpr char kHex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(text[bad]);
    return error_at(text, bad, file,
                    std::string("not valid UTF-8 (byte 0x") + kHex[byte >> 4] + kHex[byte & 15] +
                        "); a configuration file must be UTF-8");
  }
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    return error_at(text, nul, file, "a NUL byte; a configuration file is text");
  }
  return std::nullopt;
}

void sort_by_position(std::vector<ConfigError>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
}

// Where a second YAML document starts, or npos. In YAML a line that starts with "---" or
// "..." followed by white space or its end is a document marker wherever it stands (the spec's
// c-forbidden lines: no scalar may contain one), so a scan of the lines finds the documents
// without a second parse. yaml-cpp's LoadAll cannot be used: it loops for ever, its memory
// growing, on some malformed input (found by fuzz_config_read: "!!str,gre").
std::size_t second_document_at(std::string_view text) {
  bool content = false;    // the first document has begun (a marker or a value)
  bool ended = false;      // the first document was closed with "..."
  for (std::size_t at = 0; at < text.size();) {
    auto nl = text.find('\n', at);
    const std::string_view line = text.substr(at, nl == std::string_view::npos ? nl : nl - at);
    auto is_marker = [&](std::string_view m) {
      return line.starts_with(m) && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    };
    const auto first = line.find_first_not_of(" \t\r");
    const bool blank = first == std::string_view::npos || line[first] == '#';
    if (is_marker("---")) {
      if (content) return at;
      content = true;
    } else if (is_marker("...")) {
      ended = content;
    } else if (!blank && !line.starts_with('%')) {
      if (ended) return at;
      content = true;
    }
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return std::string_view::npos;
}

// The one document of the file; a second one is an error (it would be ignored otherwise).
std::optional<YAML::Node> load_document(std::string_view text, const std::string& file,
                                        ConfigLoad& out) {
  if (auto second = second_document_at(text); second != std::string_view::npos) {
    out.errors.push_back(error_at(text, second, file,
                                  "a second YAML document; a configuration is one document "
                                  "(remove the \"---\" or merge the two)"));
    return std::nullopt;
  }
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    out.errors.push_back(ConfigError{file, e.mark.line + 1, e.mark.column + 1, "",
                                     "YAML syntax error: " + e.msg});
    return std::nullopt;
  }
}

void read_root(const YAML::Node& root, YamlReader& r, ConfigLoad& out) {
  if (!root.IsMap()) {
    r.error(root, "", "expected a mapping with the keys \"node\" and \"jobs\"");
    out.fatal = true;
    return;
  }
  if (!r.check_keys(root, "", {"node", "jobs"})) out.fatal = true;
  if (root["node"]) {
    std::size_t before = r.error_count();
    read_node(root["node"], r, out.config);
    if (r.error_count() != before) out.fatal = true;
  }
  if (root["jobs"]) read_jobs(root["jobs"], r, out);
}

}  // namespace

ConfigLoad parse_config(std::string_view yaml_text, const std::string& file_label,
                        const ConfigLimits& limits) {
  ConfigLoad out;
  out.config.file = file_label;
  if (auto bad = check_text(yaml_text, file_label, limits)) {
    out.errors.push_back(std::move(*bad));
    out.fatal = true;
    return out;
  }
  auto root = load_document(yaml_text, file_label, out);
  if (!root) {
    out.fatal = true;
    return out;
  }
  YamlReader r(file_label, out.errors, value_budget(yaml_text.size()));
  read_root(*root, r, out);
  sort_by_position(out.errors);
  return out;
}

ConfigLoad load_config_file(const std::string& path, const ConfigLimits& limits) {
  auto refuse = [&](std::string message) {
    ConfigLoad out;
    out.config.file = path;
    out.fatal = true;
    out.errors.push_back(ConfigError{path, 0, 0, "", std::move(message)});
    return out;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return refuse(std::string("cannot read the file: ") + std::generic_category().message(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return refuse("is a directory, not a configuration file");
  }
  // Refused before anything is read when the size is known; a pipe or /proc file is read only
  // up to one byte past the limit.
  if (S_ISREG(st.st_mode) && static_cast<std::uintmax_t>(st.st_size) > limits.max_bytes) {
    ::close(fd);
    return refuse(too_large(static_cast<std::size_t>(st.st_size), limits, false));
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return refuse(std::string("cannot read the file: ") + std::generic_category().message(error));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > limits.max_bytes) {
      ::close(fd);
      return refuse(too_large(limits.max_bytes, limits, true));
    }
  }
  ::close(fd);
  return parse_config(text, path, limits);
}

}  // namespace solocron::detail
