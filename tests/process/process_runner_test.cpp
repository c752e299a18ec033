// ProcessRunner with real processes: exit status, output, start failures, environment.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "process_test_support.hpp"

namespace solocron::detail::testing {
namespace {

::testing::Environment* const kSubreaper =
    ::testing::AddGlobalTestEnvironment(new SubreaperEnvironment);

// Every behaviour is checked with pidfd exit watching and with the waitid polling fallback.
class ProcessRunnerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ProcessRunnerOptions options;
    options.use_pidfd = GetParam();
    runner_.emplace(options);
  }
  void TearDown() override {
    runner_.reset();
    expect_no_process_left();
  }
  std::shared_ptr<ChildRun> run(ProcessSpec spec) {
    auto r = start(*runner_, std::move(spec));
    EXPECT_TRUE(r->wait_exit()) << "no exit reported";
    return r;
  }

  std::optional<ProcessRunner> runner_;
};

INSTANTIATE_TEST_SUITE_P(ExitWatch, ProcessRunnerTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "pidfd" : "polling"; });

TEST_P(ProcessRunnerTest, ReportsExitCode) {
  auto r = run(shell("exit 3"));
  const ProcessResult res = r->result();
  EXPECT_TRUE(res.started);
  EXPECT_EQ(res.start_error, "");
  EXPECT_EQ(res.exit_code, 3);
  EXPECT_EQ(res.signal, std::nullopt);
  EXPECT_FALSE(res.timed_out);
  EXPECT_FALSE(res.terminated);
  EXPECT_GT(res.pid, 0);
  EXPECT_LE(res.started_at, res.finished_at);
  EXPECT_EQ(runner_->running(), 0u);
}

TEST_P(ProcessRunnerTest, LooksUpProgramInPath) {
  auto r = run(command({"true"}));
  EXPECT_EQ(r->result().exit_code, 0);
  auto f = run(command({"false"}));
  EXPECT_EQ(f->result().exit_code, 1);
}

TEST_P(ProcessRunnerTest, ReportsDeathBySignal) {
  auto r = run(shell("kill -USR1 $$"));
  EXPECT_EQ(r->result().signal, SIGUSR1);
  EXPECT_EQ(r->result().exit_code, std::nullopt);
}

TEST_P(ProcessRunnerTest, DeliversLinesOfBothStreamsInOrder) {
  auto r = run(shell("i=1; while [ $i -le 500 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"));
  std::vector<std::string> want_out, want_err;
  for (int i = 1; i <= 500; ++i) {
    want_out.push_back("out" + std::to_string(i));
    want_err.push_back("err" + std::to_string(i));
  }
  EXPECT_EQ(r->stdout_lines(), want_out);
  EXPECT_EQ(r->stderr_lines(), want_err);
  EXPECT_EQ(r->result().exit_code, 0);
}

TEST_P(ProcessRunnerTest, FlushesAnUnfinishedLastLine) {
  auto r = run(shell("printf 'first\\nlast'; printf 'oops' >&2"));
  EXPECT_EQ(r->stdout_lines(), (std::vector<std::string>{"first", "last"}));
  EXPECT_EQ(r->stderr_lines(), (std::vector<std::string>{"oops"}));
}

TEST_P(ProcessRunnerTest, KeepsABoundedTailOfLargeOutput) {
  ProcessSpec spec = command({"seq", "1", "200000"});  // about 1.3 MB
  spec.tail_bytes = 100;
  auto r = run(spec);
  std::string all;
  for (int i = 1; i <= 200000; ++i) all += std::to_string(i) + "\n";
  EXPECT_EQ(r->result().output_tail, all.substr(all.size() - 100));
  EXPECT_EQ(r->stdout_lines().size(), 200000u);  // nothing lost on the way
}

TEST_P(ProcessRunnerTest, DefaultTailIsFourKibOfCombinedOutput) {
  auto r = run(shell("echo to-stderr >&2; seq 1 3"));
  const std::string tail = r->result().output_tail;
  EXPECT_NE(tail.find("to-stderr\n"), std::string::npos);
  EXPECT_NE(tail.find("1\n2\n3\n"), std::string::npos);
  auto big = run(command({"seq", "1", "100000"}));
  EXPECT_EQ(big->result().output_tail.size(), 4096u);
}

TEST_P(ProcessRunnerTest, CutsVeryLongLinesIntoChunks) {
  auto r = run(shell("head -c 10000 /dev/zero | tr '\\0' x; echo; echo next"));
  const auto lines = r->stdout_lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], std::string(4096, 'x'));
  EXPECT_EQ(lines[1], std::string(4096, 'x'));
  EXPECT_EQ(lines[2], std::string(10000 - 2 * 4096, 'x'));
  EXPECT_EQ(lines[3], "next");
}

TEST_P(ProcessRunnerTest, MissingBinaryIsAStartFailure) {
  auto r = run(command({"solocron-no-such-binary", "arg"}));
  const ProcessResult res = r->result();
  EXPECT_FALSE(res.started);
  EXPECT_EQ(res.start_error, "cannot execute 'solocron-no-such-binary': No such file or directory");
  EXPECT_EQ(res.exit_code, std::nullopt);
  EXPECT_EQ(res.pid, 0);
  EXPECT_EQ(runner_->running(), 0u);
  auto abs = run(command({"/nonexistent/solocron"}));
  EXPECT_EQ(abs->result().start_error,
            "cannot execute '/nonexistent/solocron': No such file or directory");
}

TEST_P(ProcessRunnerTest, StartFailureIsReportedOnTheRunnerThread) {
  auto r = run(command({"solocron-no-such-binary"}));
  std::lock_guard lock(r->mu);
  EXPECT_NE(r->exit_thread, std::this_thread::get_id());
  EXPECT_EQ(r->exits.size(), 1u);
}

TEST_P(ProcessRunnerTest, NotExecutableIsAStartFailure) {
  const auto dir = make_temp_dir();
  const auto script = dir / "script.sh";
  std::ofstream(script) << "#!/bin/sh\necho hi\n";
  ::chmod(script.c_str(), 0644);
  auto r = run(command({script.string()}));
  EXPECT_FALSE(r->result().started);
  EXPECT_EQ(r->result().start_error, "cannot execute '" + script.string() + "': Permission denied");
  auto d = run(command({dir.string()}));
  EXPECT_EQ(d->result().start_error, "cannot execute '" + dir.string() + "': Permission denied");
  std::filesystem::remove_all(dir);
}

TEST_P(ProcessRunnerTest, MissingWorkingDirectoryIsAStartFailure) {
  ProcessSpec spec = command({"true"});
  spec.working_dir = "/nonexistent/solocron-dir";
  auto r = run(spec);
  EXPECT_FALSE(r->result().started);
  EXPECT_EQ(r->result().start_error,
            "cannot change to working directory '/nonexistent/solocron-dir' for 'true': "
            "No such file or directory");
}

TEST_P(ProcessRunnerTest, EmptyCommandIsAStartFailure) {
  auto r = run(ProcessSpec{});
  EXPECT_FALSE(r->result().started);
  EXPECT_EQ(r->result().start_error, "cannot execute an empty command");
}

TEST_P(ProcessRunnerTest, HonoursWorkingDirectory) {
  const auto dir = make_temp_dir();
  ProcessSpec spec = command({"pwd", "-P"});
  spec.working_dir = dir.string();
  auto r = run(spec);
  EXPECT_EQ(r->stdout_lines(),
            (std::vector<std::string>{std::filesystem::canonical(dir).string()}));
  std::filesystem::remove_all(dir);
}

TEST_P(ProcessRunnerTest, ExtraEnvironmentAddsAndOverrides) {
  ::setenv("SOLOCRON_TEST_INHERITED", "from-node", 1);
  ::setenv("SOLOCRON_TEST_OVERRIDDEN", "from-node", 1);
  ProcessSpec spec = shell(
      "echo \"$SOLOCRON_TEST_INHERITED $SOLOCRON_TEST_OVERRIDDEN $SOLOCRON_TEST_NEW\"; "
      "env | grep -c '^SOLOCRON_TEST_OVERRIDDEN='");
  spec.extra_env = {{"SOLOCRON_TEST_OVERRIDDEN", "first"},
                    {"SOLOCRON_TEST_NEW", "new value"},
                    {"SOLOCRON_TEST_OVERRIDDEN", "from-job"}};
  auto r = run(spec);
  EXPECT_EQ(r->stdout_lines(), (std::vector<std::string>{"from-node from-job new value", "1"}));
  ::unsetenv("SOLOCRON_TEST_INHERITED");
  ::unsetenv("SOLOCRON_TEST_OVERRIDDEN");
}

TEST_P(ProcessRunnerTest, InvalidEnvironmentNameIsAStartFailure) {
  ProcessSpec spec = command({"true"});
  spec.extra_env = {{"A=B", "x"}};
  auto r = run(spec);
  EXPECT_FALSE(r->result().started);
  EXPECT_EQ(r->result().start_error,
            "cannot start 'true': invalid environment variable name 'A=B'");
}

TEST_P(ProcessRunnerTest, PathLookupUsesTheChildsPath) {
  const auto dir = make_temp_dir();
  const auto tool = dir / "solocron-test-tool";
  std::ofstream(tool) << "#!/bin/sh\necho tool ran\n";
  ::chmod(tool.c_str(), 0755);
  ProcessSpec spec = command({"solocron-test-tool"});
  spec.extra_env = {{"PATH", dir.string() + ":/usr/bin:/bin"}};
  auto r = run(spec);
  EXPECT_EQ(r->stdout_lines(), (std::vector<std::string>{"tool ran"}));
  std::filesystem::remove_all(dir);
}

TEST_P(ProcessRunnerTest, StdinIsDevNull) {
  auto r = run(command({"readlink", "/proc/self/fd/0"}));
  EXPECT_EQ(r->stdout_lines(), (std::vector<std::string>{"/dev/null"}));
}

TEST_P(ProcessRunnerTest, ChildStartsWithDefaultSignalsAndNoLeakedDescriptors) {
  // The node may block or ignore signals and hold inheritable descriptors; jobs get none of it.
  const int null_fd = ::open("/dev/null", O_RDONLY);
  ASSERT_EQ(::dup2(null_fd, 100), 100);  // dup2 leaves it inheritable
  ::close(null_fd);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  auto old_int = ::signal(SIGINT, SIG_IGN);
  // The exec'ed program reads its own state (a shell would block signals while it waits).
  auto sig = start(*runner_, command({"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}));
  auto fds = start(*runner_, command({"ls", "/proc/self/fd"}));
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::signal(SIGINT, old_int);
  ASSERT_TRUE(sig->wait_exit());
  ASSERT_TRUE(fds->wait_exit());
  EXPECT_EQ(sig->stdout_lines(),
            (std::vector<std::string>{"SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"}));
  // 0-2 are the standard streams, 3 is ls's own directory handle.
  EXPECT_EQ(fds->stdout_lines(), (std::vector<std::string>{"0", "1", "2", "3"}));
  ::close(100);
}

TEST_P(ProcessRunnerTest, CallbacksMayStartMoreProcesses) {
  // The scheduler starts follow-up runs (catch-up, replace) from inside an exit callback.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> codes;
  std::size_t running_inside = 99;
  std::function<void(const ProcessResult&)> on_exit = [&](const ProcessResult& result) {
    std::lock_guard lock(mu);
    codes.push_back(result.exit_code.value_or(-1));
    running_inside = runner_->running();
    if (codes.size() < 3) {
      runner_->start(shell("exit " + std::to_string(codes.size())), nullptr, on_exit);
    }
    cv.notify_all();
  };
  runner_->start(shell("exit 0"), nullptr, on_exit);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, kDeadline, [&] { return codes.size() == 3; }));
  EXPECT_EQ(codes, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(running_inside, 0u);  // a run no longer counts once its exit is being delivered
}

TEST_P(ProcessRunnerTest, ManyConcurrentChildrenAreEachReportedOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::shared_ptr<ChildRun>> runs(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        runs[t * kPerThread + i] = start(*runner_, command({"true"}));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::uint64_t> ids;
  for (auto& r : runs) {
    ASSERT_TRUE(r->wait_exit());
    ids.insert(r->id);
  }
  EXPECT_EQ(ids.size(), runs.size());
  // Every report arrived; give a duplicate the chance to show up before counting.
  runner_.reset();
  for (auto& r : runs) {
    EXPECT_EQ(r->exit_count(), 1u);
    EXPECT_EQ(r->result().exit_code, 0);
  }
}

}  // namespace
}  // namespace solocron::detail::testing
