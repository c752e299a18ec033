#include "scheduler/state_writer.hpp"

#include <span>

namespace solocron::detail {

namespace {
// Larger batches add latency for the writes at their end without saving round trips that
// matter; 1,000 is where a PostgreSQL batch already runs at 20,000 writes a second.
constexpr std::size_t kMaxBatch = 1000;
}  // namespace

StateWriter::StateWriter(Store& store, std::function<void()> on_idle)
    : store_(store), on_idle_(std::move(on_idle)), thread_([this] { main(); }) {}

StateWriter::~StateWriter() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void StateWriter::submit(StateUpdate update, Done done) {
  {
    std::lock_guard<std::mutex> g(mu_);
    queue_.emplace_back(std::move(update), std::move(done));
  }
  work_cv_.notify_one();
}

void StateWriter::flush() {
  std::unique_lock<std::mutex> lk(mu_);
  drained_cv_.wait(lk, [&] { return queue_.empty() && in_flight_ == 0; });
}

bool StateWriter::idle() const {
  std::lock_guard<std::mutex> g(mu_);
  return queue_.empty() && in_flight_ == 0;
}

void StateWriter::main() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left to write
    std::vector<std::pair<StateUpdate, Done>> batch;
    if (queue_.size() <= kMaxBatch) {
      batch.swap(queue_);
    } else {
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + kMaxBatch));
      queue_.erase(queue_.begin(), queue_.begin() + kMaxBatch);
    }
    in_flight_ = batch.size();
    lk.unlock();
    write_batch(batch);
    lk.lock();
    in_flight_ = 0;
    if (queue_.empty()) {
      drained_cv_.notify_all();
      lk.unlock();
      if (on_idle_) on_idle_();
      lk.lock();
    }
  }
}

void StateWriter::write_batch(std::vector<std::pair<StateUpdate, Done>>& batch) {
  // `running` marks go first: an outcome in the same batch must not be overtaken by them.
  for (bool running_pass : {true, false}) {
    std::vector<StateUpdate> updates;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if ((batch[i].first.state == RunState::running) == running_pass) {
        updates.push_back(batch[i].first);
        index.push_back(i);
      }
    }
    if (updates.empty()) continue;
    std::vector<bool> applied;
    std::string error;
    try {
      applied = store_.update(std::span<const StateUpdate>(updates));
    } catch (const std::exception& ex) {
      error = ex.what();
    }
    for (std::size_t k = 0; k < index.size(); ++k) {
      Done& done = batch[index[k]].second;
      if (!done) continue;
      if (error.empty() && k < applied.size()) {
        done(applied[k], {});
      } else {
        done(std::nullopt, error.empty() ? "the store answered fewer results than writes" : error);
      }
    }
  }
}

}  // namespace solocron::detail
