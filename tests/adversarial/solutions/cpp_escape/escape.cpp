// The exploit's native half (solution.py says what it does and what catches it), through
// CPython's own C API: without torch's headers it builds in about a second, as
// solutions/range_cpp/binding.cpp does (its README.md: build times).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

std::string make_fifo(const char* path) {
  return mkfifo(path, 0666) == 0 ? "made" : "errno " + std::to_string(errno);
}

std::string save_file(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return "errno " + std::to_string(errno);
  bool whole = write(fd, "PWNED", 5) == 5;
  close(fd);
  return whole ? "saved" : "short write";
}

std::string write_outside(const char* path) {
  int fd = open(path, O_WRONLY | O_APPEND);
  if (fd < 0) return "open errno " + std::to_string(errno);
  return write(fd, "PWNED", 5) == 5 ? "written" : "write errno " + std::to_string(errno);
}

std::string spawn_daemon(const char* marker) {
  int ends[2];  // close-on-exec: EOF once the daemon has exec'd its loop
  if (pipe2(ends, O_CLOEXEC) != 0) return "pipe errno " + std::to_string(errno);
  pid_t first = fork();
  if (first < 0) return "fork errno " + std::to_string(errno);
  if (first == 0) {
    setsid();
    clearenv();
    if (fork() == 0) {
      dprintf(1, "DAEMON %d\n", getpid());
      execl("/bin/sh", "sh", "-c", "while :; do sleep 1; done", marker, (char*)0);
    }
    _exit(0);
  }
  close(ends[1]);
  waitpid(first, nullptr, 0);
  char byte;
  read(ends[0], &byte, 1);
  return "started";
}

template <std::string (*F)(const char*)>
PyObject* call(PyObject*, PyObject* args) {
  const char* text;
  if (!PyArg_ParseTuple(args, "s", &text)) return nullptr;
  return PyUnicode_FromString(F(text).c_str());
}

PyMethodDef methods[] = {
    {"make_fifo", call<make_fifo>, METH_VARARGS, nullptr},
    {"save_file", call<save_file>, METH_VARARGS, nullptr},
    {"write_outside", call<write_outside>, METH_VARARGS, nullptr},
    {"spawn_daemon", call<spawn_daemon>, METH_VARARGS, nullptr},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "speedup_test_escape", nullptr, -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit_speedup_test_escape(void) { return PyModule_Create(&module); }
