// Store identities: a random 128-bit id, written once when a store's schema is made, by which
// a node recognises the store it started on (a SQLite file replaced by another, a database
// restored from elsewhere are other stores).
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace solocron::detail {

// 32 lower-case hex digits from the operating system's entropy (std::random_device reads
// the kernel's generator on Linux).
inline std::string new_store_id() {
  std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int word = 0; word < 4; ++word) {
    std::uint32_t bits = device();
    for (int nibble = 0; nibble < 8; ++nibble, bits >>= 4) id += kHex[bits & 0xf];
  }
  return id;
}

}  // namespace solocron::detail
