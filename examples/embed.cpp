// Embedding solocron in a service: an in-process job that runs once per tick across all
// replicas sharing the store. Run two copies with the same store to see them share the work:
//   build/bin/example_embed sqlite:/tmp/embed.db node-a & build/bin/example_embed sqlite:/tmp/embed.db node-b
#include <solocron/scheduler.hpp>

#include <chrono>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  std::string url = argc > 1 ? argv[1] : "sqlite:embed-example.db";
  std::string node = argc > 2 ? argv[2] : "embedded";
  auto store = solocron::open_store(url);
  store->migrate();

  solocron::Scheduler scheduler({.node_id = node}, *store);
  auto schedule = solocron::Schedule::parse("*/2 * * * * *");
  if (!schedule) {
    std::cerr << schedule.error().message() << "\n";
    return 2;
  }
  auto added = scheduler.add({.name = "rollup",
                              .schedule = *schedule,
                              .action = solocron::JobCallable([](const solocron::RunContext& ctx) {
                                // ctx.fence would guard this run's writes elsewhere.
                                std::cout << ctx.node << " runs " << ctx.job << " fence "
                                          << ctx.fence << std::endl;
                                return 0;
                              })});
  if (!added) {
    std::cerr << added.error() << "\n";
    return 2;
  }
  scheduler.start();
  std::this_thread::sleep_for(std::chrono::seconds(argc > 3 ? std::stoi(argv[3]) : 6));
  scheduler.shutdown();
  return 0;
}
