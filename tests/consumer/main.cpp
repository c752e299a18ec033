// Consumer of the installed solocron package: parses a schedule, and lets a Scheduler on an
// in-memory store derive the same next fire time, both from a fixed instant. Prints
//   next <rfc3339>
//   scheduler next <rfc3339>
//   version <solocron::version()>
// which tests/consumer/run_consumer_test.cmake compares with the expected instants.
#include <solocron/cron.hpp>
#include <solocron/fake_clock.hpp>
#include <solocron/scheduler.hpp>
#include <solocron/store.hpp>
#include <solocron/version.hpp>

#include <chrono>
#include <iostream>

int main() {
  using namespace std::chrono;
  // Friday 2026-03-06 10:00 UTC; Berlin is still on CET (UTC+1), so Friday's 09:30 is past.
  const sys_seconds from = sys_days{year{2026} / 3 / 6} + hours{10};
  auto schedule = solocron::Schedule::parse("30 9 * * 1-5", {.time_zone = "Europe/Berlin"});
  if (!schedule) {
    std::cerr << schedule.error().message() << "\n";
    return 1;
  }
  auto next = schedule->next(from);
  if (!next) {
    std::cerr << "no next fire time\n";
    return 1;
  }
  std::cout << "next " << solocron::format_rfc3339(*next, schedule->time_zone()) << "\n";

  solocron::FakeClock clock{from};
  auto store = solocron::open_store("memory:");
  store->migrate();
  solocron::Scheduler scheduler({.node_id = "consumer"}, *store, clock);
  auto added = scheduler.add({.name = "report",
                              .schedule = *schedule,
                              .action = solocron::JobCallable(
                                  [](const solocron::RunContext&) { return 0; })});
  if (!added) {
    std::cerr << added.error() << "\n";
    return 1;
  }
  auto info = scheduler.find("report");
  if (!info || !info->next_fire) {
    std::cerr << "scheduler has no next fire time for the job\n";
    return 1;
  }
  std::cout << "scheduler next " << solocron::format_rfc3339(*info->next_fire, "Europe/Berlin")
            << "\n";
  std::cout << "version " << solocron::version() << "\n";
  return 0;
}
