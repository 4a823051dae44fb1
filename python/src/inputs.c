/*
 * Inputs of a run or map from a Python dict: columns for mapped names
 * (lists, numpy arrays and pandas Series, Arrow PyCapsule providers), single
 * values for the rest (a value of the consumers' declared type, else of the
 * type inferred from it, else a Python object), and resources (Resource
 * objects: built once per worker by calling their _hn_build()).
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>

/* ---- resources ------------------------------------------------------------ */

/* config: the zero-argument build callable (strong). Any thread. */
static hn_status res_init(void *config, void **state, hn_error *err) {
  hnpy_gil g;
  hnpy_gil_enter(&g);
  PyObject *o = PyObject_CallNoArgs((PyObject *)config);
  hn_status st = HN_OK;
  if (!o) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *text = value ? PyObject_Str(value) : NULL;
    const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
    if (err) {
      err->code = HN_ENODE;
      snprintf(err->message, sizeof err->message, "%s: %s",
               type ? ((PyTypeObject *)type)->tp_name : "error", s ? s : "");
    }
    if (type && !PyErr_GivenExceptionMatches(type, PyExc_Exception) && value)
      hnpy_stash_abort(value);
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    PyErr_Clear();
    st = HN_ENODE;
  }
  *state = o;
  hnpy_gil_exit(&g);
  return st;
}

static void res_destroy(void *config, void *state) {
  (void)config;
  if (!state || !hnpy_python_alive()) return;
  hnpy_gil g;
  hnpy_gil_enter(&g);
  PyObject *o = state;
  if (PyObject_HasAttrString(o, "close")) {
    PyObject *r = PyObject_CallMethod(o, "close", NULL);
    Py_XDECREF(r);
    PyErr_Clear();
  }
  Py_DECREF(o);
  hnpy_gil_exit(&g);
}

static void res_config_free(void *config) {
  if (!hnpy_python_alive()) return;
  hnpy_gil g;
  hnpy_gil_enter(&g);
  Py_XDECREF((PyObject *)config);
  hnpy_gil_exit(&g);
}

static int set_resource(hn_inputs *in, const char *name, PyObject *spec) {
  PyObject *build = PyObject_GetAttrString(spec, "_hn_build");
  PyObject *rname = build ? PyObject_GetAttrString(spec, "name") : NULL;
  PyObject *version = rname ? PyObject_GetAttrString(spec, "version") : NULL;
  int rc = -1;
  if (version) {
    hn_resource_def def = {.size = sizeof def,
                           .name = PyUnicode_Check(rname) ? PyUnicode_AsUTF8(rname) : name,
                           .init = res_init,
                           .destroy = res_destroy,
                           .config = build,
                           .config_free = res_config_free,
                           .version = version == Py_None ? NULL : PyUnicode_AsUTF8(version)};
    hn_error err = {0};
    hn_status st = PyErr_Occurred() ? HN_EINVAL : hn_inputs_set_resource(in, name, &def, &err);
    if (st == HN_OK) {
      build = NULL; /* owned by the inputs now */
      rc = 0;
    } else if (!PyErr_Occurred()) {
      hnpy_raise(st, &err);
    }
  }
  Py_XDECREF(build);
  Py_XDECREF(rname);
  Py_XDECREF(version);
  return rc;
}

/* ---- values ------------------------------------------------------------- */

/* pandas Series and the like: their numpy array (new), else v (new). */
static PyObject *unwrap(PyObject *v) {
  if (PyList_Check(v) || PyTuple_Check(v) || !PyObject_HasAttrString(v, "to_numpy") ||
      PyObject_CheckBuffer(v))
    return Py_NewRef(v);
  return PyObject_CallMethod(v, "to_numpy", NULL);
}

/* A column for a mapped input: declared type, else inferred, else objects. */
static int column_from(PyObject *v, const hn_type *type, const char *name, hn_array **out) {
  int rc = hnpy_array_from_capsule(v, out);
  if (rc != 1) return rc;
  PyObject *u = unwrap(v);
  if (!u) return -1;
  rc = hnpy_array_from_py(u, type, name, out);
  if (rc < 0 && !type) {
    PyErr_Clear();
    rc = hnpy_array_from_py(u, hnpy_object_type, name, out);
  }
  Py_DECREF(u);
  return rc;
}

/* The type of a single value nothing declares: scalars and lists inferred, else object<py>. */
static const hn_type *value_type(PyObject *v) {
  const char *t = hnpy_infer_scalar_type(v);
  if (t) return hnpy_type_parse(t);
  if (PyList_Check(v)) {
    hn_array *col = NULL;
    if (hnpy_array_from_py(v, NULL, "", &col) == 0) {
      const hn_type *lt = NULL;
      hn_error err = {0};
      hn_status st = hn_type_list_create(NULL, hn_array_type(col), &lt, &err);
      hn_array_release(col);
      if (st == HN_OK) return lt;
    }
    PyErr_Clear();
  }
  return hn_type_retain(hnpy_object_type);
}

/* One value as a one-row array of `type` (or of the type inferred). */
static int value_from(PyObject *v, const hn_type *type, const char *name, hn_array **out) {
  const hn_type *t = type ? hn_type_retain(type) : value_type(v);
  if (!t) return -1;
  hn_builder *b = NULL;
  hn_error err = {0};
  hn_status st = hn_builder_create(NULL, t, &b, &err);
  int rc = -1;
  if (st == HN_OK) {
    char msg[256];
    if (hnpy_append(b, v, msg, sizeof msg) < 0) {
      char ts[128];
      hn_type_to_string(t, ts, sizeof ts);
      PyErr_Format(PyExc_TypeError, "input '%s' (%s): %s", name, ts, msg);
    } else if ((st = hn_builder_finish(b, out, &err)) == HN_OK) {
      rc = 0;
    }
  }
  if (rc < 0 && !PyErr_Occurred()) hnpy_raise(st, &err);
  hn_builder_destroy(b);
  hn_type_release(t);
  return rc;
}

static int set_one(hn_inputs *in, PyObject *key, PyObject *v, PyObject *columns, PyObject *types) {
  const char *name = PyUnicode_AsUTF8(key);
  if (!name) return -1;
  if (PyObject_HasAttrString(v, "_hn_build")) return set_resource(in, name, v);
  PyObject *ts = types ? PyDict_GetItem(types, key) : NULL; /* borrowed */
  const hn_type *type = ts && ts != Py_None ? hnpy_type_parse(PyUnicode_AsUTF8(ts)) : NULL;
  if (ts && ts != Py_None && !type) return -1;
  int is_col = columns ? PySequence_Contains(columns, key) : 0;
  hn_array *a = NULL;
  int rc = is_col < 0 ? -1 : 0;
  int whole = 0; /* an Arrow array given as one value: passed as a list value */
  if (rc == 0 && !is_col && hn_type_id_of(type) != HN_TYPE_OBJECT) {
    rc = hnpy_array_from_capsule(v, &a);
    whole = rc == 0;
    if (rc == 1) rc = 0;
  }
  if (rc == 0 && !a) rc = is_col ? column_from(v, type, name, &a) : value_from(v, type, name, &a);
  hn_error err = {0};
  hn_status st = HN_OK;
  if (rc == 0) {
    st = is_col || whole ? hn_inputs_set_column(in, name, a, &err)
                         : hn_inputs_set_value(in, name, a, 0, &err);
    if (st != HN_OK) rc = (hnpy_raise(st, &err), -1);
  }
  hn_array_release(a);
  hn_type_release(type);
  return rc;
}

int hnpy_inputs_build(PyObject *inputs, PyObject *columns, PyObject *types, hn_inputs **out) {
  hn_error err = {0};
  hn_status st = hn_inputs_create(NULL, out, &err);
  if (st != HN_OK) return hnpy_raise(st, &err), -1;
  if (!inputs || inputs == Py_None) return 0;
  if (!PyDict_Check(inputs)) {
    PyErr_Format(PyExc_TypeError, "inputs must be a dict, got %.64s", Py_TYPE(inputs)->tp_name);
  } else {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(inputs, &pos, &k, &v))
      if (set_one(*out, k, v, columns, types) < 0) break;
  }
  if (!PyErr_Occurred()) return 0;
  hn_inputs_destroy(*out);
  *out = NULL;
  return -1;
}
