/*
 * Values between Python and hypernodes: the object<py> type (a Python
 * object held by an array: one strong reference per slot, dropped with the
 * GIL by whichever thread frees the array), type strings, a datum as a
 * Python object, and a Python object appended to a builder.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>

const hn_type *hnpy_object_type;

/* Object vtable: any thread, with or without the GIL. */
static void obj_free(void *ctx, void *o) {
  (void)ctx;
  if (!o || !hnpy_python_alive()) return; /* at exit the interpreter owns what is left */
  hnpy_gil g;
  hnpy_gil_enter(&g);
  Py_DECREF((PyObject *)o);
  hnpy_gil_exit(&g);
}

static void *obj_copy(void *ctx, const void *o) {
  (void)ctx;
  hnpy_gil g;
  hnpy_gil_enter(&g);
  Py_XINCREF((PyObject *)o);
  hnpy_gil_exit(&g);
  return (void *)o;
}

int hnpy_types_init(void) {
  hn_object_vtable vt = {.free = obj_free, .copy = obj_copy};
  hn_error err = {0};
  hn_status st = hn_type_object_create(NULL, "py", &vt, &hnpy_object_type, &err);
  if (st != HN_OK) {
    hnpy_raise(st, &err);
    return -1;
  }
  return 0;
}

void hnpy_types_free(void) {
  hn_type_release(hnpy_object_type);
  hnpy_object_type = NULL;
}

const hn_type *hnpy_type_parse(const char *text) {
  hn_type_parse_options o = {
      .size = sizeof o, .n_object_types = 1, .object_types = &hnpy_object_type};
  const hn_type *t = NULL;
  hn_error err = {0};
  hn_status st = hn_type_parse_ex(text, &o, &t, NULL, &err);
  if (st != HN_OK) {
    PyErr_Format(PyExc_TypeError, "%s", err.message);
    return NULL;
  }
  return t;
}

PyObject *hnpy_type_str(const hn_type *type) {
  char buf[256];
  size_t n = hn_type_to_string(type, buf, sizeof buf);
  if (n < sizeof buf) return PyUnicode_FromStringAndSize(buf, (Py_ssize_t)n);
  char *big = PyMem_Malloc(n + 1);
  if (!big) return PyErr_NoMemory();
  hn_type_to_string(type, big, n + 1);
  PyObject *s = PyUnicode_FromStringAndSize(big, (Py_ssize_t)n);
  PyMem_Free(big);
  return s;
}

/* ---- datum -> Python -------------------------------------------------------- */

/* The item conv of a list conv (borrowed) or NULL. */
static PyObject *item_conv(PyObject *conv) {
  return conv && PyTuple_Check(conv) && PyTuple_GET_SIZE(conv) == 1 ? PyTuple_GET_ITEM(conv, 0)
                                                                    : NULL;
}

static PyObject *list_from_view(hn_list_view l, PyObject *conv) {
  return hnpy_range_to_list(l.values, l.start, l.length, item_conv(conv));
}

static PyObject *struct_from_view(hn_struct_view sv, PyObject *conv) {
  const hn_type *t = hn_array_type(sv.array);
  PyObject *d = PyDict_New();
  for (int64_t f = 0; d && f < hn_type_num_fields(t); f++) {
    hn_datum fd = hn_struct_view_field(sv, f);
    PyObject *v = hnpy_from_datum(&fd, NULL);
    if (!v || PyDict_SetItemString(d, hn_type_field_name(t, f), v) < 0) Py_CLEAR(d);
    Py_XDECREF(v);
  }
  if (!d || !conv || conv == Py_None || !PyType_Check(conv)) return d;
  PyObject *empty = PyTuple_New(0);
  PyObject *o = empty ? PyObject_Call(conv, empty, d) : NULL;
  Py_XDECREF(empty);
  Py_DECREF(d);
  return o;
}

/* A 128-bit two's complement integer (hi, lo) as a Python int. */
static PyObject *int128(int64_t hi, uint64_t lo) {
  PyObject *h = PyLong_FromLongLong(hi), *l = PyLong_FromUnsignedLongLong(lo);
  PyObject *sh = PyLong_FromLong(64);
  PyObject *hs = h && sh ? PyNumber_Lshift(h, sh) : NULL;
  PyObject *r = hs && l ? PyNumber_Or(hs, l) : NULL;
  Py_XDECREF(h);
  Py_XDECREF(l);
  Py_XDECREF(sh);
  Py_XDECREF(hs);
  return r;
}

/* The types beyond the core ones (Arrow imports): numbers as Python numbers;
 * dates, times, timestamps and durations as their integers in the type's
 * unit; decimals as their unscaled integers; intervals as tuples. */
static PyObject *from_other(const hn_datum *d, PyObject *conv) {
  switch (d->type) {
    case HN_TYPE_INT8:
      return PyLong_FromLong(d->v.i8);
    case HN_TYPE_INT16:
      return PyLong_FromLong(d->v.i16);
    case HN_TYPE_INT32:
    case HN_TYPE_DATE32:
    case HN_TYPE_TIME32:
    case HN_TYPE_INTERVAL_MONTHS:
      return PyLong_FromLong(d->v.i32);
    case HN_TYPE_UINT8:
      return PyLong_FromUnsignedLong(d->v.u8);
    case HN_TYPE_UINT16:
      return PyLong_FromUnsignedLong(d->v.u16);
    case HN_TYPE_UINT32:
      return PyLong_FromUnsignedLong(d->v.u32);
    case HN_TYPE_UINT64:
      return PyLong_FromUnsignedLongLong(d->v.u64);
    case HN_TYPE_DATE64:
    case HN_TYPE_TIME64:
    case HN_TYPE_TIMESTAMP:
    case HN_TYPE_DURATION:
      return PyLong_FromLongLong(d->v.i64);
    case HN_TYPE_FLOAT16: {
      uint16_t bits = d->v.f16;
      double x = PyFloat_Unpack2((const char *)&bits, 1);
      return x == -1.0 && PyErr_Occurred() ? NULL : PyFloat_FromDouble(x);
    }
    case HN_TYPE_DECIMAL128:
      return int128(d->v.d128.hi, d->v.d128.lo);
    case HN_TYPE_DECIMAL256:
      return _PyLong_FromByteArray((const unsigned char *)d->v.d256, 32, 1, 1);
    case HN_TYPE_INTERVAL_DAY_TIME:
      return Py_BuildValue("(ii)", d->v.day_time.days, d->v.day_time.ms);
    case HN_TYPE_INTERVAL_MONTH_DAY_NANO:
      return Py_BuildValue("(iiL)", d->v.mdn.months, d->v.mdn.days, (long long)d->v.mdn.nanos);
    case HN_TYPE_LARGE_UTF8:
      return PyUnicode_DecodeUTF8(d->v.str.data, (Py_ssize_t)d->v.str.size, "surrogateescape");
    case HN_TYPE_LARGE_BINARY:
    case HN_TYPE_FIXED_SIZE_BINARY:
      return PyBytes_FromStringAndSize(d->v.str.data, (Py_ssize_t)d->v.str.size);
    case HN_TYPE_LARGE_LIST:
    case HN_TYPE_FIXED_SIZE_LIST:
    case HN_TYPE_MAP:
      return list_from_view(d->v.list, conv);
    default:
      break;
  }
  PyErr_Format(PyExc_TypeError, "hypernodes_c: no Python value for type %s",
               hn_type_id_name(d->type));
  return NULL;
}

PyObject *hnpy_from_datum(const hn_datum *d, PyObject *conv) {
  if (d->is_null) Py_RETURN_NONE;
  switch (d->type) {
    case HN_TYPE_BOOL:
      return PyBool_FromLong(d->v.b);
    case HN_TYPE_INT64:
      return PyLong_FromLongLong(d->v.i64);
    case HN_TYPE_FLOAT32:
      return PyFloat_FromDouble(d->v.f32);
    case HN_TYPE_FLOAT64:
      return PyFloat_FromDouble(d->v.f64);
    case HN_TYPE_UTF8:
      return PyUnicode_DecodeUTF8(d->v.str.data, (Py_ssize_t)d->v.str.size, "surrogateescape");
    case HN_TYPE_BINARY:
      return PyBytes_FromStringAndSize(d->v.str.data, (Py_ssize_t)d->v.str.size);
    case HN_TYPE_LIST:
      return list_from_view(d->v.list, conv);
    case HN_TYPE_STRUCT:
      return struct_from_view(d->v.strct, conv);
    case HN_TYPE_OBJECT:
      return Py_NewRef(d->v.object ? (PyObject *)d->v.object : Py_None);
    case HN_TYPE_NULL:
      Py_RETURN_NONE;
    default:
      return from_other(d, conv);
  }
}

/* ---- Python -> builder -------------------------------------------------------- */

static int fail(char *msg, size_t cap, const char *want, PyObject *v) {
  snprintf(msg, cap, "expected %s, got %.64s", want, Py_TYPE(v)->tp_name);
  PyErr_Clear();
  return -1;
}

static int builder_fail(hn_builder *b, char *msg, size_t cap) {
  snprintf(msg, cap, "%s", hn_builder_last_error(b));
  return -1;
}

/* A C-contiguous 1-D buffer of `fmt` items appended in one call; 1 when not applicable. */
static int append_buffer(hn_builder *child, PyObject *v, char fmt, char *msg, size_t cap) {
  if (PyList_Check(v) || PyTuple_Check(v) || !PyObject_CheckBuffer(v)) return 1;
  Py_buffer view;
  if (PyObject_GetBuffer(v, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
    PyErr_Clear();
    return 1;
  }
  const char *f = view.format ? view.format : "B";
  if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
  char want2 = fmt == 'q' ? 'l' : fmt;
  int ok = view.ndim == 1 && (f[0] == fmt || f[0] == want2) && f[1] == '\0';
  int rc = 1;
  if (ok) {
    rc = hn_builder_append_values(child, view.buf, (int64_t)(view.len / view.itemsize)) == HN_OK
             ? 0
             : builder_fail(child, msg, cap);
  }
  PyBuffer_Release(&view);
  return rc;
}

static int append_list(hn_builder *b, PyObject *v, char *msg, size_t cap) {
  if (PyUnicode_Check(v) || PyBytes_Check(v) || PyDict_Check(v)) return fail(msg, cap, "a list", v);
  hn_builder *child = hn_builder_child(b, 0);
  hn_type_id cid = hn_type_id_of(hn_builder_type(child));
  char fmt = cid == HN_TYPE_INT64     ? 'q'
             : cid == HN_TYPE_FLOAT64 ? 'd'
             : cid == HN_TYPE_FLOAT32 ? 'f'
                                      : 0;
  int rc = fmt ? append_buffer(child, v, fmt, msg, cap) : 1;
  if (rc < 0) return -1;
  if (rc == 1) {
    PyObject *seq = PySequence_Fast(v, "");
    if (!seq) return fail(msg, cap, "a list", v);
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++)
      if (hnpy_append(child, items[i], msg, cap) < 0) {
        Py_DECREF(seq);
        return -1;
      }
    Py_DECREF(seq);
  }
  return hn_builder_finish_element(b) == HN_OK ? 0 : builder_fail(b, msg, cap);
}

static int append_struct(hn_builder *b, PyObject *v, char *msg, size_t cap) {
  const hn_type *t = hn_builder_type(b);
  int is_dict = PyDict_Check(v);
  for (int64_t f = 0; f < hn_type_num_fields(t); f++) {
    const char *name = hn_type_field_name(t, f);
    PyObject *fv =
        is_dict ? Py_XNewRef(PyDict_GetItemString(v, name)) : PyObject_GetAttrString(v, name);
    if (!fv) {
      PyErr_Clear();
      snprintf(msg, cap, "struct field '%s' missing from %.64s", name, Py_TYPE(v)->tp_name);
      return -1;
    }
    int rc = hnpy_append(hn_builder_child(b, f), fv, msg, cap);
    Py_DECREF(fv);
    if (rc < 0) return -1;
  }
  return hn_builder_finish_element(b) == HN_OK ? 0 : builder_fail(b, msg, cap);
}

static int append_scalar(hn_builder *b, hn_type_id id, PyObject *v, char *msg, size_t cap) {
  hn_status st = HN_OK;
  if (id == HN_TYPE_INT64) {
    long long x = PyLong_Check(v) ? PyLong_AsLongLong(v) : -1;
    if (!PyLong_Check(v)) {
      PyObject *i = PyNumber_Index(v);
      if (!i) return fail(msg, cap, "int", v);
      x = PyLong_AsLongLong(i);
      Py_DECREF(i);
    }
    if (x == -1 && PyErr_Occurred()) return fail(msg, cap, "an int that fits in int64", v);
    st = hn_builder_append_int64(b, x);
  } else if (id == HN_TYPE_FLOAT64 || id == HN_TYPE_FLOAT32) {
    if (PyUnicode_Check(v) || PyBytes_Check(v)) return fail(msg, cap, "float", v);
    double x = PyFloat_AsDouble(v);
    if (x == -1.0 && PyErr_Occurred()) return fail(msg, cap, "float", v);
    st = id == HN_TYPE_FLOAT64 ? hn_builder_append_float64(b, x)
                               : hn_builder_append_float32(b, (float)x);
  } else if (id == HN_TYPE_BOOL) {
    if (PyUnicode_Check(v) || PyBytes_Check(v) || PySequence_Check(v))
      return fail(msg, cap, "bool", v);
    int x = PyObject_IsTrue(v);
    if (x < 0) return fail(msg, cap, "bool", v);
    st = hn_builder_append_bool(b, x);
  }
  return st == HN_OK ? 0 : builder_fail(b, msg, cap);
}

static int append_bytes(hn_builder *b, hn_type_id id, PyObject *v, char *msg, size_t cap) {
  hn_status st;
  if (id == HN_TYPE_UTF8) {
    Py_ssize_t n;
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8AndSize(v, &n) : NULL;
    if (!s) return fail(msg, cap, "str", v);
    st = hn_builder_append_str(b, s, n);
  } else if (PyBytes_Check(v)) {
    st = hn_builder_append_str(b, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
  } else {
    Py_buffer view;
    if (PyUnicode_Check(v) || PyObject_GetBuffer(v, &view, PyBUF_C_CONTIGUOUS) < 0)
      return fail(msg, cap, "bytes", v);
    st = hn_builder_append_str(b, view.buf, view.len);
    PyBuffer_Release(&view);
  }
  return st == HN_OK ? 0 : builder_fail(b, msg, cap);
}

/* Integers of every width and the temporal types (their integer in the type's unit). */
static int append_other_int(hn_builder *b, hn_type_id id, PyObject *v, char *msg, size_t cap) {
  PyObject *i = PyNumber_Index(v);
  if (!i || PyBool_Check(v)) {
    Py_XDECREF(i);
    return fail(msg, cap, "int", v);
  }
  int neg = PyObject_RichCompareBool(i, Py_False, Py_LT);
  hn_status st;
  if (id == HN_TYPE_UINT64 && neg == 0) {
    unsigned long long x = PyLong_AsUnsignedLongLong(i);
    st = x == (unsigned long long)-1 && PyErr_Occurred() ? HN_ERANGE : hn_builder_append_uint(b, x);
  } else {
    long long x = PyLong_AsLongLong(i);
    st = x == -1 && PyErr_Occurred() ? HN_ERANGE : hn_builder_append_int(b, x);
  }
  Py_DECREF(i);
  if (st == HN_ERANGE && PyErr_Occurred()) return fail(msg, cap, "an int in range", v);
  return st == HN_OK ? 0 : builder_fail(b, msg, cap);
}

static int append_half(hn_builder *b, PyObject *v, char *msg, size_t cap) {
  double x = PyFloat_AsDouble(v);
  unsigned char bits[2];
  if ((x == -1.0 && PyErr_Occurred()) || PyFloat_Pack2(x, (char *)bits, 1) < 0)
    return fail(msg, cap, "float", v);
  uint16_t h = (uint16_t)(bits[0] | (bits[1] << 8));
  return hn_builder_append_values(b, &h, 1) == HN_OK ? 0 : builder_fail(b, msg, cap);
}

/* A map value from a dict (or a list of pairs): one struct<key, value> entry per item. */
static int append_map(hn_builder *b, PyObject *v, char *msg, size_t cap) {
  PyObject *items = PyDict_Check(v) ? PyDict_Items(v) : PySequence_List(v);
  if (!items) return fail(msg, cap, "a dict", v);
  hn_builder *entries = hn_builder_child(b, 0);
  int rc = 0;
  for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(items); i++) {
    PyObject *kv = PyList_GET_ITEM(items, i);
    if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2) {
      rc = fail(msg, cap, "(key, value) pairs", kv);
    } else {
      rc = hnpy_append(hn_builder_child(entries, 0), PyTuple_GET_ITEM(kv, 0), msg, cap);
      if (rc == 0)
        rc = hnpy_append(hn_builder_child(entries, 1), PyTuple_GET_ITEM(kv, 1), msg, cap);
      if (rc == 0 && hn_builder_finish_element(entries) != HN_OK)
        rc = builder_fail(entries, msg, cap);
    }
  }
  Py_DECREF(items);
  if (rc < 0) return -1;
  return hn_builder_finish_element(b) == HN_OK ? 0 : builder_fail(b, msg, cap);
}

static int append_object(hn_builder *b, PyObject *v, char *msg, size_t cap) {
  if (hn_type_object_vtable(hn_builder_type(b))->free !=
      hn_type_object_vtable(hnpy_object_type)->free) {
    snprintf(msg, cap, "a Python value cannot be stored in a C object type");
    return -1;
  }
  Py_INCREF(v);
  if (hn_builder_append_object(b, v) != HN_OK) {
    Py_DECREF(v);
    return builder_fail(b, msg, cap);
  }
  return 0;
}

static int append_other(hn_builder *b, hn_type_id id, PyObject *v, char *msg, size_t cap) {
  switch (id) {
    case HN_TYPE_INT8:
    case HN_TYPE_INT16:
    case HN_TYPE_INT32:
    case HN_TYPE_UINT8:
    case HN_TYPE_UINT16:
    case HN_TYPE_UINT32:
    case HN_TYPE_UINT64:
    case HN_TYPE_DATE32:
    case HN_TYPE_DATE64:
    case HN_TYPE_TIME32:
    case HN_TYPE_TIME64:
    case HN_TYPE_TIMESTAMP:
    case HN_TYPE_DURATION:
    case HN_TYPE_INTERVAL_MONTHS:
      return append_other_int(b, id, v, msg, cap);
    case HN_TYPE_FLOAT16:
      return append_half(b, v, msg, cap);
    case HN_TYPE_LARGE_UTF8:
      return append_bytes(b, HN_TYPE_UTF8, v, msg, cap);
    case HN_TYPE_LARGE_BINARY:
    case HN_TYPE_FIXED_SIZE_BINARY:
      return append_bytes(b, HN_TYPE_BINARY, v, msg, cap);
    case HN_TYPE_LARGE_LIST:
    case HN_TYPE_FIXED_SIZE_LIST:
      return append_list(b, v, msg, cap);
    case HN_TYPE_MAP:
      return append_map(b, v, msg, cap);
    default:
      snprintf(msg, cap, "Python values of type %s are not supported yet", hn_type_id_name(id));
      return -1;
  }
}

int hnpy_append(hn_builder *b, PyObject *v, char *msg, size_t cap) {
  hn_type_id id = hn_type_id_of(hn_builder_type(b));
  if (v == Py_None) return hn_builder_append_null(b) == HN_OK ? 0 : builder_fail(b, msg, cap);
  switch (id) {
    case HN_TYPE_BOOL:
    case HN_TYPE_INT64:
    case HN_TYPE_FLOAT32:
    case HN_TYPE_FLOAT64:
      return append_scalar(b, id, v, msg, cap);
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      return append_bytes(b, id, v, msg, cap);
    case HN_TYPE_LIST:
      return append_list(b, v, msg, cap);
    case HN_TYPE_STRUCT:
      return append_struct(b, v, msg, cap);
    case HN_TYPE_OBJECT:
      return append_object(b, v, msg, cap);
    default:
      return append_other(b, id, v, msg, cap);
  }
}
