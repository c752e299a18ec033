// Rendezvous (highest random weight) ranking of nodes per occurrence: every node computes the
// same order from the same live-node list, so the preferred node claims first and the others
// only after a short stagger, and load spreads evenly instead of going to the fastest clock.
#include "scheduler/claimer.hpp"

namespace solocron::detail {

namespace {
std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// FNV-1a: stable across builds and hosts, unlike std::hash, so every node ranks alike.
std::uint64_t fnv(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}
std::uint64_t score(std::uint64_t occurrence_hash, std::string_view node) {
  return mix(occurrence_hash ^ fnv(node));
}
}  // namespace

std::uint64_t stable_hash(std::string_view text) { return mix(fnv(text)); }

std::uint64_t occurrence_hash(std::string_view job, std::chrono::sys_seconds at) {
  return mix(fnv(job) ^ mix(static_cast<std::uint64_t>(at.time_since_epoch().count())));
}

std::size_t rendezvous_rank(std::string_view job, std::chrono::sys_seconds at,
                            std::string_view node, const std::vector<std::string>& nodes) {
  const std::uint64_t occ = occurrence_hash(job, at);
  const std::uint64_t mine = score(occ, node);
  std::size_t rank = 0;
  for (const std::string& n : nodes) {
    if (n == node) continue;
    const std::uint64_t s = score(occ, n);
    if (s > mine || (s == mine && n < node)) ++rank;
  }
  return rank;
}

}  // namespace solocron::detail
