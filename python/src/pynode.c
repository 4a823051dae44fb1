/*
 * Python functions as nodes. A row node is called once per item with its
 * inputs as Python values; a batch node once per batch with numpy arrays
 * (lists for variable-width columns, Python values for broadcast inputs).
 * Both run with the GIL (hnpy_gil_enter), on whichever thread or process the
 * engine runs them. The node's user data (pynode) is owned by the pipeline
 * and freed with the GIL when the pipeline goes.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>

#define ARGS_ON_STACK 16

typedef struct pynode {
  PyObject *func;     /* strong: the callable (a batch node's batch function) */
  PyObject *row_func; /* strong: the row function (func for a row node), or NULL */
  PyObject *in_convs; /* strong: tuple, one conv per input (None: plain) */
  char *name;         /* PyMem copy */
  int64_t n_in, n_out;
  char **out_names;          /* PyMem copies */
  const hn_type **out_types; /* retained */
} pynode;

static void pynode_free(void *ud) {
  pynode *n = ud;
  if (!n) return;
  for (int64_t j = 0; j < n->n_out; j++) {
    if (n->out_types) hn_type_release(n->out_types[j]);
    if (n->out_names) PyMem_RawFree(n->out_names[j]);
  }
  PyMem_RawFree(n->out_types);
  PyMem_RawFree(n->out_names);
  PyMem_RawFree(n->name);
  if (hnpy_python_alive()) {
    hnpy_gil g;
    hnpy_gil_enter(&g);
    Py_XDECREF(n->func);
    Py_XDECREF(n->row_func);
    Py_XDECREF(n->in_convs);
    hnpy_gil_exit(&g);
  }
  PyMem_RawFree(n);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = PyMem_RawMalloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

/* The value of output j in the function's result `r` (borrowed), or NULL with msg. */
static PyObject *output_value(const pynode *n, PyObject *r, int64_t j, char *msg, size_t cap) {
  if (n->n_out == 1) return r;
  if (!PyTuple_Check(r) && !PyList_Check(r)) {
    snprintf(msg, cap, "returned %.64s, expected a tuple of %lld values (%s, ...)",
             Py_TYPE(r)->tp_name, (long long)n->n_out, n->out_names[0]);
    return NULL;
  }
  if (PySequence_Fast_GET_SIZE(r) != n->n_out) {
    snprintf(msg, cap, "returned %lld values, expected %lld",
             (long long)PySequence_Fast_GET_SIZE(r), (long long)n->n_out);
    return NULL;
  }
  return PySequence_Fast_GET_ITEM(r, j);
}

/* Call f on nargs new references in args[1..] (consumed). New reference or NULL. */
static PyObject *call(PyObject *f, PyObject **args, int64_t nargs) {
  PyObject *r =
      PyObject_Vectorcall(f, args + 1, (size_t)nargs | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
  for (int64_t i = 1; i <= nargs; i++) Py_DECREF(args[i]);
  return r;
}

static hn_status row_outputs(pynode *n, PyObject *r, hn_builder *const *out, hn_ctx *ctx) {
  char msg[320];
  for (int64_t j = 0; j < n->n_out; j++) {
    PyObject *v = output_value(n, r, j, msg, sizeof msg);
    if (!v) return hn_ctx_fail(ctx, "%s", msg);
    if (hnpy_append(out[j], v, msg, sizeof msg) < 0)
      return hn_ctx_fail(ctx, "output '%s': %s", n->out_names[j], msg);
  }
  return HN_OK;
}

static hn_status py_row(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  pynode *n = ud;
  if (atomic_load_explicit(&hnpy_abort, memory_order_relaxed))
    return hn_ctx_fail(ctx, "interrupted");
  hnpy_gil g;
  hnpy_gil_enter(&g);
  PyObject *stack[ARGS_ON_STACK + 1];
  PyObject **args = n->n_in < ARGS_ON_STACK ? stack : PyMem_Malloc(sizeof *args * (n->n_in + 1));
  hn_status st = HN_OK;
  int64_t made = 0;
  if (!args) PyErr_NoMemory();
  for (; args && made < n->n_in; made++) {
    PyObject *v = hnpy_from_datum(&in[made], PyTuple_GET_ITEM(n->in_convs, made));
    if (!v) break;
    args[made + 1] = v;
  }
  PyObject *r = NULL;
  if (args && made == n->n_in) {
    r = call(n->row_func, args, made);
  } else {
    for (int64_t i = 1; args && i <= made; i++) Py_DECREF(args[i]);
  }
  if (!r)
    st = hnpy_fail_from_exception(ctx, n->name);
  else
    st = row_outputs(n, r, out, ctx);
  Py_XDECREF(r);
  if (args != stack) PyMem_Free(args);
  hnpy_gil_exit(&g);
  return st;
}

/* Batch argument i: a broadcast value as a Python value, a column as numpy (or a list). */
static PyObject *batch_arg(pynode *n, const hn_batch_arg *a, int64_t i) {
  if (a->scalar) {
    hn_datum d = hn_array_get(a->array, 0);
    return hnpy_from_datum(&d, PyTuple_GET_ITEM(n->in_convs, i));
  }
  return hnpy_array_to_numpy((hn_array *)a->array);
}

static hn_status batch_outputs(pynode *n, PyObject *r, int64_t n_rows, hn_array **out,
                               hn_ctx *ctx) {
  char msg[320];
  for (int64_t j = 0; j < n->n_out; j++) {
    PyObject *v = output_value(n, r, j, msg, sizeof msg);
    if (!v) return hn_ctx_fail(ctx, "%s", msg);
    if (hnpy_array_from_py(v, n->out_types[j], n->out_names[j], &out[j]) < 0)
      return hnpy_fail_from_exception(ctx, n->name);
    if (hn_array_length(out[j]) != n_rows)
      return hn_ctx_fail(ctx, "output '%s': the batch function gave %lld rows for %lld",
                         n->out_names[j], (long long)hn_array_length(out[j]), (long long)n_rows);
  }
  return HN_OK;
}

static hn_status py_batch(void *ud, const hn_batch_arg *in, int64_t n_rows, hn_array **out,
                          hn_ctx *ctx) {
  pynode *n = ud;
  for (int64_t j = 0; j < n->n_out; j++) out[j] = NULL;
  if (atomic_load_explicit(&hnpy_abort, memory_order_relaxed))
    return hn_ctx_fail(ctx, "interrupted");
  hnpy_gil g;
  hnpy_gil_enter(&g);
  PyObject **args = PyMem_Malloc(sizeof *args * (n->n_in + 1));
  int64_t made = 0;
  for (; args && made < n->n_in; made++) {
    PyObject *v = batch_arg(n, &in[made], made);
    if (!v) break;
    args[made + 1] = v;
  }
  PyObject *r = NULL;
  if (!args)
    PyErr_NoMemory();
  else if (made == n->n_in)
    r = call(n->func, args, made);
  else
    for (int64_t i = 1; i <= made; i++) Py_DECREF(args[i]);
  hn_status st = r ? batch_outputs(n, r, n_rows, out, ctx) : hnpy_fail_from_exception(ctx, n->name);
  if (st != HN_OK)
    for (int64_t j = 0; j < n->n_out; j++) hn_array_release(out[j]), out[j] = NULL;
  Py_XDECREF(r);
  PyMem_Free(args);
  hnpy_gil_exit(&g);
  return st;
}

/* Names and types of a str tuple and a type-string tuple (None: any) into C arrays. */
typedef struct sig {
  int64_t n;
  const char **names;    /* borrowed from the tuple's str objects */
  const hn_type **types; /* new references (NULL entries: any) */
} sig;

static void sig_free(sig *s) {
  for (int64_t i = 0; s->types && i < s->n; i++) hn_type_release(s->types[i]);
  PyMem_Free(s->types);
  PyMem_Free(s->names);
}

static int sig_read(PyObject *names, PyObject *types, sig *s) {
  memset(s, 0, sizeof *s);
  if (!PyTuple_Check(names) || !PyTuple_Check(types) ||
      PyTuple_GET_SIZE(names) != PyTuple_GET_SIZE(types)) {
    PyErr_SetString(PyExc_TypeError, "names and types must be tuples of equal length");
    return -1;
  }
  s->n = PyTuple_GET_SIZE(names);
  s->names = PyMem_Calloc((size_t)s->n + 1, sizeof *s->names);
  s->types = PyMem_Calloc((size_t)s->n + 1, sizeof *s->types);
  if (!s->names || !s->types) return PyErr_NoMemory(), -1;
  for (int64_t i = 0; i < s->n; i++) {
    PyObject *t = PyTuple_GET_ITEM(types, i);
    if (!(s->names[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(names, i)))) return -1;
    if (t != Py_None && !(s->types[i] = hnpy_type_parse(PyUnicode_AsUTF8(t)))) return -1;
  }
  return 0;
}

static pynode *pynode_make(const char *name, PyObject *func, PyObject *convs, const sig *out) {
  pynode *n = PyMem_RawCalloc(1, sizeof *n);
  if (!n) return NULL;
  n->n_out = out->n;
  n->name = dup_str(name);
  n->out_names = PyMem_RawCalloc((size_t)out->n, sizeof *n->out_names);
  n->out_types = PyMem_RawCalloc((size_t)out->n, sizeof *n->out_types);
  n->func = Py_NewRef(func);
  n->in_convs = Py_NewRef(convs);
  int ok = n->name && n->out_names && n->out_types;
  for (int64_t j = 0; ok && j < out->n; j++) {
    n->out_types[j] = hn_type_retain(out->types[j]);
    ok = (n->out_names[j] = dup_str(out->names[j])) != NULL;
  }
  if (!ok) {
    pynode_free(n);
    return NULL;
  }
  return n;
}

PyObject *hnpy_add_python_node(hn_pipeline *p, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"name",  "func",    "inputs", "input_types", "outputs",  "output_types",
                       "batch", "version", "cache",  "in_convs",    "row_func", NULL};
  const char *name, *version = NULL;
  PyObject *func, *inputs, *in_types, *outputs, *out_types, *convs, *row_func = Py_None;
  int batch = 0, cache = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sOOOOOpziO|O:_add_python_node", kw, &name, &func,
                                   &inputs, &in_types, &outputs, &out_types, &batch, &version,
                                   &cache, &convs, &row_func))
    return NULL;
  if (!batch) row_func = func;
  if (row_func != Py_None && !PyCallable_Check(row_func))
    return PyErr_Format(PyExc_TypeError, "node '%s': the row function is not callable", name);
  if (!PyCallable_Check(func) || !PyTuple_Check(convs) ||
      PyTuple_GET_SIZE(convs) != PyTuple_GET_SIZE(inputs))
    return PyErr_Format(PyExc_TypeError, "node '%s': bad function or conversions", name);
  sig in = {0}, out = {0};
  PyObject *ret = NULL;
  if (sig_read(inputs, in_types, &in) == 0 && sig_read(outputs, out_types, &out) == 0) {
    for (int64_t j = 0; j < out.n; j++)
      if (!out.types[j]) out.types[j] = hn_type_retain(hnpy_object_type);
    pynode *n = pynode_make(name, func, convs, &out);
    if (!n) {
      PyErr_NoMemory();
    } else {
      n->n_in = in.n;
      n->row_func = row_func == Py_None ? NULL : Py_NewRef(row_func);
      hn_node_def def = {.size = sizeof def,
                         .name = name,
                         .n_inputs = in.n,
                         .inputs = in.names,
                         .input_types = in.types,
                         .n_outputs = out.n,
                         .outputs = out.names,
                         .output_types = out.types,
                         .row = n->row_func ? py_row : NULL,
                         .batch = batch ? py_batch : NULL,
                         .version = version,
                         .user_data = n,
                         .user_data_free = pynode_free,
                         .cache = (hn_node_cache)cache};
      hn_error err = {0};
      hn_status st = hn_pipeline_add_node(p, &def, &err);
      if (st != HN_OK) {
        pynode_free(n);
        hnpy_raise(st, &err);
      } else {
        ret = Py_NewRef(Py_None);
      }
    }
  }
  sig_free(&in);
  sig_free(&out);
  return ret;
}
