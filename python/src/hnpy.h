/*
 * hypernodes_c._hypernodes: the CPython extension over the public C API.
 *
 * Conventions of every file here:
 *  - Ownership: a PyObject * is "new" (the caller owns one reference) or
 *    "borrowed"; each function says which it returns, and struct members say
 *    which they hold ("strong" members own a reference).
 *  - The GIL: functions called from Python run with it. Node functions,
 *    resource hooks, callbacks and object destructors are called by the
 *    engines on any thread, with or without it: they take it through
 *    hnpy_gil_enter/exit, which are no-ops on a thread that already holds it
 *    for the whole call (the sequential engine's calling thread, a forked
 *    worker process).
 *  - Errors: functions returning PyObject * return NULL with a Python
 *    exception set; functions returning int return -1 with one set.
 */
#ifndef HNPY_H
#define HNPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdatomic.h>

#include "hypernodes/hypernodes.h"

/* ---- the GIL (gil.c) ------------------------------------------------------ */

/*
 * Nonzero on a thread that holds the GIL for the whole of an engine call
 * (set by hnpy_call_engine, and in a worker process by the after-fork hook).
 */
extern _Thread_local int hnpy_tls_holds_gil;

typedef struct hnpy_gil {
  int took;
  PyGILState_STATE state;
} hnpy_gil;

/* Take the GIL unless this thread holds it for the call. Any thread. */
void hnpy_gil_enter(hnpy_gil *g);
/* Undo hnpy_gil_enter. */
void hnpy_gil_exit(hnpy_gil *g);
/* True while Python can still run code (not finalizing). Any thread. */
int hnpy_python_alive(void);

/*
 * Set when a node raised KeyboardInterrupt or SystemExit, or SIGINT arrived
 * during an engine call: later Python node calls fail at once so the call
 * ends soon. Cleared when no call is in flight.
 */
extern atomic_int hnpy_abort;
/* Engine calls in flight started from Python (gates the fork hooks). */
extern atomic_int hnpy_active_calls;

/* Read the main thread's identity (for the SIGINT hook); 0 or -1. */
int hnpy_gil_init(void);
/* Install the pthread_atfork hooks that make CPython safe to fork (once). */
int hnpy_fork_hooks_install(void);

/*
 * Run `fn(arg)` (a hn_pipeline_run or _map) the way the engine needs:
 * sequential keeps the GIL (Python nodes run on this thread), other engines
 * release it, with a SIGINT hook when on the main thread. Called with the
 * GIL. After it, a stashed KeyboardInterrupt/SystemExit or a pending signal
 * is raised: returns -1 with that exception set, else 0.
 */
int hnpy_call_engine(hn_engine_kind kind, hn_status (*fn)(void *arg), void *arg, hn_status *st);

/* Keep `exc` (a new reference is taken) to re-raise after the call. GIL held. */
void hnpy_stash_abort(PyObject *exc);

/* ---- errors (errors.c) --------------------------------------------------- */

extern PyObject *hnpy_Error;     /* hypernodes_c.Error (strong, module state) */
extern PyObject *hnpy_NodeError; /* hypernodes_c.NodeError, subclass of Error */

/*
 * Raise the Python exception for a failed C call: NodeError (with node,
 * item, item_path and the original exception as __cause__ when this
 * process kept it) for HN_ENODE, TypeError for HN_ETYPE, MemoryError,
 * else Error. Returns NULL.
 */
PyObject *hnpy_raise(hn_status st, const hn_error *err);

/*
 * The failure of a Python node: formats the current exception ("ValueError:
 * bad value (at file.py:12 in f)") into the node's failure message via
 * hn_ctx_fail, keeps the exception for hnpy_raise, and clears it. A
 * KeyboardInterrupt or SystemExit also aborts the call. GIL held.
 */
hn_status hnpy_fail_from_exception(hn_ctx *ctx, const char *node);
/* Forget the kept exceptions (after a call has raised or returned). GIL held. */
void hnpy_exceptions_clear(void);

/* ---- types and values (convert.c) --------------------------------------- */

/* The object type of Python values, "object<py>" (static after module init). */
extern const hn_type *hnpy_object_type;
int hnpy_types_init(void);
void hnpy_types_free(void);

/* Parse a type string (object<py> allowed). New hn_type reference or NULL with an exception. */
const hn_type *hnpy_type_parse(const char *text);
/* The type string of `type` as a new str. */
PyObject *hnpy_type_str(const hn_type *type);

/*
 * A datum as a new Python object. `conv` (borrowed, may be NULL or None)
 * says how structs are made: a class called with the fields as keywords
 * (a dataclass), a 1-tuple (conv,) for the items of a list, else dicts.
 * Object datums are taken to be Python objects (object<py>).
 */
PyObject *hnpy_from_datum(const hn_datum *d, PyObject *conv);
/*
 * Append `v` (borrowed) to `b` as the builder's type. On failure returns
 * nonzero with a message in msg (no Python exception is left set).
 */
int hnpy_append(hn_builder *b, PyObject *v, char *msg, size_t cap);

/* ---- arrays (arrays.c) --------------------------------------------------- */

/*
 * Row `row` range [0, n) of `array` as a Python list (new reference).
 * `conv` as for hnpy_from_datum.
 */
PyObject *hnpy_array_to_list(const hn_array *array, PyObject *conv);
/* Logical rows [start, start + n) of `a` as a Python list (new reference); conv as above. */
PyObject *hnpy_range_to_list(const hn_array *a, int64_t start, int64_t n, PyObject *conv);
/*
 * A fixed-width array without nulls (int64, float64, float32) as a
 * read-only numpy array sharing its memory (the array is retained until the
 * numpy array goes); other arrays as numpy arrays built from a list
 * (bool: numpy bool; with nulls: float NaN or object arrays). New reference.
 */
PyObject *hnpy_array_to_numpy(hn_array *array);
/*
 * An array of `type` from a Python value given for a column: a numpy array
 * or any buffer of a matching fixed-width format (wrapped without a copy
 * when C-contiguous), else a sequence converted item by item. `type` may be
 * NULL: inferred from the first non-None item (bool, int, float, str,
 * bytes; else object<py>). *out receives a new array. 0 or -1.
 */
int hnpy_array_from_py(PyObject *v, const hn_type *type, const char *what, hn_array **out);
/* Infer a type string for a Python scalar value; NULL (no exception) when unknown. */
const char *hnpy_infer_scalar_type(PyObject *v);
/* Register the buffer-exporting helper type; 0 or -1. */
int hnpy_arrays_init(PyObject *module);
/* The numpy module (borrowed; imported on first use) or NULL with an exception. */
PyObject *hnpy_numpy(void);

/* ---- Python nodes (pynode.c) --------------------------------------------- */

/* Add a Python function as a node: Pipeline._add_python_node. */
PyObject *hnpy_add_python_node(hn_pipeline *p, PyObject *args, PyObject *kwargs);

/* ---- C nodes (cnodes.c) -------------------------------------------------- */

/* load_nodes(path) -> list of CNodeSpec tuples; add_c_node for pipelines. */
PyObject *hnpy_load_nodes(PyObject *self, PyObject *args);
PyObject *hnpy_add_c_node(hn_pipeline *p, PyObject *args);
int hnpy_cnodes_init(PyObject *module);

/* ---- the objects (pipeline.c, engine.c, result.c, inputs.c, capsule.c) --- */

typedef struct PipelineObject {
  PyObject_HEAD hn_pipeline *p; /* one reference */
} PipelineObject;

/*
 * Engines and caches belong to the process that made them: in a forked
 * worker their threads and handles are not there, so a copy that goes away
 * in the child (the interpreter clears other threads' state after fork) is
 * left alone.
 */
typedef struct EngineObject {
  PyObject_HEAD hn_engine *e; /* owned by process `owner` */
  hn_engine_kind kind;
  long owner; /* getpid() of the creator */
} EngineObject;

typedef struct CacheObject {
  PyObject_HEAD hn_cache *c; /* owned by process `owner` */
  long owner;
} CacheObject;

typedef struct ResultObject {
  PyObject_HEAD hn_result *r; /* owned */
  PyObject *convs;            /* strong: dict output -> conv, or NULL */
} ResultObject;

extern PyTypeObject hnpy_PipelineType;
extern PyTypeObject hnpy_EngineType;
extern PyTypeObject hnpy_CacheType;
extern PyTypeObject hnpy_ResultType;

/* A new Result owning `r` (consumed, also on failure). */
PyObject *hnpy_result_new(hn_result *r, PyObject *convs);

/*
 * Build hn_inputs from a dict name -> value (borrowed). Values: Resource
 * specs, columns for names in `columns` (sequences, numpy, pandas, Arrow
 * PyCapsule objects), else single values (typed by `types`, a dict name ->
 * type string, or inferred). *out is owned by the caller. 0 or -1.
 */
int hnpy_inputs_build(PyObject *inputs, PyObject *columns, PyObject *types, hn_inputs **out);
/* Import an Arrow PyCapsule provider's single column as an array. 0, 1 (not one) or -1. */
int hnpy_array_from_capsule(PyObject *v, hn_array **out);

/* The Pipeline methods that run: run and map (run.c). */
PyObject *hnpy_pipeline_call(PipelineObject *self, PyObject *args, PyObject *kwargs, int is_map);
/* Callbacks from a dict of Python callables (callbacks.c); freed with hnpy_callbacks_free. */
typedef struct hnpy_callbacks hnpy_callbacks;
int hnpy_callbacks_make(PyObject *dict, hnpy_callbacks **out, const hn_callbacks **cb);
void hnpy_callbacks_free(hnpy_callbacks *c);

/*
 * The observers of a call (observe.c): the Python callbacks `py` (may be
 * NULL), a progress bar (progress: 1 on a terminal, 2 always), a Profile and
 * a Trace (or None), chained. When there is nothing to chain, *out stays
 * NULL and *cb unchanged. Free with hnpy_observers_free after the call.
 */
typedef struct hnpy_observers hnpy_observers;
extern PyTypeObject hnpy_ProfileType;
extern PyTypeObject hnpy_TraceType;
int hnpy_observers_make(const hn_callbacks *py, int progress, PyObject *profile, PyObject *trace,
                        hnpy_observers **out, const hn_callbacks **cb);
void hnpy_observers_free(hnpy_observers *o);

/* Export helpers (capsule.c): PyCapsules of the Arrow C interfaces. */
PyObject *hnpy_stream_capsule(const hn_result *r);
PyObject *hnpy_schema_capsule(const hn_type *schema);

#endif /* HNPY_H */
