// solocron::Expected<T, E> holds either a value or an error.
//
// Parsing and validation report failures as values rather than exceptions: a bad schedule in
// one job is an ordinary outcome that the caller reports and moves past. C++23's std::expected
// would serve, but solocron targets C++20 (GCC 12), so this is the small subset the API uses.
#pragma once

#include <utility>
#include <variant>

namespace solocron {

template <class E>
struct Unexpected {
  E error;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

template <class T, class E>
class Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Expected(Unexpected<E> err) : v_(std::in_place_index<1>, std::move(err.error)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const& { return std::get<1>(v_); }
  E&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, E> v_;
};

}  // namespace solocron
