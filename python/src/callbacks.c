/*
 * Callbacks from Python callables. Each event becomes a dict (pipeline,
 * node, item, item_path, depth, n_items, n_rows, status, message, worker)
 * passed to the callable with the GIL, on whatever thread the engine fires
 * it (worker threads for node and item events). An exception in a callback
 * is reported as unraisable and does not stop the call.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>

enum {
  CB_PIPELINE_START,
  CB_PIPELINE_END,
  CB_MAP_START,
  CB_MAP_END,
  CB_ITEM_START,
  CB_ITEM_END,
  CB_NODE_START,
  CB_NODE_END,
  CB_ERROR,
  CB_CACHE_HIT,
  CB_CACHE_MISS,
  CB_CACHE_WRITE,
  CB_CHUNK_START,
  CB_CHUNK_END,
  CB_N
};

static const char *const k_names[CB_N] = {
    "on_pipeline_start", "on_pipeline_end", "on_map_start",   "on_map_end",  "on_item_start",
    "on_item_end",       "on_node_start",   "on_node_end",    "on_error",    "on_cache_hit",
    "on_cache_miss",     "on_cache_write",  "on_chunk_start", "on_chunk_end"};

struct hnpy_callbacks {
  hn_callbacks cb;
  PyObject *funcs[CB_N]; /* strong, or NULL */
};

static PyObject *str_or_none(const char *s) {
  return s ? PyUnicode_FromString(s) : Py_NewRef(Py_None);
}

static void fire(hnpy_callbacks *c, int which, const hn_event *e) {
  hnpy_gil g;
  hnpy_gil_enter(&g);
  PyObject *d = Py_BuildValue(
      "{sssNsLsNsisLsLsssNsisLsLsisisiss}", "event", k_names[which] + 3, "node",
      str_or_none(e->node), "item", (long long)e->item, "item_path", str_or_none(e->item_path),
      "depth", e->depth, "n_items", (long long)e->n_items, "n_rows", (long long)e->n_rows, "status",
      hn_status_str(e->status), "message", str_or_none(e->message), "worker", e->worker, "start_ns",
      (long long)e->start_ns, "duration_ns", (long long)e->duration_ns, "thread", e->thread,
      "process", e->process, "rank", e->rank, "engine", e->engine ? e->engine : "");
  if (d && e->pipeline) {
    PyObject *p = PyUnicode_FromString(e->pipeline);
    if (!p || PyDict_SetItemString(d, "pipeline", p) < 0) Py_CLEAR(d);
    Py_XDECREF(p);
  }
  PyObject *r = d ? PyObject_CallOneArg(c->funcs[which], d) : NULL;
  if (!r) PyErr_WriteUnraisable(c->funcs[which]);
  Py_XDECREF(r);
  Py_XDECREF(d);
  hnpy_gil_exit(&g);
}

#define TRAMPOLINE(i)                               \
  static void cb_##i(void *ud, const hn_event *e) { \
    fire(ud, i, e);                                 \
  }
TRAMPOLINE(0)
TRAMPOLINE(1)
TRAMPOLINE(2)
TRAMPOLINE(3)
TRAMPOLINE(4)
TRAMPOLINE(5)
TRAMPOLINE(6)
TRAMPOLINE(7)
TRAMPOLINE(8)
TRAMPOLINE(9)
TRAMPOLINE(10)
TRAMPOLINE(11)
TRAMPOLINE(12)
TRAMPOLINE(13)

static const hn_callback k_tramp[CB_N] = {cb_0, cb_1, cb_2, cb_3,  cb_4,  cb_5,  cb_6,
                                          cb_7, cb_8, cb_9, cb_10, cb_11, cb_12, cb_13};

/* The member of hn_callbacks for event i. */
static hn_callback *slot(hn_callbacks *cb, int i) {
  hn_callback *s[CB_N] = {&cb->on_pipeline_start, &cb->on_pipeline_end, &cb->on_map_start,
                          &cb->on_map_end,        &cb->on_item_start,   &cb->on_item_end,
                          &cb->on_node_start,     &cb->on_node_end,     &cb->on_error,
                          &cb->on_cache_hit,      &cb->on_cache_miss,   &cb->on_cache_write,
                          &cb->on_chunk_start,    &cb->on_chunk_end};
  return s[i];
}

int hnpy_callbacks_make(PyObject *dict, hnpy_callbacks **out, const hn_callbacks **cb) {
  *out = NULL;
  *cb = NULL;
  if (!dict || dict == Py_None) return 0;
  if (!PyDict_Check(dict))
    return PyErr_SetString(PyExc_TypeError, "callbacks must be a dict of callables"), -1;
  hnpy_callbacks *c = PyMem_Calloc(1, sizeof *c);
  if (!c) return PyErr_NoMemory(), -1;
  c->cb.size = sizeof c->cb;
  c->cb.user_data = c;
  Py_ssize_t pos = 0, used = 0;
  PyObject *k, *v;
  while (PyDict_Next(dict, &pos, &k, &v)) {
    const char *name = PyUnicode_AsUTF8(k);
    int i = 0;
    while (name && i < CB_N && strcmp(name, k_names[i]) != 0) i++;
    if (!name || i == CB_N || !PyCallable_Check(v)) {
      if (name) PyErr_Format(PyExc_ValueError, "unknown callback '%s' or not callable", name);
      hnpy_callbacks_free(c);
      return -1;
    }
    c->funcs[i] = Py_NewRef(v);
    *slot(&c->cb, i) = k_tramp[i];
    used++;
  }
  *out = c;
  *cb = used ? &c->cb : NULL;
  return 0;
}

void hnpy_callbacks_free(hnpy_callbacks *c) {
  if (!c) return;
  for (int i = 0; i < CB_N; i++) Py_XDECREF(c->funcs[i]);
  PyMem_Free(c);
}
