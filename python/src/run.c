/*
 * Pipeline.run and Pipeline.map: inputs built from Python values, options
 * from keywords, the engine call made with the GIL as the engine needs
 * (hnpy_call_engine), and a Result back.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>

typedef struct call_args {
  hn_pipeline *p;
  hn_engine *engine;
  hn_inputs *inputs;
  hn_run_options opts;
  int is_map;
  hn_result *result;
  hn_error err;
} call_args;

/* Runs without the GIL on engines other than sequential. */
static hn_status do_call(void *arg) {
  call_args *c = arg;
  return c->is_map ? hn_pipeline_map(c->p, c->engine, c->inputs, &c->opts, &c->result, &c->err)
                   : hn_pipeline_run(c->p, c->engine, c->inputs, &c->opts, &c->result, &c->err);
}

/* The strings of a tuple (borrowed) as a C array in *out; NULL/None: none. */
static int names_of(PyObject *t, int64_t *n, const char ***out) {
  *n = 0;
  *out = NULL;
  if (!t || t == Py_None) return 0;
  if (!PyTuple_Check(t)) return PyErr_SetString(PyExc_TypeError, "expected a tuple of names"), -1;
  *n = PyTuple_GET_SIZE(t);
  *out = PyMem_Calloc((size_t)*n + 1, sizeof **out);
  if (!*out) return PyErr_NoMemory(), -1;
  for (int64_t i = 0; i < *n; i++)
    if (!((*out)[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t, i)))) return -1;
  return 0;
}

typedef struct call_kw {
  PyObject *inputs, *outputs, *map_over, *types, *engine, *callbacks, *cache, *convs;
  PyObject *profile, *trace;
  int map_mode, error_policy, cache_mode, cache_nodes, progress;
} call_kw;

static int parse(PyObject *args, PyObject *kwargs, call_kw *k) {
  static char *kw[] = {"inputs",     "outputs",     "map_over", "types", "engine",   "callbacks",
                       "cache",      "convs",       "profile",  "trace", "map_mode", "error_policy",
                       "cache_mode", "cache_nodes", "progress", NULL};
  memset(k, 0, sizeof *k);
  k->inputs = k->outputs = k->map_over = k->types = k->engine = Py_None;
  k->callbacks = k->cache = k->convs = k->profile = k->trace = Py_None;
  return PyArg_ParseTupleAndKeywords(
             args, kwargs, "|OOOOOOOOOOiiiii:call", kw, &k->inputs, &k->outputs, &k->map_over,
             &k->types, &k->engine, &k->callbacks, &k->cache, &k->convs, &k->profile, &k->trace,
             &k->map_mode, &k->error_policy, &k->cache_mode, &k->cache_nodes, &k->progress)
             ? 0
             : -1;
}

static int check_objects(const call_kw *k) {
  if (k->engine != Py_None && !PyObject_TypeCheck(k->engine, &hnpy_EngineType))
    return PyErr_SetString(PyExc_TypeError, "engine must be a _hypernodes.Engine"), -1;
  if (k->cache != Py_None && !PyObject_TypeCheck(k->cache, &hnpy_CacheType))
    return PyErr_SetString(PyExc_TypeError, "cache must be a _hypernodes.Cache"), -1;
  if (k->types != Py_None && !PyDict_Check(k->types))
    return PyErr_SetString(PyExc_TypeError, "types must be a dict"), -1;
  return 0;
}

PyObject *hnpy_pipeline_call(PipelineObject *self, PyObject *args, PyObject *kwargs, int is_map) {
  call_kw k;
  if (parse(args, kwargs, &k) < 0 || check_objects(&k) < 0) return NULL;
  call_args c = {.p = self->p, .is_map = is_map};
  c.opts = (hn_run_options){.size = sizeof c.opts,
                            .map_mode = (hn_map_mode)k.map_mode,
                            .error_policy = (hn_error_policy)k.error_policy,
                            .cache_mode = (hn_cache_mode)k.cache_mode,
                            .cache_nodes = (hn_cache_nodes)k.cache_nodes};
  c.engine = k.engine == Py_None ? NULL : ((EngineObject *)k.engine)->e;
  c.opts.cache = k.cache == Py_None ? NULL : ((CacheObject *)k.cache)->c;
  const char **outs = NULL, **over = NULL;
  hnpy_callbacks *cbs = NULL;
  hnpy_observers *obs = NULL;
  PyObject *ret = NULL;
  if (names_of(k.outputs, &c.opts.n_outputs, &outs) < 0 ||
      names_of(k.map_over, &c.opts.n_map_over, &over) < 0 ||
      hnpy_callbacks_make(k.callbacks, &cbs, &c.opts.callbacks) < 0 ||
      hnpy_observers_make(c.opts.callbacks, k.progress, k.profile, k.trace, &obs,
                          &c.opts.callbacks) < 0 ||
      hnpy_inputs_build(k.inputs, is_map ? k.map_over : NULL, k.types == Py_None ? NULL : k.types,
                        &c.inputs) < 0)
    goto done;
  c.opts.outputs = outs;
  c.opts.map_over = over;
  hn_status st = HN_OK;
  hnpy_exceptions_clear();
  if (hnpy_call_engine(hn_engine_kind_of(c.engine), do_call, &c, &st) < 0) goto done;
  if (st != HN_OK) {
    hnpy_raise(st, &c.err);
    goto done;
  }
  ret = hnpy_result_new(c.result, k.convs == Py_None ? NULL : k.convs);
  c.result = NULL;
done:
  hnpy_exceptions_clear();
  hn_result_destroy(c.result);
  hn_inputs_destroy(c.inputs);
  hnpy_observers_free(obs);
  hnpy_callbacks_free(cbs);
  PyMem_Free(outs);
  PyMem_Free(over);
  return ret;
}
