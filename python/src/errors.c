/*
 * Exceptions: a Python node's exception becomes the node's failure message
 * (the engines carry only text, also out of a worker process), and a failed
 * C call becomes hypernodes_c.Error or NodeError. In this process the
 * original exception is kept (by its message, at most KEEP_MAX per call) so
 * that NodeError.__cause__ is the real exception with its traceback.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <stdlib.h>
#include <string.h>

#define KEEP_MAX 64
#define CAUSE_MAX 400

PyObject *hnpy_Error;
PyObject *hnpy_NodeError;

static PyObject *kept; /* strong, GIL: dict message -> exception, or NULL */

void hnpy_exceptions_clear(void) {
  Py_CLEAR(kept);
}

static void keep(const char *msg, PyObject *exc) {
  if (!kept && !(kept = PyDict_New())) return;
  if (PyDict_GET_SIZE(kept) < KEEP_MAX) (void)PyDict_SetItemString(kept, msg, exc);
}

/* The kept exception whose message the C cause starts with (borrowed) or NULL. */
static PyObject *find_kept(const char *cause) {
  if (!kept) return NULL;
  Py_ssize_t pos = 0;
  PyObject *k, *v;
  while (PyDict_Next(kept, &pos, &k, &v)) {
    const char *s = PyUnicode_AsUTF8(k);
    if (s && (strcmp(s, cause) == 0 || (strlen(cause) > 64 && strncmp(s, cause, 64) == 0)))
      return v;
  }
  return NULL;
}

/* "file.py:12 in f" of the innermost frame of `tb` into buf, or "". */
static void where(PyObject *tb, char *buf, size_t cap) {
  buf[0] = '\0';
  if (!tb || !PyTraceBack_Check(tb)) return;
  PyTracebackObject *t = (PyTracebackObject *)tb;
  while (t->tb_next) t = t->tb_next;
  PyCodeObject *code = PyFrame_GetCode(t->tb_frame);
  const char *file = PyUnicode_AsUTF8(code->co_filename);
  const char *fn = PyUnicode_AsUTF8(code->co_name);
  if (file && fn) {
    const char *base = strrchr(file, '/');
    snprintf(buf, cap, " (at %s:%d in %s)", base ? base + 1 : file, t->tb_lineno, fn);
  }
  Py_DECREF(code);
  PyErr_Clear();
}

hn_status hnpy_fail_from_exception(hn_ctx *ctx, const char *node) {
  (void)node;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (!value) {
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return hn_ctx_fail(ctx, "unknown Python error");
  }
  if (tb) (void)PyException_SetTraceback(value, tb);
  if (!PyErr_GivenExceptionMatches(type, PyExc_Exception)) hnpy_stash_abort(value);
  PyObject *text = PyObject_Str(value);
  const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
  char loc[256], msg[CAUSE_MAX];
  where(tb, loc, sizeof loc);
  const char *tname = ((PyTypeObject *)type)->tp_name;
  const char *dot = strrchr(tname, '.');
  if (s && s[0])
    snprintf(msg, sizeof msg, "%s: %s%s", dot ? dot + 1 : tname, s, loc);
  else
    snprintf(msg, sizeof msg, "%s%s", dot ? dot + 1 : tname, loc);
  PyErr_Clear();
  keep(msg, value);
  Py_XDECREF(text);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  Py_DECREF(value);
  PyErr_Clear();
  return hn_ctx_fail(ctx, "%s", msg);
}

/* The node's own message inside err->message (after "node 'x' failed on item 7: "). */
static const char *cause_of(const hn_error *e) {
  char prefix[HN_ERROR_NODE_MAX + HN_ERROR_PATH_MAX + 48];
  if (e->item_path[0])
    snprintf(prefix, sizeof prefix, "node '%s' failed on item %s: ", e->node, e->item_path);
  else
    snprintf(prefix, sizeof prefix, "node '%s' failed: ", e->node);
  size_t n = strlen(prefix);
  return e->node[0] && strncmp(e->message, prefix, n) == 0 ? e->message + n : e->message;
}

static int set_attr(PyObject *o, const char *name, PyObject *v) {
  if (!v) return -1;
  int rc = PyObject_SetAttrString(o, name, v);
  Py_DECREF(v);
  return rc;
}

/* The item index of a path ("7", "7/3": 7), or None. New reference. */
static PyObject *item_of(const char *path) {
  if (!path[0]) Py_RETURN_NONE;
  return PyLong_FromLongLong(strtoll(path, NULL, 10));
}

PyObject *hnpy_raise(hn_status st, const hn_error *err) {
  const char *msg = err && err->message[0] ? err->message : hn_status_str(st);
  if (st == HN_ENOMEM) return PyErr_NoMemory();
  PyObject *cls = st == HN_ENODE ? hnpy_NodeError : hnpy_Error;
  PyObject *exc = PyObject_CallFunction(cls, "s", msg);
  if (!exc) return NULL;
  if (set_attr(exc, "status", PyUnicode_FromString(hn_status_str(st))) < 0 ||
      set_attr(exc, "node",
               err && err->node[0] ? PyUnicode_FromString(err->node) : Py_NewRef(Py_None)) < 0 ||
      set_attr(exc, "item_path", PyUnicode_FromString(err ? err->item_path : "")) < 0 ||
      set_attr(exc, "item", item_of(err ? err->item_path : "")) < 0) {
    Py_DECREF(exc);
    return NULL;
  }
  if (st == HN_ENODE && err) {
    PyObject *cause = find_kept(cause_of(err));
    if (cause) PyException_SetCause(exc, Py_NewRef(cause));
    if (set_attr(exc, "message", PyUnicode_FromString(cause_of(err))) < 0) {
      Py_DECREF(exc);
      return NULL;
    }
  }
  hnpy_exceptions_clear();
  PyErr_SetObject(cls, exc);
  Py_DECREF(exc);
  return NULL;
}
