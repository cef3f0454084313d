// The exploit's native half (solution.py says what it does and what catches it), through
// CPython's own C API: without torch's headers it builds in about a second, as
// solutions/range_cpp/binding.cpp does (its README.md: build times).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
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

template <std::string (*F)(const char*)>
PyObject* call(PyObject*, PyObject* args) {
  const char* text;
  if (!PyArg_ParseTuple(args, "s", &text)) return nullptr;
  return PyUnicode_FromString(F(text).c_str());
}

PyMethodDef methods[] = {
    {"make_fifo", call<make_fifo>, METH_VARARGS, nullptr},
    {"save_file", call<save_file>, METH_VARARGS, nullptr},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "speedup_test_writes", nullptr, -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit_speedup_test_writes(void) { return PyModule_Create(&module); }
