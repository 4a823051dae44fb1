/*
 * C nodes from a shared library: load_nodes(path) opens the library
 * (dlopen, kept open for the life of the process: arrays it made may hold
 * objects whose functions live there), calls its hypernodes_nodes() entry
 * point (pipeline.h) and returns one capsule per node. A capsule owns its
 * copy of the spec and the node's user data (user_data_free runs when the
 * capsule goes); pipelines get the node without a destructor and the Python
 * objects keep the capsule alive while a pipeline uses it. C nodes never
 * take the GIL.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define CNODE_CAPSULE "hypernodes_c.cnode"

typedef struct cnode {
  hn_node_spec spec; /* strings owned (malloc), user_data owned */
} cnode;

static void cnode_free(cnode *c) {
  if (!c) return;
  if (c->spec.user_data_free) c->spec.user_data_free(c->spec.user_data);
  free((char *)c->spec.name);
  free((char *)c->spec.inputs);
  free((char *)c->spec.outputs);
  free((char *)c->spec.version);
  free(c);
}

static void capsule_free(PyObject *cap) {
  cnode_free(PyCapsule_GetPointer(cap, CNODE_CAPSULE));
}

static char *dup_or_null(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

/* The add callback: ctx is the Python list being filled (GIL held: the loading thread). */
static hn_status add(void *ctx, const hn_node_spec *spec, size_t spec_size, hn_error *err) {
  size_t need = offsetof(hn_node_spec, version);
  if (!spec || spec_size < need || !spec->name || !spec->name[0] || (!spec->row && !spec->batch)) {
    if (err) {
      err->code = HN_EINVAL;
      snprintf(err->message, sizeof err->message,
               "hypernodes_nodes: a node spec needs a size, a name and a function");
    }
    return HN_EINVAL;
  }
  cnode *c = calloc(1, sizeof *c);
  if (!c) return HN_ENOMEM;
  memcpy(&c->spec, spec, spec_size < sizeof c->spec ? spec_size : sizeof c->spec);
  c->spec.name = dup_or_null(spec->name);
  c->spec.inputs = dup_or_null(spec->inputs ? spec->inputs : "");
  c->spec.outputs = dup_or_null(spec->outputs);
  c->spec.version = spec_size > need ? dup_or_null(spec->version) : NULL;
  PyObject *cap = c->spec.name && c->spec.inputs && c->spec.outputs
                      ? PyCapsule_New(c, CNODE_CAPSULE, capsule_free)
                      : NULL;
  if (!cap) {
    c->spec.user_data_free = NULL; /* the library still owns it on failure */
    cnode_free(c);
    PyErr_Clear();
    return HN_ENOMEM;
  }
  int rc = PyList_Append((PyObject *)ctx, cap);
  Py_DECREF(cap);
  if (rc < 0) PyErr_Clear();
  return rc < 0 ? HN_ENOMEM : HN_OK;
}

PyObject *hnpy_load_nodes(PyObject *self, PyObject *args) {
  (void)self;
  const char *path;
  if (!PyArg_ParseTuple(args, "s:load_nodes", &path)) return NULL;
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return PyErr_Format(hnpy_Error, "cannot load the node library '%s': %s", path, dlerror());
  hn_nodes_fn entry = NULL;
  *(void **)&entry = dlsym(lib, HN_NODES_ENTRY_POINT);
  if (!entry)
    return PyErr_Format(hnpy_Error,
                        "the node library '%s' does not export " HN_NODES_ENTRY_POINT
                        "() (hn_status hypernodes_nodes(hn_node_add_fn add, void *ctx, "
                        "hn_error *err), include/hypernodes/pipeline.h)",
                        path);
  PyObject *list = PyList_New(0);
  if (!list) return NULL;
  hn_error err = {0};
  hn_status st = entry(add, list, &err);
  if (st != HN_OK) {
    Py_DECREF(list);
    if (!err.message[0]) snprintf(err.message, sizeof err.message, "%s", hn_status_str(st));
    return PyErr_Format(hnpy_Error, "hypernodes_nodes() of '%s' failed: %s", path, err.message);
  }
  return list;
}

/* (capsule) -> (name, inputs, outputs, version) of the spec. */
static PyObject *cnode_info(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *cap;
  if (!PyArg_ParseTuple(args, "O:cnode_info", &cap)) return NULL;
  cnode *c = PyCapsule_GetPointer(cap, CNODE_CAPSULE);
  if (!c) return NULL;
  return Py_BuildValue("(sssz)", c->spec.name, c->spec.inputs, c->spec.outputs, c->spec.version);
}

PyObject *hnpy_add_c_node(hn_pipeline *p, PyObject *args) {
  PyObject *cap;
  const char *name = NULL;
  if (!PyArg_ParseTuple(args, "O|z:_add_c_node", &cap, &name)) return NULL;
  cnode *c = PyCapsule_GetPointer(cap, CNODE_CAPSULE);
  if (!c) return NULL;
  hn_node_spec s = c->spec;
  s.user_data_free = NULL; /* the capsule owns user_data */
  if (name) s.name = name;
  hn_error err = {0};
  hn_status st = hn_pipeline_add_nodes(p, &s, 1, sizeof s, &err);
  return st == HN_OK ? Py_NewRef(Py_None) : hnpy_raise(st, &err);
}

static PyMethodDef cnode_methods[] = {
    {"cnode_info", cnode_info, METH_VARARGS, "(name, inputs, outputs, version) of a C node."},
    {NULL, NULL, 0, NULL}};

int hnpy_cnodes_init(PyObject *module) {
  return PyModule_AddFunctions(module, cnode_methods);
}
