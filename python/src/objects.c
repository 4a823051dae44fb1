/*
 * _hypernodes.Engine (one hn_engine, owned: its workers live as long as it
 * does) and _hypernodes.Cache (one open hn_cache, owned).
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>
#include <unistd.h>

static int engine_init(EngineObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"kind", "workers", "chunk_size", "item_timeout", NULL};
  const char *kind = "sequential";
  int workers = 0;
  long long chunk = 0;
  double timeout = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|siLd:Engine", kw, &kind, &workers, &chunk,
                                   &timeout))
    return -1;
  if (self->e) return PyErr_SetString(PyExc_RuntimeError, "Engine already initialised"), -1;
  hn_engine_options o = {
      .size = sizeof o, .workers = workers, .chunk_size = chunk, .item_timeout = timeout};
  hn_error err = {0};
  hn_status st = hn_engine_kind_from_name(kind, &o.kind, &err);
  if (st == HN_OK) st = hn_engine_create(NULL, &o, &self->e, &err);
  if (st != HN_OK) return hnpy_raise(st, &err), -1;
  self->kind = o.kind;
  self->owner = (long)getpid();
  return 0;
}

static void engine_dealloc(EngineObject *self) {
  if (self->e && self->owner == (long)getpid()) {
    /* Worker threads may need the GIL to end (their Python thread states). */
    hn_engine *e = self->e;
    self->e = NULL;
    PyThreadState *ts = PyEval_SaveThread();
    hn_engine_destroy(e);
    PyEval_RestoreThread(ts);
  }
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *engine_kind(EngineObject *self, void *closure) {
  (void)closure;
  return PyUnicode_FromString(hn_engine_kind_name(self->kind));
}

static PyObject *engine_workers(EngineObject *self, void *closure) {
  (void)closure;
  return PyLong_FromLong(hn_engine_workers(self->e));
}

static PyGetSetDef engine_getset[] = {
    {"kind", (getter)engine_kind, NULL, "the engine's name", NULL},
    {"workers", (getter)engine_workers, NULL, "workers it runs items on", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject hnpy_EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hypernodes_c._hypernodes.Engine",
    .tp_basicsize = sizeof(EngineObject),
    .tp_dealloc = (destructor)engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Engine(kind='sequential', workers=0, chunk_size=0, item_timeout=0.0)",
    .tp_getset = engine_getset,
    .tp_init = (initproc)engine_init,
    .tp_new = PyType_GenericNew,
};

static int cache_init(CacheObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"dir", "max_bytes", NULL};
  const char *dir;
  long long max_bytes = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|L:Cache", kw, &dir, &max_bytes)) return -1;
  if (self->c) return PyErr_SetString(PyExc_RuntimeError, "Cache already open"), -1;
  hn_cache_options o = {.size = sizeof o, .max_bytes = max_bytes};
  hn_error err = {0};
  hn_status st = hn_cache_open(NULL, dir, &o, &self->c, &err);
  self->owner = (long)getpid();
  return st == HN_OK ? 0 : (hnpy_raise(st, &err), -1);
}

static void cache_dealloc(CacheObject *self) {
  if (self->owner == (long)getpid()) hn_cache_close(self->c);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *cache_dir(CacheObject *self, void *closure) {
  (void)closure;
  return self->c ? PyUnicode_FromString(hn_cache_dir(self->c)) : Py_NewRef(Py_None);
}

static PyObject *cache_usage(PyObject *cls, PyObject *args) {
  (void)cls;
  const char *dir;
  if (!PyArg_ParseTuple(args, "s:usage", &dir)) return NULL;
  hn_cache_usage u;
  hn_error err = {0};
  hn_status st = hn_cache_usage_of(NULL, dir, &u, sizeof u, &err);
  if (st != HN_OK) return hnpy_raise(st, &err);
  return Py_BuildValue("{sLsLsL}", "chunks", (long long)u.chunks, "items", (long long)u.items,
                       "bytes", (long long)u.bytes);
}

static PyObject *cache_clear(PyObject *cls, PyObject *args) {
  (void)cls;
  const char *dir;
  if (!PyArg_ParseTuple(args, "s:clear", &dir)) return NULL;
  hn_error err = {0};
  hn_status st = hn_cache_clear(NULL, dir, &err);
  return st == HN_OK ? Py_NewRef(Py_None) : hnpy_raise(st, &err);
}

static PyMethodDef cache_methods[] = {
    {"usage_of", (PyCFunction)cache_usage, METH_VARARGS | METH_STATIC,
     "What the cache in a directory holds."},
    {"clear_dir", (PyCFunction)cache_clear, METH_VARARGS | METH_STATIC,
     "Delete every result stored in a directory's cache."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef cache_getset[] = {{"dir", (getter)cache_dir, NULL, "the directory", NULL},
                                     {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject hnpy_CacheType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hypernodes_c._hypernodes.Cache",
    .tp_basicsize = sizeof(CacheObject),
    .tp_dealloc = (destructor)cache_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Cache(dir, max_bytes=0): an on-disk cache of node results.",
    .tp_methods = cache_methods,
    .tp_getset = cache_getset,
    .tp_init = (initproc)cache_init,
    .tp_new = PyType_GenericNew,
};
