/*
 * The C library's observers from Python: a progress bar (per call), and
 * Profile and Trace objects that accumulate over the calls given them. They
 * are chained (hn_callback_chain) with the Python callbacks of the call;
 * their callbacks never take the GIL.
 */
#include "hnpy.h"

#include <stdlib.h>
#include <string.h>

typedef struct ProfileObject {
  PyObject_HEAD hn_profile *p; /* owned */
} ProfileObject;

typedef struct TraceObject {
  PyObject_HEAD hn_trace *t; /* owned */
} TraceObject;

/* ---- writing into a growing buffer ----------------------------------------- */

typedef struct text_buf {
  char *data;
  size_t len, cap;
} text_buf;

static size_t buf_write(void *ud, const char *data, size_t n) {
  text_buf *b = ud;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *d = realloc(b->data, cap);
    if (!d) return 0;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return n;
}

static PyObject *buf_str(text_buf *b, hn_status st, const hn_error *err) {
  PyObject *r = st == HN_OK
                    ? PyUnicode_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len)
                    : hnpy_raise(st, err);
  free(b->data);
  return r;
}

/* ---- Profile -------------------------------------------------------------------- */

static int profile_init(ProfileObject *self, PyObject *args, PyObject *kwargs) {
  if (!PyArg_ParseTuple(args, ":Profile") || (kwargs && PyDict_GET_SIZE(kwargs))) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Profile() takes no arguments");
    return -1;
  }
  if (self->p) return 0;
  hn_error err = {0};
  hn_status st = hn_profile_create(NULL, &self->p, &err);
  return st == HN_OK ? 0 : (hnpy_raise(st, &err), -1);
}

static void profile_dealloc(ProfileObject *self) {
  hn_profile_destroy(self->p);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *profile_write(ProfileObject *self, hn_profile_format f) {
  text_buf b = {0};
  hn_error err = {0};
  hn_status st = hn_profile_write(self->p, f, buf_write, &b, &err);
  return buf_str(&b, st, &err);
}

static PyObject *profile_text(ProfileObject *self, PyObject *unused) {
  (void)unused;
  return profile_write(self, HN_PROFILE_TEXT);
}

static PyObject *profile_json(ProfileObject *self, PyObject *unused) {
  (void)unused;
  return profile_write(self, HN_PROFILE_JSON);
}

static PyObject *profile_nodes(ProfileObject *self, PyObject *unused) {
  (void)unused;
  int64_t n = hn_profile_num_nodes(self->p);
  PyObject *list = PyList_New(0);
  for (int64_t i = 0; list && i < n; i++) {
    hn_profile_entry e = {.size = sizeof e};
    hn_error err = {0};
    hn_status st = hn_profile_get_node(self->p, i, &e, sizeof e, &err);
    PyObject *d =
        st == HN_OK
            ? Py_BuildValue("{szszszsisLsLsLsLsLsLsd}", "engine", e.engine, "pipeline", e.pipeline,
                            "node", e.node, "depth", e.depth, "calls", (long long)e.calls, "rows",
                            (long long)e.rows, "total_ns", (long long)e.total_ns, "mean_ns",
                            (long long)e.mean_ns, "p50_ns", (long long)e.p50_ns, "p99_ns",
                            (long long)e.p99_ns, "share", e.share)
            : hnpy_raise(st, &err);
    if (!d || PyList_Append(list, d) < 0) Py_CLEAR(list);
    Py_XDECREF(d);
  }
  return list;
}

static PyObject *profile_reset(ProfileObject *self, PyObject *unused) {
  (void)unused;
  hn_profile_reset(self->p);
  Py_RETURN_NONE;
}

static PyMethodDef profile_methods[] = {
    {"text", (PyCFunction)profile_text, METH_NOARGS, "The profile as tables, one per engine."},
    {"json", (PyCFunction)profile_json, METH_NOARGS, "The profile as a JSON document (str)."},
    {"nodes", (PyCFunction)profile_nodes, METH_NOARGS, "One dict per (engine, node)."},
    {"reset", (PyCFunction)profile_reset, METH_NOARGS, "Forget everything recorded."},
    {NULL, NULL, 0, NULL}};

PyTypeObject hnpy_ProfileType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hypernodes_c._hypernodes.Profile",
    .tp_basicsize = sizeof(ProfileObject),
    .tp_dealloc = (destructor)profile_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Profile(): per-node calls and times over the calls given it (profile=...).",
    .tp_methods = profile_methods,
    .tp_init = (initproc)profile_init,
    .tp_new = PyType_GenericNew,
};

/* ---- Trace ---------------------------------------------------------------------- */

static int trace_init(TraceObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"items", "max_events", NULL};
  int items = 0;
  long long max_events = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|pL:Trace", kw, &items, &max_events)) return -1;
  if (self->t) return 0;
  hn_trace_options o = {.size = sizeof o, .items = items, .max_events = max_events};
  hn_error err = {0};
  hn_status st = hn_trace_create(NULL, &o, &self->t, &err);
  return st == HN_OK ? 0 : (hnpy_raise(st, &err), -1);
}

static void trace_dealloc(TraceObject *self) {
  hn_trace_destroy(self->t);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *trace_write(TraceObject *self, PyObject *args) {
  const char *path = NULL;
  if (!PyArg_ParseTuple(args, "|z:write", &path)) return NULL;
  hn_error err = {0};
  if (path) {
    hn_status st = hn_trace_write_file(self->t, path, &err);
    return st == HN_OK ? Py_NewRef(Py_None) : hnpy_raise(st, &err);
  }
  text_buf b = {0};
  hn_status st = hn_trace_write(self->t, buf_write, &b, &err);
  return buf_str(&b, st, &err);
}

static PyObject *trace_counts(TraceObject *self, PyObject *unused) {
  (void)unused;
  return Py_BuildValue("(LL)", (long long)hn_trace_num_events(self->t),
                       (long long)hn_trace_num_dropped(self->t));
}

static PyObject *trace_reset(TraceObject *self, PyObject *unused) {
  (void)unused;
  hn_trace_reset(self->t);
  Py_RETURN_NONE;
}

static PyMethodDef trace_methods[] = {
    {"write", (PyCFunction)trace_write, METH_VARARGS,
     "write(path): the Chrome trace-event JSON file; write(): the JSON as a str."},
    {"counts", (PyCFunction)trace_counts, METH_NOARGS, "(events recorded, events dropped)."},
    {"reset", (PyCFunction)trace_reset, METH_NOARGS, "Forget every event recorded."},
    {NULL, NULL, 0, NULL}};

PyTypeObject hnpy_TraceType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hypernodes_c._hypernodes.Trace",
    .tp_basicsize = sizeof(TraceObject),
    .tp_dealloc = (destructor)trace_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Trace(items=False, max_events=0): timed events as a Chrome trace (trace=...).",
    .tp_methods = trace_methods,
    .tp_init = (initproc)trace_init,
    .tp_new = PyType_GenericNew,
};

/* ---- the chain of a call ----------------------------------------------------------- */

struct hnpy_observers {
  hn_callback_chain *chain; /* owned, or NULL when one set (or none) suffices */
  hn_progress *progress;    /* owned, or NULL */
  hn_callbacks cb;          /* what the call gets */
};

static hn_status add_set(hnpy_observers *o, const hn_callbacks *set, hn_error *err) {
  return hn_callback_chain_add(o->chain, set, err);
}

int hnpy_observers_make(const hn_callbacks *py, int progress, PyObject *profile, PyObject *trace,
                        hnpy_observers **out, const hn_callbacks **cb) {
  *out = NULL;
  if ((profile != Py_None && !PyObject_TypeCheck(profile, &hnpy_ProfileType)) ||
      (trace != Py_None && !PyObject_TypeCheck(trace, &hnpy_TraceType)))
    return PyErr_SetString(PyExc_TypeError, "profile and trace must be Profile and Trace"), -1;
  if (!progress && profile == Py_None && trace == Py_None) return 0; /* *cb stays as given */
  hnpy_observers *o = PyMem_Calloc(1, sizeof *o);
  if (!o) return PyErr_NoMemory(), -1;
  hn_error err = {0};
  hn_status st = hn_callback_chain_create(NULL, &o->chain, &err);
  if (st == HN_OK && py) st = add_set(o, py, &err);
  if (st == HN_OK && progress) {
    hn_progress_options po = {.size = sizeof po, .always = progress > 1};
    st = hn_progress_create(NULL, &po, &o->progress, &err);
    hn_callbacks set = {.size = sizeof set};
    if (st == HN_OK) hn_progress_get_callbacks(o->progress, &set, sizeof set);
    if (st == HN_OK) st = add_set(o, &set, &err);
  }
  if (st == HN_OK && profile != Py_None) {
    hn_callbacks set = {.size = sizeof set};
    hn_profile_get_callbacks(((ProfileObject *)profile)->p, &set, sizeof set);
    st = add_set(o, &set, &err);
  }
  if (st == HN_OK && trace != Py_None) {
    hn_callbacks set = {.size = sizeof set};
    hn_trace_get_callbacks(((TraceObject *)trace)->t, &set, sizeof set);
    st = add_set(o, &set, &err);
  }
  if (st != HN_OK) {
    hnpy_observers_free(o);
    return hnpy_raise(st, &err), -1;
  }
  o->cb.size = sizeof o->cb;
  hn_callback_chain_get_callbacks(o->chain, &o->cb, sizeof o->cb);
  *out = o;
  *cb = &o->cb;
  return 0;
}

void hnpy_observers_free(hnpy_observers *o) {
  if (!o) return;
  hn_callback_chain_destroy(o->chain);
  hn_progress_destroy(o->progress);
  PyMem_Free(o);
}
