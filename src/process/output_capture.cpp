#include "process/output_capture.hpp"

#include <utility>

namespace solocron::detail {

void LineSplitter::feed(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    // Complete a pending line first, chunking it when it outgrows the bound.
    if (partial_.size() + piece.size() <= max_line_) {
      if (nl == std::string_view::npos) {
        partial_.append(piece);  // held even at exactly max_line_: a '\n' may come next
        return;
      }
      if (partial_.empty()) {
        sink(piece);
      } else {
        partial_.append(piece);
        sink(partial_);
        partial_.clear();
      }
      bytes.remove_prefix(nl + 1);
      continue;
    }
    // Too long: fill the pending chunk up to max_line_, emit it, and go round with the rest.
    const std::size_t take = max_line_ - partial_.size();
    partial_.append(bytes.substr(0, take));
    sink(partial_);
    partial_.clear();
    bytes.remove_prefix(take);
  }
}

void LineSplitter::flush(const Sink& sink) {
  if (!partial_.empty()) {
    sink(partial_);
    partial_.clear();
  }
}

void OutputTail::append(std::string_view bytes) {
  if (capacity_ == 0) return;
  if (bytes.size() >= capacity_) {
    cut_ = cut_ || bytes.size() > capacity_ || !data_.empty();
    data_.assign(bytes.substr(bytes.size() - capacity_));
    return;
  }
  data_.append(bytes);
  // Trim lazily (at twice the capacity) so a stream of small reads is not a memmove each.
  if (data_.size() > 2 * capacity_) {
    data_.erase(0, data_.size() - capacity_);
    cut_ = true;
  }
}

std::string OutputTail::take() {
  if (data_.size() > capacity_) {
    data_.erase(0, data_.size() - capacity_);
    cut_ = true;
  }
  // A cut inside a multi-byte character would make the record invalid UTF-8 for JSON output.
  std::size_t skip = 0;
  while (cut_ && skip < 3 && skip < data_.size() &&
         (static_cast<unsigned char>(data_[skip]) & 0xC0) == 0x80) {
    ++skip;
  }
  data_.erase(0, skip);
  cut_ = false;
  return std::move(data_);
}

}  // namespace solocron::detail
