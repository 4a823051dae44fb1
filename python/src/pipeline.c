/*
 * _hypernodes.Pipeline: one hn_pipeline reference. The pure-Python
 * hypernodes_c.Pipeline builds it (Python nodes, C nodes, nested pipelines,
 * bound values) and runs it; methods here are thin and take the GIL's
 * exclusivity as the pipeline's build lock.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <string.h>

static int pipeline_init(PipelineObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"name", NULL};
  const char *name = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z", kw, &name)) return -1;
  if (self->p) return 0;
  hn_error err = {0};
  hn_status st = hn_pipeline_create(NULL, name, &self->p, &err);
  return st == HN_OK ? 0 : (hnpy_raise(st, &err), -1);
}

static void pipeline_dealloc(PipelineObject *self) {
  hn_pipeline_release(self->p);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *add_python_node(PipelineObject *self, PyObject *args, PyObject *kwargs) {
  return hnpy_add_python_node(self->p, args, kwargs);
}

static PyObject *add_c_node(PipelineObject *self, PyObject *args) {
  return hnpy_add_c_node(self->p, args);
}

static PyObject *add_nested(PipelineObject *self, PyObject *args) {
  const char *name, *in_map, *out_map, *map_over;
  PipelineObject *inner;
  int mode = 0;
  if (!PyArg_ParseTuple(args, "sO!zzzi:_add_nested", &name, &hnpy_PipelineType, &inner, &in_map,
                        &out_map, &map_over, &mode))
    return NULL;
  hn_error err = {0};
  hn_status st = hn_pipeline_add_nested(self->p, name, inner->p, in_map, out_map, map_over,
                                        (hn_map_mode)mode, &err);
  return st == HN_OK ? Py_NewRef(Py_None) : hnpy_raise(st, &err);
}

static PyObject *bind_value(PipelineObject *self, PyObject *args) {
  const char *name, *type_str = NULL;
  PyObject *value;
  if (!PyArg_ParseTuple(args, "sOz:_bind_value", &name, &value, &type_str)) return NULL;
  const hn_type *t = type_str ? hnpy_type_parse(type_str) : NULL;
  if (type_str && !t) return NULL;
  PyObject *list = PyList_New(1);
  if (!list) {
    hn_type_release(t);
    return NULL;
  }
  PyList_SET_ITEM(list, 0, Py_NewRef(value));
  hn_array *a = NULL;
  int rc = hnpy_array_from_py(list, t ? t : NULL, name, &a);
  if (rc < 0 && !t) {
    PyErr_Clear();
    rc = hnpy_array_from_py(list, hnpy_object_type, name, &a);
  }
  Py_DECREF(list);
  hn_type_release(t);
  if (rc < 0) return NULL;
  hn_error err = {0};
  hn_status st = hn_pipeline_bind(self->p, name, a, 0, &err);
  hn_array_release(a);
  return st == HN_OK ? Py_NewRef(Py_None) : hnpy_raise(st, &err);
}

static PyObject *unbind(PipelineObject *self, PyObject *args) {
  const char *name;
  if (!PyArg_ParseTuple(args, "s:unbind", &name)) return NULL;
  hn_error err = {0};
  hn_status st = hn_pipeline_unbind(self->p, name, &err);
  return st == HN_OK ? Py_NewRef(Py_None) : hnpy_raise(st, &err);
}

/* A tuple of `n` strings from get(p, i). */
static PyObject *names(hn_pipeline *p, int64_t n,
                       const char *(*get)(const hn_pipeline *, int64_t)) {
  PyObject *t = PyTuple_New((Py_ssize_t)n);
  for (int64_t i = 0; t && i < n; i++) {
    PyObject *s = PyUnicode_FromString(get(p, i));
    if (!s)
      Py_CLEAR(t);
    else
      PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
  }
  return t;
}

static PyObject *root_inputs(PipelineObject *self, PyObject *unused) {
  (void)unused;
  return names(self->p, hn_pipeline_num_root_inputs(self->p), hn_pipeline_root_input);
}

static PyObject *outputs(PipelineObject *self, PyObject *unused) {
  (void)unused;
  return names(self->p, hn_pipeline_num_outputs(self->p), hn_pipeline_output);
}

static PyObject *execution_order(PipelineObject *self, PyObject *unused) {
  (void)unused;
  return names(self->p, hn_pipeline_num_nodes(self->p), hn_pipeline_execution_order);
}

static PyObject *output_type(PipelineObject *self, PyObject *args) {
  const char *name;
  if (!PyArg_ParseTuple(args, "s:output_type", &name)) return NULL;
  const hn_type *t = hn_pipeline_output_type(self->p, name);
  return t ? hnpy_type_str(t) : Py_NewRef(Py_None);
}

/* A C array of the strings of a tuple (borrowed), or NULL for None. */
static const char **str_array(PyObject *t, int64_t *n) {
  *n = 0;
  if (!t || t == Py_None) return NULL;
  if (!PyTuple_Check(t)) return PyErr_SetString(PyExc_TypeError, "expected a tuple of names"), NULL;
  *n = PyTuple_GET_SIZE(t);
  const char **v = PyMem_Calloc((size_t)*n + 1, sizeof *v);
  for (int64_t i = 0; v && i < *n; i++)
    if (!(v[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t, i)))) {
      PyMem_Free(v);
      return NULL;
    }
  if (!v) PyErr_NoMemory();
  return v;
}

static PyObject *to_dot(PipelineObject *self, PyObject *args, PyObject *kwargs) {
  static char *kw[] = {"depth", "orientation", "hide_types", "provided", "requested", NULL};
  int depth = 0, lr = 0, hide = 0;
  PyObject *provided = Py_None, *requested = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|ippOO:to_dot", kw, &depth, &lr, &hide, &provided,
                                   &requested))
    return NULL;
  hn_dot_options o = {.size = sizeof o,
                      .depth = depth,
                      .orientation = lr ? HN_DOT_LR : HN_DOT_TB,
                      .hide_types = hide};
  const char **pv = str_array(provided, &o.n_provided);
  const char **rq = str_array(requested, &o.n_requested);
  PyObject *r = NULL;
  if (!PyErr_Occurred()) {
    o.provided = pv;
    o.requested = rq;
    char *dot = NULL;
    size_t len = 0;
    hn_error err = {0};
    hn_status st = hn_pipeline_to_dot_string(self->p, &o, &dot, &len, &err);
    r = st == HN_OK ? PyUnicode_FromStringAndSize(dot, (Py_ssize_t)len) : hnpy_raise(st, &err);
    hn_dot_string_free(dot);
  }
  PyMem_Free(pv);
  PyMem_Free(rq);
  return r;
}

static PyObject *run(PipelineObject *self, PyObject *args, PyObject *kwargs) {
  return hnpy_pipeline_call(self, args, kwargs, 0);
}

static PyObject *map(PipelineObject *self, PyObject *args, PyObject *kwargs) {
  return hnpy_pipeline_call(self, args, kwargs, 1);
}

static PyObject *get_name(PipelineObject *self, void *closure) {
  (void)closure;
  return PyUnicode_FromString(hn_pipeline_name(self->p));
}

static PyMethodDef pipeline_methods[] = {
    {"_add_python_node", (PyCFunction)(void (*)(void))add_python_node, METH_VARARGS | METH_KEYWORDS,
     "Add a Python function as a node."},
    {"_add_c_node", (PyCFunction)add_c_node, METH_VARARGS, "Add a C node from a node library."},
    {"_add_nested", (PyCFunction)add_nested, METH_VARARGS, "Add a pipeline as a node."},
    {"_bind_value", (PyCFunction)bind_value, METH_VARARGS, "Bind a default value."},
    {"unbind", (PyCFunction)unbind, METH_VARARGS, "Remove a bound value."},
    {"root_inputs", (PyCFunction)root_inputs, METH_NOARGS, "Inputs nothing produces or binds."},
    {"outputs", (PyCFunction)outputs, METH_NOARGS, "Every output a node produces."},
    {"execution_order", (PyCFunction)execution_order, METH_NOARGS, "Node names in order."},
    {"output_type", (PyCFunction)output_type, METH_VARARGS, "Type string of an output."},
    {"to_dot", (PyCFunction)(void (*)(void))to_dot, METH_VARARGS | METH_KEYWORDS,
     "The pipeline as Graphviz DOT text."},
    {"run", (PyCFunction)(void (*)(void))run, METH_VARARGS | METH_KEYWORDS, "Run once."},
    {"map", (PyCFunction)(void (*)(void))map, METH_VARARGS | METH_KEYWORDS, "Map over items."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef pipeline_getset[] = {{"name", (getter)get_name, NULL, "the name", NULL},
                                        {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject hnpy_PipelineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hypernodes_c._hypernodes.Pipeline",
    .tp_basicsize = sizeof(PipelineObject),
    .tp_dealloc = (destructor)pipeline_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A hypernodes pipeline (the C object; see hypernodes_c.Pipeline).",
    .tp_methods = pipeline_methods,
    .tp_getset = pipeline_getset,
    .tp_init = (initproc)pipeline_init,
    .tp_new = PyType_GenericNew,
};
