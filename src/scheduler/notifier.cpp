#include "scheduler/notifier.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <future>

#include "cron/duration.hpp"
#include "http/http_call.hpp"
#include "process/process_runner.hpp"
#include "solocron/cron.hpp"

namespace solocron::detail {

namespace {

using namespace std::chrono_literals;

// Attempts per delivery, and the wait before the second (doubling, at most kMaxBackoff).
constexpr int kAttempts = 5;
constexpr auto kFirstBackoff = 1s;
constexpr auto kMaxBackoff = 30s;

// Per HookEvent, in its order: the name in records and SOLOCRON_EVENT, the key, and the member.
struct EventNames {
  const char* event;
  const char* hook;
  std::optional<HookSpec> Hooks::*member;
};
constexpr EventNames kEvents[] = {{"failure", "on_failure", &Hooks::on_failure},
                                  {"missed", "on_missed", &Hooks::on_missed},
                                  {"success", "on_success", &Hooks::on_success}};

const char* event_name(HookEvent e) { return kEvents[static_cast<std::size_t>(e)].event; }
const char* hook_name(HookEvent e) { return kEvents[static_cast<std::size_t>(e)].hook; }
const std::optional<HookSpec>& hook_of(const Hooks& hooks, HookEvent e) {
  return hooks.*kEvents[static_cast<std::size_t>(e)].member;
}

// Where a delivery goes, as a message may say it (a URL's password masked).
std::string target_of(const HookSpec& h) {
  if (h.command.empty()) {
    std::string error;
    auto url = parse_http_url(h.url, &error);
    return "webhook " + (url ? url->redacted() : std::string("(bad URL)"));
  }
  return "command " + h.command.front();
}

nlohmann::json optional_json(const std::optional<int>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

std::optional<std::string> hooks_error(const Hooks& hooks) {
  for (HookEvent e : {HookEvent::failure, HookEvent::missed, HookEvent::success}) {
    const auto& h = hook_of(hooks, e);
    if (!h) continue;
    const std::string name = hook_name(e);
    if (h->command.empty() == h->url.empty()) return name + ": a hook has either a command or a url";
    std::string error;
    if (!h->url.empty() && !parse_http_url(h->url, &error)) return name + ".url: " + error;
    if (h->timeout.count() <= 0) return name + ".timeout must be positive";
  }
  return std::nullopt;
}

Notifier::Notifier(const NodeSettings& settings, Clock& clock, Events& events)
    : settings_(settings), clock_(clock), events_(events) {}

Notifier::~Notifier() { stop(0ms); }

void Notifier::start() {
  std::lock_guard g(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { main(); });
}

void Notifier::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard g(mu_);
    if (!stop_) drop_after_ = clock_.steady_now() + grace;
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  runner_.reset();
}

bool Notifier::idle() const {
  std::lock_guard g(mu_);
  return !busy_ && (queue_.empty() || queue_.front().not_before > clock_.steady_now());
}

std::optional<HookEvent> Notifier::event_of(RunState state) {
  switch (state) {
    case RunState::succeeded: return HookEvent::success;
    case RunState::missed: return HookEvent::missed;
    case RunState::failed:
    case RunState::timed_out:
    case RunState::lost: return HookEvent::failure;
    default: return std::nullopt;
  }
}

void Notifier::notify(const Hooks* job_hooks, HookEvent event, HookRecord r) {
  const std::optional<HookSpec>* hook = job_hooks ? &hook_of(*job_hooks, event) : nullptr;
  if (hook == nullptr || !*hook) hook = &hook_of(settings_.hooks, event);
  if (!*hook) return;
  const std::string at = format_rfc3339(r.key.scheduled_at, "UTC", true);
  nlohmann::json body = {{"event", event_name(event)},
                         {"job", r.key.job},
                         {"scheduled_at", at},
                         {"node", events_.node_id()},
                         {"state", to_string(r.state)},
                         {"fence", r.fence},
                         {"attempt", r.attempt},
                         {"trigger", std::string(to_string(r.trigger.value_or(trigger_of(r.key))))},
                         {"exit_code", optional_json(r.exit_code)},
                         {"signal", optional_json(r.signal)},
                         {"message", r.message},
                         {"output_tail", r.output_tail},
                         {"duration_ms", r.duration ? nlohmann::json(r.duration->count()) : nlohmann::json(nullptr)}};
  if (!r.key.node.empty()) body["every_node"] = r.key.node;
  Delivery d{**hook, event, r.key.job, body.dump(), {}, 1, clock_.steady_now()};
  d.env = {{"SOLOCRON_EVENT", event_name(event)},
           {"SOLOCRON_JOB", r.key.job},
           {"SOLOCRON_SCHEDULED_AT", at},
           {"SOLOCRON_NODE", events_.node_id()},
           {"SOLOCRON_STATE", std::string(to_string(r.state))},
           {"SOLOCRON_FENCE", std::to_string(r.fence)},
           {"SOLOCRON_ATTEMPT", std::to_string(r.attempt)},
           {"SOLOCRON_EXIT_CODE", r.exit_code ? std::to_string(*r.exit_code) : ""},
           {"SOLOCRON_RECORD", d.body}};
  std::lock_guard g(mu_);
  if (stop_ && clock_.steady_now() >= drop_after_) return;
  queue_.push_back(std::move(d));
  cv_.notify_all();
  events_.handed_off();
}

void Notifier::main() {
  std::unique_lock lk(mu_);
  while (true) {
    const auto now = clock_.steady_now();
    if (stop_ && (queue_.empty() || now >= drop_after_)) break;
    if (queue_.empty()) {
      // Not on the clock: an idle notifier is no waiter of a test's fake clock.
      cv_.wait(lk);
      continue;
    }
    if (queue_.front().not_before > now) {
      clock_.wait_until(cv_, lk, std::min(queue_.front().not_before, drop_after_));
      continue;
    }
    Delivery d = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lk.unlock();
    std::string why;
    const bool ok = deliver(d, why);
    RunEvent e = events_.make(ok ? RunEventKind::hook_delivered : RunEventKind::hook_failed);
    e.job = d.job;
    e.message = std::string(hook_name(d.event)) + " " + target_of(d.hook) + " (attempt " +
                std::to_string(d.attempt) + " of " + std::to_string(kAttempts) + ")";
    const bool again = !ok && d.attempt < kAttempts;
    const auto backoff = std::min<std::chrono::milliseconds>(kFirstBackoff * (1 << (d.attempt - 1)), kMaxBackoff);
    if (!ok) e.message += ": " + why + (again ? "; again in " + format_duration(backoff) : "; given up");
    events_.emit(e);
    lk.lock();
    busy_ = false;
    if (again) {
      ++d.attempt;
      d.not_before = clock_.steady_now() + backoff;
      auto pos = std::find_if(queue_.begin(), queue_.end(),
                              [&](const Delivery& x) { return x.not_before > d.not_before; });
      queue_.insert(pos, std::move(d));
    }
    events_.handed_off();
  }
  const std::size_t dropped = queue_.size();
  queue_.clear();
  lk.unlock();
  if (dropped > 0) {
    events_.emit(RunEventKind::hook_failed,
                 std::to_string(dropped) + " notification(s) not delivered: the node shut down");
  }
}

bool Notifier::deliver(const Delivery& d, std::string& why) {
  if (!d.hook.command.empty()) return run_command(d, why);
  HttpSpec spec;
  spec.url = d.hook.url;
  spec.method = "POST";
  spec.headers = d.hook.headers;
  spec.headers.emplace("Content-Type", "application/json");
  spec.body = d.body;
  spec.timeout = d.hook.timeout;
  spec.ca_file = d.hook.ca_file;
  const HttpOutcome o = call_http(spec, {{"X-Solocron-Event", event_name(d.event)}, {"X-Solocron-Job", d.job}},
                                  512, std::stop_token{});
  if (!o.responded) {
    why = o.error;
    return false;
  }
  if (!o.success) why = "HTTP status " + std::to_string(o.status);
  return o.success;
}

bool Notifier::run_command(const Delivery& d, std::string& why) {
  if (!runner_) runner_ = std::make_unique<ProcessRunner>();
  ProcessSpec spec;
  spec.argv = d.hook.command;
  spec.extra_env = d.env;
  spec.inherit_env = InheritEnv{};  // the node's environment but its credentials
  spec.tail_bytes = 512;
  spec.timeout = d.hook.timeout;
  spec.kill_grace = 2s;
  std::promise<ProcessResult> done;
  auto result = done.get_future();
  runner_->start(std::move(spec), nullptr, [&done](const ProcessResult& r) { done.set_value(r); });
  const ProcessResult r = result.get();
  if (!r.started) {
    why = r.start_error;
    return false;
  }
  if (r.timed_out) {
    why = "timed out after " + format_duration(d.hook.timeout);
    return false;
  }
  if (r.exit_code && *r.exit_code == 0) return true;
  why = r.exit_code ? "exit status " + std::to_string(*r.exit_code) : "killed by signal " + std::to_string(r.signal.value_or(0));
  return false;
}

}  // namespace solocron::detail
