/*
 * Columns between Python and hypernodes arrays. Fixed-width columns without
 * nulls cross without a copy both ways: an array is shown to numpy through
 * a read-only buffer (ArrayView, which retains the array), and a numpy
 * array (any C-contiguous buffer of the right format) becomes an array over
 * its memory (the buffer is released, with the GIL, when the array goes).
 * Everything else is converted value by value.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>

/* ---- ArrayView: the buffer protocol over an array's values -------------- */

typedef struct ArrayView {
  PyObject_HEAD hn_array *array; /* retained */
  const void *data;
  Py_ssize_t len, itemsize;
  char format[2];
} ArrayView;

static void view_dealloc(ArrayView *v) {
  hn_array_release(v->array);
  Py_TYPE(v)->tp_free((PyObject *)v);
}

static int view_getbuffer(ArrayView *v, Py_buffer *b, int flags) {
  if (PyBuffer_FillInfo(b, (PyObject *)v, (void *)v->data, v->len * v->itemsize, 1, flags) < 0)
    return -1;
  b->format = (flags & PyBUF_FORMAT) ? v->format : NULL;
  b->itemsize = v->itemsize;
  if (flags & PyBUF_ND) b->shape = &v->len; /* items, not bytes */
  return 0;
}

static PyBufferProcs view_as_buffer = {.bf_getbuffer = (getbufferproc)view_getbuffer};

static PyTypeObject ArrayViewType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hypernodes_c._ArrayView",
    .tp_basicsize = sizeof(ArrayView),
    .tp_dealloc = (destructor)view_dealloc,
    .tp_as_buffer = &view_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Read-only buffer over a hypernodes array's values (keeps the array alive).",
};

static PyObject *numpy_module; /* strong: numpy, imported on first use */

PyObject *hnpy_numpy(void) {
  if (!numpy_module) numpy_module = PyImport_ImportModule("numpy");
  return numpy_module;
}

int hnpy_arrays_init(PyObject *module) {
  (void)module;
  return PyType_Ready(&ArrayViewType);
}

/* Rows [start, start + n) of a utf8 or binary array, read through its offsets. */
static PyObject *bytes_range(const hn_array *a, int64_t start, int64_t n, int utf8) {
  const int32_t *off = hn_array_offsets(a);
  const char *data = (const char *)hn_buffer_data(hn_array_buffer((hn_array *)a, 2));
  int nulls = hn_array_null_count(a) > 0;
  PyObject *list = PyList_New((Py_ssize_t)n);
  for (int64_t i = 0; list && i < n; i++) {
    int64_t r = start + i;
    PyObject *v;
    if (nulls && hn_array_is_null(a, r))
      v = Py_NewRef(Py_None);
    else if (utf8)
      v = PyUnicode_DecodeUTF8(data + off[r], off[r + 1] - off[r], "surrogateescape");
    else
      v = PyBytes_FromStringAndSize(data + off[r], off[r + 1] - off[r]);
    if (!v)
      Py_CLEAR(list);
    else
      PyList_SET_ITEM(list, (Py_ssize_t)i, v);
  }
  return list;
}

/* Rows [start, start + n) of a list array: one Python list per row. */
static PyObject *list_range(const hn_array *a, int64_t start, int64_t n, PyObject *conv) {
  const int32_t *off = hn_array_offsets(a);
  const hn_array *child = hn_array_child(a, 0);
  PyObject *ic =
      conv && PyTuple_Check(conv) && PyTuple_GET_SIZE(conv) == 1 ? PyTuple_GET_ITEM(conv, 0) : NULL;
  int nulls = hn_array_null_count(a) > 0;
  PyObject *list = PyList_New((Py_ssize_t)n);
  for (int64_t i = 0; list && i < n; i++) {
    int64_t r = start + i;
    PyObject *v = nulls && hn_array_is_null(a, r)
                      ? Py_NewRef(Py_None)
                      : hnpy_range_to_list(child, off[r], off[r + 1] - off[r], ic);
    if (!v)
      Py_CLEAR(list);
    else
      PyList_SET_ITEM(list, (Py_ssize_t)i, v);
  }
  return list;
}

PyObject *hnpy_range_to_list(const hn_array *a, int64_t start, int64_t n, PyObject *conv) {
  hn_type_id id = hn_type_id_of(hn_array_type(a));
  if (id == HN_TYPE_UTF8 || id == HN_TYPE_BINARY)
    return bytes_range(a, start, n, id == HN_TYPE_UTF8);
  if (id == HN_TYPE_LIST) return list_range(a, start, n, conv);
  const int64_t *i64 = hn_array_null_count(a) == 0 ? hn_array_int64_values(a) : NULL;
  const double *f64 = hn_array_null_count(a) == 0 ? hn_array_float64_values(a) : NULL;
  PyObject *list = PyList_New((Py_ssize_t)n);
  for (int64_t i = 0; list && i < n; i++) {
    PyObject *v;
    if (i64) {
      v = PyLong_FromLongLong(i64[start + i]);
    } else if (f64) {
      v = PyFloat_FromDouble(f64[start + i]);
    } else {
      hn_datum d = hn_array_get(a, start + i);
      v = hnpy_from_datum(&d, conv);
    }
    if (!v)
      Py_CLEAR(list);
    else
      PyList_SET_ITEM(list, (Py_ssize_t)i, v);
  }
  return list;
}

PyObject *hnpy_array_to_list(const hn_array *array, PyObject *conv) {
  return hnpy_range_to_list(array, 0, hn_array_length(array), conv);
}

/* A zero-copy numpy view of a fixed-width array without nulls, or Py_None (new) when not one. */
static PyObject *numpy_view(hn_array *array) {
  hn_type_id id = hn_type_id_of(hn_array_type(array));
  const void *data = id == HN_TYPE_INT64     ? (const void *)hn_array_int64_values(array)
                     : id == HN_TYPE_FLOAT64 ? (const void *)hn_array_float64_values(array)
                     : id == HN_TYPE_FLOAT32 ? (const void *)hn_array_float32_values(array)
                                             : NULL;
  if (!data || hn_array_null_count(array) > 0) Py_RETURN_NONE;
  PyObject *np = hnpy_numpy();
  if (!np) return NULL;
  ArrayView *v = PyObject_New(ArrayView, &ArrayViewType);
  if (!v) return NULL;
  v->array = hn_array_retain(array);
  v->data = data;
  v->len = (Py_ssize_t)hn_array_length(array);
  v->itemsize = id == HN_TYPE_FLOAT32 ? 4 : 8;
  v->format[0] = id == HN_TYPE_INT64 ? 'q' : id == HN_TYPE_FLOAT64 ? 'd' : 'f';
  v->format[1] = '\0';
  const char *dtype = id == HN_TYPE_INT64 ? "int64" : id == HN_TYPE_FLOAT64 ? "float64" : "float32";
  PyObject *r = PyObject_CallMethod(np, "frombuffer", "Os", (PyObject *)v, dtype);
  Py_DECREF(v);
  return r;
}

/*
 * A list column of fixed-width items, no nulls, every list of one length k:
 * a zero-copy (n, k) numpy view of the item values; Py_None (new) otherwise.
 */
static PyObject *matrix_view(hn_array *array) {
  const int32_t *off = hn_array_offsets(array);
  const hn_array *child = hn_array_child(array, 0);
  int64_t n = hn_array_length(array);
  if (hn_type_id_of(hn_array_type(array)) != HN_TYPE_LIST || !off || n == 0 ||
      hn_array_null_count(array) > 0 || hn_array_null_count(child) > 0)
    Py_RETURN_NONE;
  int64_t k = off[1] - off[0];
  for (int64_t i = 1; i < n; i++)
    if (off[i + 1] - off[i] != k) Py_RETURN_NONE;
  hn_type_id id = hn_type_id_of(hn_array_type(child));
  const char *base = id == HN_TYPE_INT64     ? (const char *)hn_array_int64_values(child)
                     : id == HN_TYPE_FLOAT64 ? (const char *)hn_array_float64_values(child)
                     : id == HN_TYPE_FLOAT32 ? (const char *)hn_array_float32_values(child)
                                             : NULL;
  PyObject *np = base ? hnpy_numpy() : NULL;
  if (!np) return base ? NULL : Py_NewRef(Py_None);
  ArrayView *v = PyObject_New(ArrayView, &ArrayViewType);
  if (!v) return NULL;
  v->array = hn_array_retain(array);
  v->itemsize = id == HN_TYPE_FLOAT32 ? 4 : 8;
  v->data = base + (int64_t)off[0] * v->itemsize;
  v->len = (Py_ssize_t)(n * k);
  v->format[0] = id == HN_TYPE_INT64 ? 'q' : id == HN_TYPE_FLOAT64 ? 'd' : 'f';
  v->format[1] = '\0';
  const char *dtype = id == HN_TYPE_INT64 ? "int64" : id == HN_TYPE_FLOAT64 ? "float64" : "float32";
  PyObject *flat = PyObject_CallMethod(np, "frombuffer", "Os", (PyObject *)v, dtype);
  Py_DECREF(v);
  PyObject *r =
      flat ? PyObject_CallMethod(flat, "reshape", "(LL)", (long long)n, (long long)k) : NULL;
  Py_XDECREF(flat);
  return r;
}

PyObject *hnpy_array_to_numpy(hn_array *array) {
  PyObject *r = matrix_view(array);
  if (r != Py_None) return r;
  Py_DECREF(r);
  r = numpy_view(array);
  if (r != Py_None) return r;
  Py_DECREF(r);
  PyObject *np = hnpy_numpy();
  PyObject *list = np ? hnpy_array_to_list(array, NULL) : NULL;
  if (!list) return NULL;
  hn_type_id id = hn_type_id_of(hn_array_type(array));
  int nulls = hn_array_null_count(array) > 0;
  const char *dtype = id == HN_TYPE_BOOL && !nulls ? "bool"
                      : id == HN_TYPE_FLOAT64      ? "float64"
                      : id == HN_TYPE_FLOAT32      ? "float32"
                                                   : "object";
  if (nulls && (id == HN_TYPE_FLOAT64 || id == HN_TYPE_FLOAT32)) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++)
      if (PyList_GET_ITEM(list, i) == Py_None) {
        PyObject *nan = PyFloat_FromDouble(Py_NAN);
        if (!nan) {
          Py_DECREF(list);
          return NULL;
        }
        Py_DECREF(Py_None);
        PyList_SET_ITEM(list, i, nan);
      }
  }
  /* object arrays are filled item by item: lists stay lists, not a 2-D array */
  PyObject *a = NULL;
  if (strcmp(dtype, "object") == 0) {
    a = PyObject_CallMethod(np, "empty", "ns", PyList_GET_SIZE(list), "object");
    for (Py_ssize_t i = 0; a && i < PyList_GET_SIZE(list); i++)
      if (PySequence_SetItem(a, i, PyList_GET_ITEM(list, i)) < 0) Py_CLEAR(a);
  } else {
    a = PyObject_CallMethod(np, "array", "Os", list, dtype);
  }
  Py_DECREF(list);
  return a;
}

/* ---- Python -> array ------------------------------------------------------ */

static void buffer_release(void *ctx, const void *data) {
  (void)data;
  Py_buffer *view = ctx;
  if (hnpy_python_alive()) {
    hnpy_gil g;
    hnpy_gil_enter(&g);
    PyBuffer_Release(view);
    hnpy_gil_exit(&g);
  }
  PyMem_RawFree(view);
}

/* The type a buffer's format stands for (int64, float64, float32, bool) or NULL. */
static const hn_type *format_type(const char *f) {
  if (!f) return NULL;
  if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
  if (f[1] != '\0') return NULL;
  switch (f[0]) {
    case 'q':
    case 'l':
      return hn_type_int64();
    case 'd':
      return hn_type_float64();
    case 'f':
      return hn_type_float32();
    case '?':
      return hn_type_bool();
  }
  return NULL;
}

/* Wrap a C-contiguous 1-D buffer of a fixed-width format: 0 done, 1 not applicable, -1 error. */
static int from_buffer(PyObject *v, const hn_type *type, hn_array **out) {
  if (PyList_Check(v) || PyTuple_Check(v) || PyBytes_Check(v) || PyUnicode_Check(v) ||
      !PyObject_CheckBuffer(v))
    return 1;
  Py_buffer *view = PyMem_RawMalloc(sizeof *view);
  if (!view) return PyErr_NoMemory(), -1;
  if (PyObject_GetBuffer(v, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
    PyErr_Clear();
    PyMem_RawFree(view);
    return 1;
  }
  const hn_type *ft = format_type(view->format);
  hn_type_id id = hn_type_id_of(ft);
  if (view->ndim != 1 || !ft || id == HN_TYPE_BOOL || (type && !hn_type_equals(type, ft))) {
    PyBuffer_Release(view);
    PyMem_RawFree(view);
    return 1;
  }
  hn_buffer *buf = NULL;
  hn_error err = {0};
  int64_t n = (int64_t)(view->len / view->itemsize);
  hn_status st = hn_buffer_wrap(NULL, view->buf, view->len, buffer_release, view, &buf, &err);
  if (st != HN_OK) {
    PyBuffer_Release(view);
    PyMem_RawFree(view);
    return hnpy_raise(st, &err), -1;
  }
  st = hn_array_create_fixed(NULL, ft, n, NULL, buf, out, &err);
  hn_buffer_release(buf);
  return st == HN_OK ? 0 : (hnpy_raise(st, &err), -1);
}

const char *hnpy_infer_scalar_type(PyObject *v) {
  if (PyBool_Check(v)) return "bool";
  if (PyLong_Check(v)) return "int64";
  if (PyFloat_Check(v)) return "float64";
  if (PyUnicode_Check(v)) return "utf8";
  if (PyBytes_Check(v)) return "binary";
  return NULL;
}

/* The type of a column's items, inferred from its first non-None item. New reference. */
static const hn_type *infer_items(PyObject *seq) {
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  PyObject **items = PySequence_Fast_ITEMS(seq);
  for (Py_ssize_t i = 0; i < n; i++) {
    if (items[i] == Py_None) continue;
    const char *t = hnpy_infer_scalar_type(items[i]);
    if (t) return hnpy_type_parse(t);
    if (PyList_Check(items[i])) {
      PyObject *inner = PySequence_Fast(items[i], "");
      const hn_type *it = inner ? infer_items(inner) : NULL;
      Py_XDECREF(inner);
      const hn_type *lt = NULL;
      hn_error err = {0};
      if (it && hn_type_list_create(NULL, it, &lt, &err) != HN_OK) hnpy_raise(HN_ENOMEM, &err);
      hn_type_release(it);
      return lt;
    }
    break;
  }
  return hn_type_retain(n == 0 ? hn_type_int64() : hnpy_object_type);
}

int hnpy_array_from_py(PyObject *v, const hn_type *type, const char *what, hn_array **out) {
  *out = NULL;
  int rc = from_buffer(v, type, out);
  if (rc <= 0) return rc;
  PyObject *seq = PySequence_Fast(v, "");
  if (!seq) {
    PyErr_Format(PyExc_TypeError, "'%s': expected a column (list, numpy array, ...), got %.64s",
                 what, Py_TYPE(v)->tp_name);
    return -1;
  }
  const hn_type *t = type ? hn_type_retain(type) : infer_items(seq);
  hn_builder *b = NULL;
  hn_error err = {0};
  hn_status st = t ? hn_builder_create(NULL, t, &b, &err) : HN_ENOMEM;
  hn_type_release(t);
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  rc = -1;
  if (st == HN_OK && (st = hn_builder_reserve(b, n)) == HN_OK) {
    char msg[256];
    Py_ssize_t i = 0;
    for (; i < n; i++)
      if (hnpy_append(b, PySequence_Fast_GET_ITEM(seq, i), msg, sizeof msg) < 0) break;
    if (i < n)
      PyErr_Format(PyExc_TypeError, "'%s', row %zd: %s", what, i, msg);
    else if ((st = hn_builder_finish(b, out, &err)) == HN_OK)
      rc = 0;
  }
  if (rc < 0 && !PyErr_Occurred()) hnpy_raise(st, &err);
  hn_builder_destroy(b);
  Py_DECREF(seq);
  return rc;
}
