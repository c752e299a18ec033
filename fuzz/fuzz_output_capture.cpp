// libFuzzer target: a job's output, end to end. Arbitrary bytes go through output capture
// (LineSplitter, OutputTail) in arbitrary pieces, the sanitiser (storable_text), a SQLite
// store record (update() with the tail), and the `history --json` formatter; the JSON must
// parse back to the same text, be valid UTF-8, and every log line made from the output must
// be free of control characters.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/record_format.hpp"
#include "cli/user_text.hpp"
#include "process/output_capture.hpp"
#include "process/output_text.hpp"
#include "solocron/store.hpp"

namespace {

using namespace std::chrono_literals;

std::string store_dir;  // removed when the fuzzer exits

std::int64_t lease_token = 0;  // the fuzz node's lease, for its claims

solocron::Store& store() {
  static std::unique_ptr<solocron::Store> s = [] {
    store_dir = (std::filesystem::temp_directory_path() / "solocron-fuzz.XXXXXX").string();
    if (mkdtemp(store_dir.data()) == nullptr) __builtin_trap();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(store_dir, ec);
    });
    auto st = solocron::open_store("sqlite:" + store_dir + "/fuzz.db");
    st->migrate();
    const auto lease = st->register_node("fuzz", 24h);
    if (!lease.acquired) __builtin_trap();
    lease_token = lease.lease.token;
    return st;
  }();
  return *s;
}

bool log_safe(const std::string& line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto b = static_cast<unsigned char>(line[i]);
    if ((b < 0x20 && b != '\t') || b == 0x7F) return false;
  }
  return solocron::detail::first_invalid_utf8(line) == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Two bytes of set-up: the size of the pieces the pipe hands over, and the bounds.
  const std::size_t piece = 1 + data[0] % 64;
  const std::size_t max_line = 1 + data[1] % 32;
  const std::size_t tail_bytes = (data[1] >> 5) * 16;  // 0..112
  const std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);

  solocron::detail::LineSplitter lines(max_line);
  solocron::detail::OutputTail tail(tail_bytes);
  auto on_line = [&](std::string_view line) {
    if (line.size() > max_line || line.find('\n') != std::string_view::npos) __builtin_trap();
    if (!log_safe(solocron::cli::text_line(line))) __builtin_trap();
  };
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    const auto chunk = bytes.substr(at, piece);
    lines.feed(chunk, on_line);
    tail.append(chunk);
  }
  lines.flush(on_line);
  const std::string text = solocron::detail::storable_text(tail.take());
  if (solocron::detail::first_invalid_utf8(text) != std::string::npos) __builtin_trap();
  if (text.find('\0') != std::string::npos) __builtin_trap();

  solocron::Store& st = store();  // first, so that the lease token is known
  static std::int64_t next_second = 0;
  const solocron::OccurrenceKey key{"fuzz", std::chrono::sys_seconds{std::chrono::seconds{++next_second}}, ""};
  const solocron::ClaimRequest claim{key, "fuzz", lease_token, solocron::OverlapMode::allow, 2s};
  const auto won = st.claim({&claim, 1}).at(0);
  if (won.outcome != solocron::ClaimResult::Outcome::won) __builtin_trap();
  const solocron::StateUpdate update{key, won.fence, solocron::RunState::succeeded, 0, std::nullopt, text, {}};
  if (!st.update({&update, 1}).at(0)) __builtin_trap();  // the write must never fail

  solocron::HistoryQuery newest;
  newest.job = "fuzz";
  newest.limit = 1;
  const auto records = st.history(newest);
  if (records.empty() || records[0].output_tail != text) __builtin_trap();
  nlohmann::json out = nlohmann::json::array();
  out.push_back(solocron::cli::to_json(records[0]));
  const std::string json = solocron::cli::dump_json(out);
  if (solocron::detail::first_invalid_utf8(json) != std::string::npos) __builtin_trap();
  const auto parsed = nlohmann::json::parse(json);  // throws (and so fails) if it is not JSON
  if (parsed.at(0).at("output_tail") != solocron::cli::json_text(text)) __builtin_trap();
  if (next_second % 512 == 0) st.prune("fuzz", 16, std::nullopt);
  return 0;
}
