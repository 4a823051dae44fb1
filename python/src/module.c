/*
 * The module hypernodes_c._hypernodes: types, exceptions, functions, and
 * the process-wide set-up (the object<py> type, fork hooks).
 */
#include "hnpy.h"

static PyObject *type_str(PyObject *self, PyObject *args) {
  (void)self;
  const char *text;
  if (!PyArg_ParseTuple(args, "s:parse_type", &text)) return NULL;
  const hn_type *t = hnpy_type_parse(text);
  if (!t) return NULL;
  PyObject *s = hnpy_type_str(t);
  hn_type_release(t);
  return s;
}

static PyObject *version(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  return PyUnicode_FromString(hn_version_string());
}

static PyObject *engine_kinds(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  PyObject *l = PyList_New(0);
  for (int k = HN_ENGINE_SEQUENTIAL; l && k <= HN_ENGINE_MPI; k++) {
    PyObject *s = PyUnicode_FromString(hn_engine_kind_name((hn_engine_kind)k));
    if (!s || PyList_Append(l, s) < 0) Py_CLEAR(l);
    Py_XDECREF(s);
  }
  return l;
}

static PyMethodDef module_methods[] = {
    {"parse_type", type_str, METH_VARARGS, "Parse a type string; returns it as printed."},
    {"library_version", version, METH_NOARGS, "Version of the C library."},
    {"engine_kinds", engine_kinds, METH_NOARGS, "Names of the engine kinds."},
    {"load_nodes", hnpy_load_nodes, METH_VARARGS,
     "Load C nodes from a shared library's hypernodes_nodes(); a list of capsules."},
    {NULL, NULL, 0, NULL}};

static void module_free(void *m) {
  (void)m;
  hnpy_types_free();
}

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hypernodes_c._hypernodes",
    .m_doc = "The CPython extension of hypernodes_c (see the package).",
    .m_size = -1,
    .m_methods = module_methods,
    .m_free = module_free};

static int add_type(PyObject *m, PyTypeObject *t, const char *name) {
  if (PyType_Ready(t) < 0) return -1;
  Py_INCREF(t);
  if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
    Py_DECREF(t);
    return -1;
  }
  return 0;
}

static int add_exceptions(PyObject *m) {
  hnpy_Error = PyErr_NewExceptionWithDoc(
      "hypernodes_c.Error", "A hypernodes call failed (attributes: status, node, item, item_path).",
      NULL, NULL);
  if (!hnpy_Error) return -1;
  hnpy_NodeError = PyErr_NewExceptionWithDoc(
      "hypernodes_c.NodeError",
      "A node failed on an item: node, item, item_path, message; __cause__ is the node's own "
      "exception when it ran in this process.",
      hnpy_Error, NULL);
  if (!hnpy_NodeError) return -1;
  Py_INCREF(hnpy_Error);
  Py_INCREF(hnpy_NodeError);
  if (PyModule_AddObject(m, "Error", hnpy_Error) < 0) return -1;
  return PyModule_AddObject(m, "NodeError", hnpy_NodeError);
}

PyMODINIT_FUNC PyInit__hypernodes(void); /* the module's one exported symbol */
PyMODINIT_FUNC PyInit__hypernodes(void) {
  PyObject *m = PyModule_Create(&module_def);
  if (!m) return NULL;
  if (hnpy_types_init() < 0 || hnpy_gil_init() < 0 || hnpy_fork_hooks_install() < 0 ||
      add_exceptions(m) < 0 || hnpy_arrays_init(m) < 0 || hnpy_cnodes_init(m) < 0 ||
      add_type(m, &hnpy_PipelineType, "Pipeline") < 0 ||
      add_type(m, &hnpy_EngineType, "Engine") < 0 || add_type(m, &hnpy_CacheType, "Cache") < 0 ||
      add_type(m, &hnpy_ResultType, "Result") < 0 ||
      add_type(m, &hnpy_ProfileType, "Profile") < 0 || add_type(m, &hnpy_TraceType, "Trace") < 0 ||
      PyModule_AddStringConstant(m, "OBJECT_TYPE", "object<py>") < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
