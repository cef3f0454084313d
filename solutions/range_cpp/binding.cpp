// The Python face of train.h, through CPython's own C API: solution.py hands over the
// addresses of tensors it has checked (dtype, contiguity, size), so no torch header is
// needed here. A translation unit with torch's tensor type and pybind11 caster took 17 s
// to compile, one with Python.h 0.24 s (README.md: build times), and every sandboxed run
// builds it again at setup (README.md: the compile cache).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <exception>
#include <stdexcept>

#include "train.h"

#define RANGE_STR2(x) #x
#define RANGE_STR(x) RANGE_STR2(x)
#define RANGE_INIT2(x) PyInit_##x
#define RANGE_INIT(x) RANGE_INIT2(x)

namespace {

bool get(PyObject* cfg, const char* key, double* out) {
  PyObject* value = PyDict_GetItemString(cfg, key);  // borrowed
  if (value == nullptr) {
    PyErr_Format(PyExc_KeyError, "range_cpp: cfg has no %s", key);
    return false;
  }
  *out = PyFloat_AsDouble(value);
  return !PyErr_Occurred();
}

// cfg (the solution format's dict) -> Config; false with a Python error set.
bool to_config(PyObject* cfg, Config* c) {
  if (!PyDict_Check(cfg)) {
    PyErr_SetString(PyExc_TypeError, "range_cpp: cfg must be a dict");
    return false;
  }
  const char* ints[] = {"vocab_size", "d_model", "seq_len", "n_layer", "n_head",
                        "batch_size", "steps"};
  int* int_fields[] = {&c->vocab, &c->C, &c->T, &c->L, &c->H, &c->B, &c->steps};
  for (int i = 0; i < 7; ++i) {
    double v;
    if (!get(cfg, ints[i], &v)) return false;
    *int_fields[i] = int(v);
  }
  double eps;
  if (!get(cfg, "layer_norm_eps", &eps) || !get(cfg, "beta1", &c->beta1) ||
      !get(cfg, "beta2", &c->beta2) || !get(cfg, "eps", &c->eps) ||
      !get(cfg, "weight_decay", &c->weight_decay) || !get(cfg, "grad_clip", &c->grad_clip))
    return false;
  c->ln_eps = float(eps);
  if (c->vocab <= 0 || c->C <= 0 || c->T <= 0 || c->L <= 0 || c->H <= 0 || c->B <= 0 ||
      c->steps < 0 || c->C % c->H != 0) {
    PyErr_SetString(PyExc_ValueError, "range_cpp: unsupported model shape");
    return false;
  }
  return true;
}

PyObject* layout_py(PyObject*, PyObject* cfg) {
  Config c;
  if (!to_config(cfg, &c)) return nullptr;
  const std::vector<Slot> slots = layout(c);
  PyObject* out = PyList_New(Py_ssize_t(slots.size()));
  if (out == nullptr) return nullptr;
  for (size_t i = 0; i < slots.size(); ++i) {
    const Slot& s = slots[i];
    PyObject* item = Py_BuildValue("(sLLO)", s.name.c_str(), (long long)s.offset,
                                   (long long)s.size, s.decays ? Py_True : Py_False);
    if (item == nullptr) {
      Py_DECREF(out);
      return nullptr;
    }
    PyList_SET_ITEM(out, Py_ssize_t(i), item);
  }
  return out;
}

// train(cfg, params, tokens, n_tokens, batches, lrs, losses): the arrays by address.
PyObject* train_py(PyObject*, PyObject* args) {
  PyObject* cfg;
  unsigned long long params, tokens, batches, lrs, losses;
  long long n_tokens;
  if (!PyArg_ParseTuple(args, "OKKLKKK", &cfg, &params, &tokens, &n_tokens, &batches, &lrs,
                        &losses))
    return nullptr;
  Config c;
  if (!to_config(cfg, &c)) return nullptr;
  std::exception_ptr error;
  Py_BEGIN_ALLOW_THREADS
  try {
    train(c, reinterpret_cast<float*>(params), reinterpret_cast<const int64_t*>(tokens),
          long(n_tokens), reinterpret_cast<const int64_t*>(batches),
          reinterpret_cast<const double*>(lrs), reinterpret_cast<double*>(losses));
  } catch (...) {
    error = std::current_exception();
  }
  Py_END_ALLOW_THREADS
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_NoMemory();
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* phases_py(PyObject*, PyObject*) {
  const std::vector<std::string> names = phase_names();
  const std::vector<double> seconds = phase_seconds();
  PyObject* out = PyDict_New();
  if (out == nullptr) return nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    PyObject* value = PyFloat_FromDouble(seconds[i]);
    if (value == nullptr || PyDict_SetItemString(out, names[i].c_str(), value) != 0) {
      Py_XDECREF(value);
      Py_DECREF(out);
      return nullptr;
    }
    Py_DECREF(value);
  }
  return out;
}

PyMethodDef methods[] = {
    {"layout", layout_py, METH_O, "[(name, offset, size, decays)] of the flat parameters"},
    {"train", train_py, METH_VARARGS, "the whole training, in place over the parameters"},
    {"phase_seconds", phases_py, METH_NOARGS, "{phase: seconds} (RANGE_PROFILE builds)"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, RANGE_STR(TORCH_EXTENSION_NAME), nullptr, -1,
                      methods};

}  // namespace

PyMODINIT_FUNC RANGE_INIT(TORCH_EXTENSION_NAME)() { return PyModule_Create(&module); }
