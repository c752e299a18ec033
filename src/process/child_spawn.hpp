// Starting one child process: the fork/exec half of ProcessRunner.
//
// Everything the child needs (argv, envp, the PATH candidates for argv[0], the working
// directory) is built in the parent first, because between vfork and exec only
// async-signal-safe calls are allowed. The child reports a failure before exec through a
// close-on-exec pipe, so "cannot start" is an ordinary result with the real errno, never a
// child that silently exits 127.
#pragma once

#include <string>

#include "process/process_runner.hpp"
#include "solocron/expected.hpp"

namespace solocron::detail {

struct SpawnedChild {
  int pid = -1;
  int out_fd = -1;  // read ends, non-blocking and close-on-exec
  int err_fd = -1;
  int pidfd = -1;  // -1 when not requested or the kernel has no pidfd_open
};

// Starts spec.argv in a new process group (pgid == pid) with stdin from /dev/null and
// stdout/stderr into pipes. The child registers its group with the guardian behind
// `guardian_fd` (-1: none) before exec. On failure returns a message such as
// "cannot execute 'nosuch': No such file or directory"; the child, if any, is forgotten by the
// guardian and reaped.
Expected<SpawnedChild, std::string> spawn_child(const ProcessSpec& spec, bool want_pidfd,
                                                int guardian_fd);

}  // namespace solocron::detail
