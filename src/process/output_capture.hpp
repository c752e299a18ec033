// Turning a child's raw output bytes into log lines and a bounded tail.
//
// Output arrives in arbitrary pieces (whatever a pipe read returned). LineSplitter reassembles
// lines across pieces but never holds more than `max_line` bytes of an unfinished line, so a
// child printing megabytes without a newline cannot grow the node's memory: such a line is
// handed on in chunks. OutputTail keeps the last N bytes of everything for the run's record.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace solocron::detail {

class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line)>;
  explicit LineSplitter(std::size_t max_line) : max_line_(max_line == 0 ? 1 : max_line) {}

  // Emits every complete line in `bytes` (without its '\n'), and chunks of `max_line` bytes of
  // a line that is still growing.
  void feed(std::string_view bytes, const Sink& sink);
  // Emits what is left of an unfinished last line (the child exited without a final '\n').
  void flush(const Sink& sink);

 private:
  std::size_t max_line_;
  std::string partial_;
};

class OutputTail {
 public:
  explicit OutputTail(std::size_t capacity) : capacity_(capacity) {}

  void append(std::string_view bytes);
  // The kept bytes; the cut at the front never splits a UTF-8 sequence.
  std::string take();

 private:
  std::size_t capacity_;
  std::string data_;
  bool cut_ = false;  // bytes were dropped at the front
};

}  // namespace solocron::detail
