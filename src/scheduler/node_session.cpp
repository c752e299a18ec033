#include "scheduler/node_session.hpp"

#include "cron/duration.hpp"
#include "solocron/version.hpp"

namespace solocron::detail {

using std::chrono::milliseconds;

namespace {
// Clock samples from calls slower than this are not used (their error is up to half of it).
constexpr auto kMaxSampleRoundTrip = std::chrono::milliseconds(500);
}  // namespace

NodeSession::NodeSession(const NodeSettings& settings, std::string node_id, Store& store,
                         Clock& clock, ClusterClock& cluster_clock, Events& events,
                         Listener& listener)
    : settings_(settings),
      node_id_(std::move(node_id)),
      store_(store),
      clock_(clock),
      cluster_clock_(cluster_clock),
      events_(events),
      listener_(listener) {}

NodeSession::~NodeSession() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void NodeSession::start() {
  beat();
  std::lock_guard g(mu_);
  started_ = true;
  thread_ = std::thread([this] { main(); });
}

void NodeSession::main() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    const SteadyTime deadline = clock_.steady_now() + settings_.heartbeat;
    if (!wake_) {
      parked_ = true;
      park_deadline_ = deadline;
      clock_.wait_until(cv_, lk, deadline);
      parked_ = false;
    }
    wake_ = false;
    if (stop_) break;
    lk.unlock();
    beat();
    lk.lock();
  }
}

void NodeSession::beat() {
  bool held;
  {
    std::lock_guard g(mu_);
    if (fatal_ || !identity_ok_) return;
    held = held_;
  }
  if (held) {
    renew();
  } else {
    try_register();
  }
  bool now_held;
  {
    std::lock_guard g(mu_);
    now_held = held_;
  }
  if (!now_held) return;
  check_identity();
  if (valid()) listener_.heartbeat();
}

void NodeSession::measure(SteadyTime sent, SteadyTime received, StoreTime store_time) {
  // The midpoint is off by up to half the round trip: a sample from a slow call (a store
  // stalled, a lock waited for) would move the cluster's clock by that much. It is skipped,
  // unless there is none yet.
  if (received - sent > kMaxSampleRoundTrip && cluster_clock_.measured()) return;
  const auto wall = wall_at(clock_, received) - (received - sent) / 2;
  cluster_clock_.measure(sent, received, store_time, wall);
  const auto offset = cluster_clock_.wall_offset();
  const auto rtt = std::chrono::duration_cast<milliseconds>(received - sent);
  const bool bad = std::chrono::abs(offset) > settings_.max_clock_skew + rtt / 2;
  {
    std::lock_guard g(mu_);
    if (bad == skew_bad_) return;
    skew_bad_ = bad;
  }
  RunEvent e = events_.make(RunEventKind::clock_skew);
  e.duration = offset;
  const std::string size = format_duration(std::chrono::abs(offset));
  const std::string side = offset.count() > 0 ? "ahead of" : "behind";
  e.message = bad ? "this node's clock is " + size + " " + side +
                        " the store's (more than max_clock_skew " +
                        format_duration(settings_.max_clock_skew) +
                        "); it fires by the store's clock"
                  : "this node's clock is back within max_clock_skew of the store's (" + size +
                        " " + side + ")";
  events_.emit(e);
}

void NodeSession::try_register() {
  RegisterResult r;
  const SteadyTime sent = clock_.steady_now();
  try {
    if (!identity_) {
      std::string id = store_.identity();
      std::lock_guard g(mu_);
      identity_ = std::move(id);
    }
    r = store_.register_node(node_id_, settings_.node_ttl, NodeInfo{solocron::version()});
  } catch (const std::exception& ex) {
    {
      std::lock_guard g(mu_);
      store_ok_ = false;
    }
    events_.store_error("register node lease", ex);
    return;
  }
  const SteadyTime received = clock_.steady_now();
  std::unique_lock lk(mu_);
  store_ok_ = true;
  if (!r.acquired && token_ != 0 && r.lease.token == token_) {
    // Our own lease is still live in the store (we fenced ourselves on the local clock only).
    lk.unlock();
    renew();
    return;
  }
  if (r.acquired) {
    const bool again = token_ != 0;
    held_ = true;
    token_ = r.lease.token;
    deadline_ = sent + settings_.node_ttl;
    conflict_since_.reset();
    lk.unlock();
    measure(sent, received, r.lease.registered_at);
    listener_.deadline_moved(sent + settings_.node_ttl);
    emit_acquired(again ? "registered node " + node_id_ + " again after losing its lease"
                  : r.took_over_expired
                      ? "restart after crash: took over the expired lease of node " + node_id_
                      : "registered node " + node_id_);
    return;
  }
  RunEvent e = events_.make(RunEventKind::lease_waiting);
  if (!conflict_since_) {
    conflict_since_ = received;
    conflict_first_renewal_ = r.lease.renewed_at;
    e.message = "node id " + node_id_ +
                " is held by a live lease; waiting for it to expire (restart after a crash?)";
  } else if (received - *conflict_since_ > settings_.node_ttl &&
             r.lease.renewed_at != *conflict_first_renewal_) {
    fatal_ = "node id " + node_id_ + " is in use by another live process";
    e.kind = RunEventKind::fatal;
    e.message = *fatal_;
  } else {
    return;
  }
  lk.unlock();
  events_.emit(e);
}

void NodeSession::emit_acquired(const std::string& message) {
  listener_.lease_acquired();
  events_.emit(RunEventKind::lease_acquired, message);
}

void NodeSession::renew() {
  std::int64_t token;
  {
    std::lock_guard g(mu_);
    token = token_;
  }
  const SteadyTime sent = clock_.steady_now();
  std::optional<NodeLease> lease;
  try {
    lease = store_.renew_node(node_id_, token, settings_.node_ttl);
  } catch (const std::exception& ex) {
    {
      std::lock_guard g(mu_);
      store_ok_ = false;
    }
    events_.store_error("renew node lease", ex);
    check_deadline();
    return;
  }
  const SteadyTime received = clock_.steady_now();
  if (!lease) {
    fence("node lease lost (expired in the store and taken over, or released)");
    try_register();
    return;
  }
  bool back;
  {
    std::lock_guard g(mu_);
    store_ok_ = true;
    back = !held_;
    held_ = true;
    deadline_ = sent + settings_.node_ttl;
  }
  measure(sent, received, lease->renewed_at);
  listener_.deadline_moved(sent + settings_.node_ttl);
  if (back) emit_acquired("node lease of " + node_id_ + " renewed after an outage");
}

void NodeSession::check_identity() {
  std::string why;
  try {
    const std::string id = store_.identity();
    std::lock_guard g(mu_);
    if (identity_ && id == *identity_) return;
    why = "the store's id changed from " + identity_.value_or("?") + " to " + id +
          " (the database was replaced or restored)";
  } catch (const StoreError& ex) {
    if (ex.kind() != StoreError::Kind::invalid) return;  // unreachable: the renewal reports it
    why = ex.what();
  } catch (const std::exception&) {
    return;
  }
  store_changed(why);
}

void NodeSession::store_changed(const std::string& why) {
  {
    std::lock_guard g(mu_);
    if (!identity_ok_) return;
    identity_ok_ = false;
  }
  fence("the store is no longer the one this node started on");
  events_.emit(RunEventKind::store_changed,
               why + "; stopped claiming and not ready until the node is restarted");
}

void NodeSession::fence(const std::string& why) {
  {
    std::lock_guard g(mu_);
    if (!held_) return;
    held_ = false;
  }
  ++events_.counters.lease_lost;
  listener_.fenced(why);
  events_.emit(RunEventKind::lease_lost,
               why + "; stopped claiming and stopped this node's running once jobs");
}

void NodeSession::check_deadline() {
  {
    std::lock_guard g(mu_);
    if (!held_ || clock_.steady_now() < deadline_) return;
  }
  fence("the node lease was not renewed for node_ttl (" + format_duration(settings_.node_ttl) +
        ")");
}

void NodeSession::renew_soon() {
  std::lock_guard g(mu_);
  wake_ = true;
  cv_.notify_all();
}

void NodeSession::release() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  std::thread t;
  {
    std::lock_guard g(mu_);
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
  View v = view();
  std::string message;
  if (v.held) {
    try {
      store_.release_node(node_id_, v.token);
      message = "released the lease of node " + node_id_;
    } catch (const std::exception& ex) {
      message = "could not release the lease of node " + node_id_ + " (" + ex.what() +
                "); it expires after node_ttl";
    }
    std::lock_guard g(mu_);
    held_ = false;
  } else {
    message = "node " + node_id_ + " held no lease to release";
  }
  events_.emit(RunEventKind::lease_released, message);
}

NodeSession::View NodeSession::view() const {
  std::lock_guard g(mu_);
  return {held_, token_, deadline_, store_ok_, identity_ok_, fatal_};
}

bool NodeSession::valid() const {
  std::lock_guard g(mu_);
  return held_ && identity_ok_ && !fatal_ && clock_.steady_now() < deadline_;
}

bool NodeSession::idle() const {
  std::lock_guard g(mu_);
  if (!started_ || stop_) return true;
  return parked_ && !wake_ && park_deadline_ > clock_.steady_now();
}

}  // namespace solocron::detail
