/*
 * The Arrow PyCapsule interface: ArrowSchema, ArrowArray and
 * ArrowArrayStream structs in capsules named "arrow_schema", "arrow_array"
 * and "arrow_array_stream". A capsule owns its struct: its destructor calls
 * the struct's release when it has not been moved out (release != NULL),
 * then frees the struct. Import moves the structs out (zero copy where the
 * buffers allow, as hn_array_import says).
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <stdlib.h>
#include <string.h>

static void schema_capsule_free(PyObject *cap) {
  struct ArrowSchema *s = PyCapsule_GetPointer(cap, "arrow_schema");
  if (s && s->release) s->release(s);
  free(s);
}

static void stream_capsule_free(PyObject *cap) {
  struct ArrowArrayStream *s = PyCapsule_GetPointer(cap, "arrow_array_stream");
  if (s && s->release) s->release(s);
  free(s);
}

PyObject *hnpy_stream_capsule(const hn_result *r) {
  struct ArrowArrayStream *s = calloc(1, sizeof *s);
  if (!s) return PyErr_NoMemory();
  hn_error err = {0};
  hn_status st = hn_result_export_stream(r, s, &err);
  if (st != HN_OK) {
    free(s);
    return hnpy_raise(st, &err);
  }
  PyObject *cap = PyCapsule_New(s, "arrow_array_stream", stream_capsule_free);
  if (!cap) {
    s->release(s);
    free(s);
  }
  return cap;
}

PyObject *hnpy_schema_capsule(const hn_type *schema) {
  struct ArrowSchema *s = calloc(1, sizeof *s);
  if (!s) return PyErr_NoMemory();
  hn_error err = {0};
  hn_status st = hn_type_export(schema, "", s, &err);
  if (st != HN_OK) {
    free(s);
    return hnpy_raise(st, &err);
  }
  PyObject *cap = PyCapsule_New(s, "arrow_schema", schema_capsule_free);
  if (!cap) {
    s->release(s);
    free(s);
  }
  return cap;
}

/* (schema, array) capsules from __arrow_c_array__ into an array. */
static int import_array(PyObject *pair, hn_array **out) {
  if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
    PyErr_SetString(PyExc_TypeError, "__arrow_c_array__ must return (schema, array) capsules");
    return -1;
  }
  struct ArrowSchema *s = PyCapsule_GetPointer(PyTuple_GET_ITEM(pair, 0), "arrow_schema");
  struct ArrowArray *a = s ? PyCapsule_GetPointer(PyTuple_GET_ITEM(pair, 1), "arrow_array") : NULL;
  if (!a) return -1;
  hn_error err = {0};
  hn_status st = hn_array_import(NULL, s, a, NULL, out, &err);
  return st == HN_OK ? 0 : (hnpy_raise(st, &err), -1);
}

/* Append every row of `t`'s only column to *b (created on first use). */
static hn_status append_rows(hn_table *t, hn_builder **b, hn_error *err) {
  hn_array *col = hn_table_column(t, 0);
  hn_status st = *b ? HN_OK : hn_builder_create(NULL, hn_array_type(col), b, err);
  for (int64_t i = 0; st == HN_OK && i < hn_array_length(col); i++)
    st = hn_builder_append_datum(*b, hn_array_get(col, i));
  return st;
}

/* A stream of one-column record batches as one array (a copy when there are several). */
static int import_stream(PyObject *cap, hn_array **out) {
  struct ArrowArrayStream *s = PyCapsule_GetPointer(cap, "arrow_array_stream");
  if (!s) return -1;
  hn_stream_reader *reader = NULL;
  hn_error err = {0};
  hn_status st = hn_stream_reader_create(NULL, s, NULL, &reader, &err);
  if (st == HN_OK && hn_type_num_fields(hn_stream_reader_schema(reader)) != 1) {
    hn_stream_reader_destroy(reader);
    PyErr_Format(PyExc_TypeError,
                 "an Arrow stream given as one column must have one column, not %lld",
                 (long long)hn_type_num_fields(hn_stream_reader_schema(reader)));
    return -1;
  }
  hn_table *first = NULL, *t = NULL;
  hn_builder *b = NULL;
  int64_t n = 0;
  while (st == HN_OK && (st = hn_stream_reader_next(reader, &t, &err)) == HN_OK && t) {
    if (n++ == 0) {
      first = t;
      continue;
    }
    if (n == 2) st = append_rows(first, &b, &err);
    if (st == HN_OK) st = append_rows(t, &b, &err);
    hn_table_release(t);
  }
  if (st == HN_OK && b)
    st = hn_builder_finish(b, out, &err);
  else if (st == HN_OK && first)
    *out = hn_array_retain(hn_table_column(first, 0));
  hn_table_release(first);
  hn_builder_destroy(b);
  hn_stream_reader_destroy(reader);
  if (st == HN_OK && !*out)
    PyErr_SetString(PyExc_ValueError, "the Arrow stream holds no batch");
  else if (st != HN_OK)
    hnpy_raise(st, &err);
  return st == HN_OK && *out ? 0 : -1;
}

int hnpy_array_from_capsule(PyObject *v, hn_array **out) {
  *out = NULL;
  const char *method = PyObject_HasAttrString(v, "__arrow_c_array__")    ? "__arrow_c_array__"
                       : PyObject_HasAttrString(v, "__arrow_c_stream__") ? "__arrow_c_stream__"
                                                                         : NULL;
  if (!method) return 1;
  PyObject *r = PyObject_CallMethod(v, method, NULL);
  if (!r) return -1;
  int rc = method[10] == 'a' ? import_array(r, out) : import_stream(r, out);
  Py_DECREF(r);
  return rc;
}
