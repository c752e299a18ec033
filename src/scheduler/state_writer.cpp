#include "scheduler/state_writer.hpp"

#include <algorithm>
#include <span>

namespace solocron::detail {

using namespace std::chrono_literals;

namespace {
// Larger batches add latency for the writes at their end without saving round trips that
// matter; 1,000 is where a PostgreSQL batch already runs at 20,000 writes a second.
constexpr std::size_t kMaxBatch = 1000;
constexpr auto kFirstBackoff = 50ms;
constexpr auto kMaxBackoff = 2s;

bool unreachable(const std::exception& e) {
  const auto* s = dynamic_cast<const StoreError*>(&e);
  return s != nullptr && s->kind() == StoreError::Kind::unavailable;
}
}  // namespace

StateWriter::StateWriter(Store& store, Clock& clock, Events& events)
    : store_(store), clock_(clock), events_(events), thread_([this] { main(); }) {}

StateWriter::~StateWriter() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
    flushing_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void StateWriter::submit(StateUpdate update, Done done) {
  {
    std::lock_guard g(mu_);
    queue_.push_back({std::move(update), std::move(done)});
  }
  work_cv_.notify_one();
  events_.handed_off();
}

void StateWriter::flush() {
  std::unique_lock lk(mu_);
  flushing_ = true;
  work_cv_.notify_all();
  drained_cv_.wait(lk, [&] { return queue_.empty() && in_flight_ == 0; });
}

bool StateWriter::idle() const {
  std::lock_guard g(mu_);
  if (queue_.empty() && in_flight_ == 0) return true;
  // Waiting out a store outage counts as idle: nothing will change until time passes.
  return backing_off_ && in_flight_ == 0 && backoff_until_ > clock_.steady_now();
}

void StateWriter::main() {
  std::unique_lock lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left to write
    std::vector<Item> batch;
    const std::size_t n = std::min(queue_.size(), kMaxBatch);
    batch.assign(std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    in_flight_ = n;
    lk.unlock();
    write_batch(batch);
    lk.lock();
    in_flight_ = 0;
    // What could not be written waits at the front, in order, for the store to come back.
    if (!batch.empty()) {
      queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
      lk.unlock();
      backoff();
      lk.lock();
      continue;
    }
    backoff_ = 0ms;
    if (queue_.empty()) drained_cv_.notify_all();
  }
}

// Leaves in `batch` only the writes to try again later (the store is unreachable).
void StateWriter::write_batch(std::vector<Item>& batch) {
  std::vector<StateUpdate> updates;
  updates.reserve(batch.size());
  for (const Item& it : batch) updates.push_back(it.update);
  std::vector<bool> applied;
  bool whole = false;
  try {
    applied = store_.update(std::span<const StateUpdate>(updates));
    whole = applied.size() == updates.size();
  } catch (const std::exception&) {
  }
  if (whole) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) {
        batch[i].done({applied[i] ? WriteResult::Kind::applied : WriteResult::Kind::rejected, {}});
      }
    }
    batch.clear();
    return;
  }
  // The batch failed: each write alone, so that one bad write cannot fail the others.
  std::vector<Item> later;
  for (Item& it : batch) {
    if (!later.empty() || !write_one(it)) later.push_back(std::move(it));
  }
  batch = std::move(later);
}

bool StateWriter::write_one(Item& item) {
  for (;;) {
    try {
      const std::vector<bool> applied = store_.update(std::span<const StateUpdate>(&item.update, 1));
      if (applied.size() != 1) throw StoreError(StoreError::Kind::internal, "no result for a write");
      if (item.done) item.done({applied[0] ? WriteResult::Kind::applied : WriteResult::Kind::rejected, {}});
      return true;
    } catch (const std::exception& ex) {
      bool flushing;
      {
        std::lock_guard g(mu_);
        flushing = flushing_;
      }
      if (unreachable(ex) && !flushing) {
        events_.store_error("state write '" + std::string(to_string(item.update.state)) + "'", ex);
        return false;
      }
      if (!unreachable(ex) && !item.without_tail) {
        // The store refuses this write as it is: keep the outcome, drop what may offend.
        item.without_tail = true;
        item.update.message += std::string(item.update.message.empty() ? "" : "; ") +
                               "output tail not stored: " + ex.what();
        item.update.output_tail.clear();
        continue;
      }
      events_.store_error("state write '" + std::string(to_string(item.update.state)) + "'", ex);
      if (item.done) item.done({WriteResult::Kind::failed, ex.what()});
      return true;
    }
  }
}

void StateWriter::backoff() {
  std::unique_lock lk(mu_);
  backoff_ = std::min<std::chrono::milliseconds>(kMaxBackoff, std::max(kFirstBackoff, backoff_ * 2));
  backing_off_ = true;
  backoff_until_ = clock_.steady_now() + backoff_;
  while (!flushing_ && clock_.steady_now() < backoff_until_) {
    clock_.wait_until(work_cv_, lk, backoff_until_);
  }
  backing_off_ = false;
}

}  // namespace solocron::detail
