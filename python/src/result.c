/*
 * _hypernodes.Result: the outputs of a run or map (one hn_result, owned).
 * Nothing is converted until asked: to_pydict reads the record batches as
 * they are (no join), to_pylist materialises rows with a strategy
 * (hn_result_rows), columns() gives numpy arrays (zero copy for fixed-width
 * columns without nulls in one batch), and the Arrow PyCapsule methods hand
 * the batches out without a copy.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>

PyObject *hnpy_result_new(hn_result *r, PyObject *convs) {
  ResultObject *o = PyObject_New(ResultObject, &hnpy_ResultType);
  if (!o) {
    hn_result_destroy(r);
    return NULL;
  }
  o->r = r;
  o->convs = Py_XNewRef(convs);
  return (PyObject *)o;
}

static void result_dealloc(ResultObject *self) {
  hn_result_destroy(self->r);
  Py_XDECREF(self->convs);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The schema: chunk 0's when there is one (no join), else the table's. Borrowed. */
static hn_table *first_table(const ResultObject *self) {
  hn_table *t = hn_result_chunk(self->r, 0);
  return t ? t : hn_result_table(self->r);
}

static PyObject *conv_of(const ResultObject *self, const char *name) {
  return self->convs ? PyDict_GetItemString(self->convs, name) : NULL;
}

static PyObject *column_names(ResultObject *self, PyObject *unused) {
  (void)unused;
  hn_table *t = first_table(self);
  int64_t n = hn_table_num_columns(t);
  PyObject *l = PyList_New((Py_ssize_t)n);
  for (int64_t c = 0; l && c < n; c++) {
    PyObject *s = PyUnicode_FromString(hn_table_column_name(t, c));
    if (!s)
      Py_CLEAR(l);
    else
      PyList_SET_ITEM(l, (Py_ssize_t)c, s);
  }
  return l;
}

static PyObject *types(ResultObject *self, PyObject *unused) {
  (void)unused;
  hn_table *t = first_table(self);
  PyObject *d = PyDict_New();
  for (int64_t c = 0; d && c < hn_table_num_columns(t); c++) {
    PyObject *s = hnpy_type_str(hn_array_type(hn_table_column(t, c)));
    if (!s || PyDict_SetItemString(d, hn_table_column_name(t, c), s) < 0) Py_CLEAR(d);
    Py_XDECREF(s);
  }
  return d;
}

/* Column c over every chunk as one list (new). */
static PyObject *column_list(ResultObject *self, int64_t c, PyObject *conv) {
  PyObject *all = PyList_New(0);
  for (int64_t k = 0; all && k < hn_result_num_chunks(self->r); k++) {
    PyObject *part = hnpy_array_to_list(hn_table_column(hn_result_chunk(self->r, k), c), conv);
    if (!part || PyList_SetSlice(all, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, part) < 0) Py_CLEAR(all);
    Py_XDECREF(part);
  }
  return all;
}

/*
 * Conversions make many containers that all stay alive: the cyclic GC would
 * rescan them over and over (they hold no cycles), so it pauses meanwhile.
 */
static int gc_pause(void) {
  return PyGC_Disable();
}
static void gc_resume(int was) {
  if (was) PyGC_Enable();
}

static PyObject *to_pydict_inner(ResultObject *self) {
  hn_table *t = first_table(self);
  PyObject *d = PyDict_New();
  for (int64_t c = 0; d && c < hn_table_num_columns(t); c++) {
    const char *name = hn_table_column_name(t, c);
    PyObject *l = column_list(self, c, conv_of(self, name));
    if (!l || PyDict_SetItemString(d, name, l) < 0) Py_CLEAR(d);
    Py_XDECREF(l);
  }
  return d;
}

static PyObject *to_pydict(ResultObject *self, PyObject *unused) {
  (void)unused;
  int was = gc_pause();
  PyObject *d = to_pydict_inner(self);
  gc_resume(was);
  return d;
}

/* Rows as a list of dicts, materialised with `strategy` (0 auto, 1 row, 2 column). */
static PyObject *to_pylist(ResultObject *self, PyObject *args) {
  int strategy = 0;
  if (!PyArg_ParseTuple(args, "|i:to_pylist", &strategy)) return NULL;
  hn_rows *rows = NULL;
  hn_error err = {0};
  hn_status st = hn_result_rows(self->r, (hn_materialize)strategy, &rows, &err);
  if (st != HN_OK) return hnpy_raise(st, &err);
  int64_t nr = hn_rows_num_rows(rows), nc = hn_rows_num_columns(rows);
  PyObject *keys = PyTuple_New((Py_ssize_t)nc);
  for (int64_t c = 0; keys && c < nc; c++) {
    PyObject *s = PyUnicode_FromString(hn_rows_column_name(rows, c));
    if (!s)
      Py_CLEAR(keys);
    else
      PyTuple_SET_ITEM(keys, (Py_ssize_t)c, s);
  }
  PyObject *list = keys ? PyList_New((Py_ssize_t)nr) : NULL;
  int was = gc_pause();
  for (int64_t r = 0; list && r < nr; r++) {
    PyObject *d = PyDict_New();
    for (int64_t c = 0; d && c < nc; c++) {
      hn_datum v = hn_rows_get(rows, r, c);
      PyObject *o = hnpy_from_datum(&v, conv_of(self, hn_rows_column_name(rows, c)));
      if (!o || PyDict_SetItem(d, PyTuple_GET_ITEM(keys, c), o) < 0) Py_CLEAR(d);
      Py_XDECREF(o);
    }
    if (!d)
      Py_CLEAR(list);
    else
      PyList_SET_ITEM(list, (Py_ssize_t)r, d);
  }
  gc_resume(was);
  Py_XDECREF(keys);
  hn_rows_destroy(rows);
  return list;
}

/* One column as numpy: one chunk zero copy when it can be, else a concatenation. */
static PyObject *column_numpy(ResultObject *self, PyObject *args) {
  const char *name;
  if (!PyArg_ParseTuple(args, "s:column_numpy", &name)) return NULL;
  int64_t n = hn_result_num_chunks(self->r);
  int64_t c = hn_table_column_index(first_table(self), name);
  if (c < 0) return PyErr_Format(PyExc_KeyError, "no output '%s' in the result", name);
  if (n <= 1) return hnpy_array_to_numpy(hn_table_column(first_table(self), c));
  PyObject *parts = PyList_New((Py_ssize_t)n);
  for (int64_t k = 0; parts && k < n; k++) {
    PyObject *a = hnpy_array_to_numpy(hn_table_column(hn_result_chunk(self->r, k), c));
    if (!a)
      Py_CLEAR(parts);
    else
      PyList_SET_ITEM(parts, (Py_ssize_t)k, a);
  }
  PyObject *np = parts ? hnpy_numpy() : NULL;
  PyObject *r = np ? PyObject_CallMethod(np, "concatenate", "O", parts) : NULL;
  Py_XDECREF(parts);
  return r;
}

static PyObject *errors(ResultObject *self, PyObject *unused) {
  (void)unused;
  hn_table *t = hn_result_errors(self->r);
  int64_t n = hn_table_num_rows(t);
  PyObject *list = PyList_New((Py_ssize_t)n);
  for (int64_t i = 0; list && i < n; i++) {
    PyObject *d = PyDict_New();
    for (int64_t c = 0; d && c < hn_table_num_columns(t); c++) {
      hn_datum v = hn_array_get(hn_table_column(t, c), i);
      PyObject *o = hnpy_from_datum(&v, NULL);
      if (!o || PyDict_SetItemString(d, hn_table_column_name(t, c), o) < 0) Py_CLEAR(d);
      Py_XDECREF(o);
    }
    if (!d)
      Py_CLEAR(list);
    else
      PyList_SET_ITEM(list, (Py_ssize_t)i, d);
  }
  return list;
}

static PyObject *stats(ResultObject *self, PyObject *unused) {
  (void)unused;
  hn_result_stats s;
  hn_result_get_stats(self->r, &s, sizeof s);
  return Py_BuildValue("{sLsLsLsLsisLsLsLsL}", "n_items", (long long)s.n_items, "n_failed",
                       (long long)s.n_failed, "resource_inits", (long long)s.resource_inits,
                       "resource_destroys", (long long)s.resource_destroys, "workers", s.workers,
                       "cache_hits", (long long)s.cache_hits, "cache_misses",
                       (long long)s.cache_misses, "cache_bytes_read", (long long)s.cache_bytes_read,
                       "cache_bytes_written", (long long)s.cache_bytes_written);
}

static PyObject *arrow_stream(ResultObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"requested_schema", NULL};
  PyObject *requested = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:__arrow_c_stream__", kw, &requested))
    return NULL;
  return hnpy_stream_capsule(self->r); /* a requested schema is a hint: ours is given */
}

static PyObject *arrow_schema(ResultObject *self, PyObject *unused) {
  (void)unused;
  return hnpy_schema_capsule(hn_table_schema(first_table(self)));
}

static PyObject *num_chunks(ResultObject *self, PyObject *unused) {
  (void)unused;
  return PyLong_FromLongLong(hn_result_num_chunks(self->r));
}

static Py_ssize_t result_len(ResultObject *self) {
  int64_t n = 0;
  for (int64_t k = 0; k < hn_result_num_chunks(self->r); k++)
    n += hn_table_num_rows(hn_result_chunk(self->r, k));
  return (Py_ssize_t)n;
}

static PySequenceMethods result_as_sequence = {.sq_length = (lenfunc)result_len};

static PyMethodDef result_methods[] = {
    {"column_names", (PyCFunction)column_names, METH_NOARGS, "Output names, in order."},
    {"types", (PyCFunction)types, METH_NOARGS, "Output name -> type string."},
    {"to_pydict", (PyCFunction)to_pydict, METH_NOARGS, "Output name -> list of values."},
    {"_to_pylist", (PyCFunction)to_pylist, METH_VARARGS, "Rows as dicts (strategy 0/1/2)."},
    {"column_numpy", (PyCFunction)column_numpy, METH_VARARGS, "One output as a numpy array."},
    {"errors", (PyCFunction)errors, METH_NOARGS, "Error records (continue policy)."},
    {"stats", (PyCFunction)stats, METH_NOARGS, "Statistics of the call."},
    {"num_chunks", (PyCFunction)num_chunks, METH_NOARGS, "Record batches held."},
    {"__arrow_c_stream__", (PyCFunction)(void (*)(void))arrow_stream, METH_VARARGS | METH_KEYWORDS,
     "The batches as an Arrow C stream capsule (no copy)."},
    {"__arrow_c_schema__", (PyCFunction)arrow_schema, METH_NOARGS,
     "The schema as an Arrow C schema capsule."},
    {NULL, NULL, 0, NULL}};

PyTypeObject hnpy_ResultType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hypernodes_c._hypernodes.Result",
    .tp_basicsize = sizeof(ResultObject),
    .tp_dealloc = (destructor)result_dealloc,
    .tp_as_sequence = &result_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "The outputs of a run or map (see hypernodes_c.Result).",
    .tp_methods = result_methods,
};
