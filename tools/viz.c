/*
 * `hypernodes viz`: options, and the pipeline to draw: a bench scenario's,
 * or one from a shared library's hypernodes_pipelines() (see observe.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../bench/scenarios/scenario.h"
#include "viz.h"

#define VIZ_MAX_NAMES 64

typedef struct viz_options {
  const char *name;   /* scenario, or the plugin's pipeline; NULL: none given */
  const char *plugin; /* shared library, or NULL */
  bool list;
  viz_format format;
  const char *output; /* NULL: stdout */
  hn_dot_options dot;
  const char *inputs[VIZ_MAX_NAMES];
  const char *outputs[VIZ_MAX_NAMES];
  char *lists[2]; /* the copies --inputs and --outputs point into */
} viz_options;

/* The pipelines a plugin hands over. */
typedef struct viz_set {
  int n, cap;
  char **names;
  hn_pipeline **pipelines;
} viz_set;

static void print_help(FILE *out) {
  fprintf(out,
          "usage: hypernodes viz [options] SCENARIO\n"
          "       hypernodes viz [options] --plugin LIB.so [NAME]\n"
          "\n"
          "Draws a pipeline as a graph: inputs, nodes and outputs with their types, bound\n"
          "defaults, resources, nested pipelines as clusters (mapped inputs and map mode\n"
          "marked), and with --inputs/--outputs the nodes that request does not run, greyed.\n"
          "\n"
          "what to draw:\n"
          "  SCENARIO             a bench scenario's pipeline:");
  for (int i = 0; bench_scenarios[i]; i++) fprintf(out, " %s", bench_scenarios[i]->name);
  fprintf(out,
          "\n"
          "  --plugin LIB.so      a pipeline from a shared library that defines\n"
          "                       hypernodes_pipelines() (include/hypernodes/observe.h);\n"
          "                       NAME picks one when it exposes several\n"
          "  --list               list the pipelines that can be drawn, and exit\n"
          "\n"
          "options:\n"
          "  -T, --format F       dot (default), svg or png; svg and png need Graphviz's\n"
          "                       `dot` program (Debian package graphviz)\n"
          "  -o, --output FILE    write there instead of to stdout\n"
          "  --depth N            pipeline levels drawn open: 1 = the top one only (nested\n"
          "                       pipelines as one box each); 0 = all (default)\n"
          "  --orientation O      TB (top to bottom, default) or LR (left to right)\n"
          "  --inputs A,B         the inputs a run gives (default: the scenario's inputs,\n"
          "                       or every root input)\n"
          "  --outputs X,Y        the outputs it asks for (default: all); either of these\n"
          "                       greys what that run's plan prunes\n"
          "  --no-types           leave types out of the labels\n"
          "  -h, --help           this text\n"
          "\n"
          "exit status: 0 drawn, 1 a failure (plugin, request, Graphviz, output file),\n"
          "2 a usage error.\n");
}

static int usage_error(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "hypernodes viz: ");
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\n(see hypernodes viz --help)\n");
  return 2;
}

/* Split a comma list (copied into *copy) into names[]; returns the count or -1. */
static int64_t split_names(const char *value, char **copy, const char **names) {
  free(*copy);
  if (!(*copy = strdup(value))) return -1;
  int64_t n = 0;
  for (char *save = NULL, *item = strtok_r(*copy, ",", &save); item;
       item = strtok_r(NULL, ",", &save)) {
    if (n == VIZ_MAX_NAMES) return -1;
    names[n++] = item;
  }
  return n > 0 ? n : -1;
}

static int parse_value(viz_options *o, const char *opt, const char *v) {
  if (strcmp(opt, "-T") == 0 || strcmp(opt, "--format") == 0) {
    if (strcmp(v, "dot") == 0 || strcmp(v, "gv") == 0)
      o->format = VIZ_DOT;
    else if (strcmp(v, "svg") == 0)
      o->format = VIZ_SVG;
    else if (strcmp(v, "png") == 0)
      o->format = VIZ_PNG;
    else
      return usage_error("%s: unknown format '%s' (expected dot, svg or png)", opt, v);
  } else if (strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0) {
    o->output = v;
  } else if (strcmp(opt, "--plugin") == 0) {
    o->plugin = v;
  } else if (strcmp(opt, "--depth") == 0) {
    char *end = NULL;
    errno = 0;
    long d = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno || d < 0 || d > INT_MAX)
      return usage_error("%s: '%s' is not a depth (0 = all levels, 1 = the top one only, ...)", opt,
                         v);
    o->dot.depth = (int)d;
  } else if (strcmp(opt, "--orientation") == 0) {
    if (strcasecmp(v, "TB") == 0)
      o->dot.orientation = HN_DOT_TB;
    else if (strcasecmp(v, "LR") == 0)
      o->dot.orientation = HN_DOT_LR;
    else
      return usage_error("%s: '%s' is not TB or LR", opt, v);
  } else {
    bool in = strcmp(opt, "--inputs") == 0;
    int64_t n = split_names(v, &o->lists[in ? 0 : 1], in ? o->inputs : o->outputs);
    if (n < 0)
      return usage_error("%s: '%s' is not a comma-separated list of names (64 at most)", opt, v);
    if (in)
      o->dot.n_provided = n, o->dot.provided = o->inputs;
    else
      o->dot.n_requested = n, o->dot.requested = o->outputs;
  }
  return 0;
}

static bool takes_value(const char *opt) {
  static const char *const k[] = {"-T",      "--format",      "-o",       "--output",  "--plugin",
                                  "--depth", "--orientation", "--inputs", "--outputs", NULL};
  for (int i = 0; k[i]; i++)
    if (strcmp(opt, k[i]) == 0) return true;
  return false;
}

/* 0 to draw, 1 after --help, 2 on a usage error. */
static int parse_options(int argc, char **argv, viz_options *o) {
  for (int i = 0; i < argc; i++) {
    char *a = argv[i], opt[32];
    const char *value = NULL;
    char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
    if (eq && (size_t)(eq - a) < sizeof opt) { /* --opt=value */
      snprintf(opt, sizeof opt, "%.*s", (int)(eq - a), a);
      value = eq + 1;
    } else if (strncmp(a, "-T", 2) == 0 && a[2]) { /* -Tsvg, as Graphviz spells it */
      snprintf(opt, sizeof opt, "-T");
      value = a + 2;
    } else {
      snprintf(opt, sizeof opt, "%s", a);
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_help(stdout);
      return 1;
    } else if (strcmp(a, "--list") == 0) {
      o->list = true;
    } else if (strcmp(a, "--no-types") == 0) {
      o->dot.hide_types = true;
    } else if (takes_value(opt)) {
      if (!value && i + 1 >= argc) return usage_error("%s needs a value%s", opt, "");
      int rc = parse_value(o, opt, value ? value : argv[++i]);
      if (rc) return rc;
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown option '%s'%s", a, "");
    } else if (o->name) {
      return usage_error("one pipeline at a time ('%s' and '%s' given)", o->name, a);
    } else {
      o->name = a;
    }
  }
  if (!o->name && !o->plugin && !o->list)
    return usage_error("name a scenario to draw, or give --plugin LIB.so%s%s", "", "");
  return 0;
}

/* ---- pipelines from a plugin --------------------------------------------------- */

static hn_status add_error(hn_error *err, hn_status code, const char *fmt, const char *name) {
  if (err) {
    hn_error_reset(err);
    err->code = code;
    snprintf(err->message, sizeof err->message, fmt, name);
  }
  return code;
}

/* The hn_pipeline_add_fn handed to the plugin. */
static hn_status viz_add(void *ctx, const char *name, hn_pipeline *pipeline, hn_error *err) {
  viz_set *s = ctx;
  if (!name || !name[0]) return add_error(err, HN_EINVAL, "add: the name is NULL or empty", "");
  if (!pipeline) return add_error(err, HN_EINVAL, "add: the pipeline '%s' is NULL", name);
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->names[i], name) == 0)
      return add_error(err, HN_EINVAL, "add: a pipeline named '%s' was added before", name);
  if (s->n == s->cap) {
    int cap = s->cap ? 2 * s->cap : 8;
    char **names = realloc(s->names, sizeof *names * (size_t)cap);
    if (names) s->names = names;
    hn_pipeline **ps = names ? realloc(s->pipelines, sizeof *ps * (size_t)cap) : NULL;
    if (ps) s->pipelines = ps;
    if (!names || !ps) return add_error(err, HN_ENOMEM, "add: out of memory", "");
    s->cap = cap;
  }
  if (!(s->names[s->n] = strdup(name))) return add_error(err, HN_ENOMEM, "add: out of memory", "");
  s->pipelines[s->n++] = hn_pipeline_retain(pipeline);
  return HN_OK;
}

static void set_free(viz_set *s) {
  for (int i = 0; i < s->n; i++) {
    free(s->names[i]);
    hn_pipeline_release(s->pipelines[i]);
  }
  free(s->names);
  free(s->pipelines);
  *s = (viz_set){0};
}

/* Load `path` and collect its pipelines into s; *handle stays open (nodes' code lives there). */
static int load_plugin(const char *path, viz_set *s, void **handle) {
  char local[PATH_MAX];
  const char *open_path = path;
  /* dlopen looks for a bare name on the library path only; a file here is meant. */
  if (!strchr(path, '/') && access(path, F_OK) == 0 &&
      snprintf(local, sizeof local, "./%s", path) < (int)sizeof local)
    open_path = local;
  void *h = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "hypernodes viz: cannot load the plugin '%s': %s\n", path, dlerror());
    return 1;
  }
  void *sym = dlsym(h, HN_PIPELINES_ENTRY_POINT);
  if (!sym) {
    fprintf(stderr,
            "hypernodes viz: the plugin '%s' does not export " HN_PIPELINES_ENTRY_POINT
            "(): define\n  hn_status " HN_PIPELINES_ENTRY_POINT
            "(hn_pipeline_add_fn add, void *ctx, hn_error *err)\nin it (declared in "
            "hypernodes/observe.h; see docs/observability.md)\n",
            path);
    dlclose(h);
    return 1;
  }
  hn_pipelines_fn entry;
  memcpy(&entry, &sym, sizeof entry); /* POSIX: a function's address, from a void * */
  hn_error err;
  hn_error_reset(&err);
  hn_status st = entry(viz_add, s, &err);
  if (st == HN_OK && s->n == 0) {
    fprintf(stderr,
            "hypernodes viz: the plugin '%s' exposes no pipeline (" HN_PIPELINES_ENTRY_POINT
            "() added none)\n",
            path);
    st = HN_ENOTFOUND;
  } else if (st != HN_OK) {
    fprintf(stderr, "hypernodes viz: " HN_PIPELINES_ENTRY_POINT "() of '%s' failed: %s%s%s\n", path,
            hn_status_str(st), err.message[0] ? ": " : "", err.message);
  }
  if (st != HN_OK) {
    set_free(s);
    dlclose(h);
    return 1;
  }
  *handle = h;
  return 0;
}

/* The pipeline called `name`, or the only one when name is NULL; else NULL after saying why. */
static hn_pipeline *pick(const viz_set *s, const char *name, const char *path) {
  for (int i = 0; i < s->n; i++)
    if (name ? strcmp(s->names[i], name) == 0 : s->n == 1) return s->pipelines[i];
  if (name)
    fprintf(stderr, "hypernodes viz: the plugin '%s' has no pipeline '%s'; it has:", path, name);
  else
    fprintf(stderr, "hypernodes viz: the plugin '%s' has %d pipelines; name one of:", path, s->n);
  for (int i = 0; i < s->n; i++) fprintf(stderr, " %s", s->names[i]);
  fprintf(stderr, "\n");
  return NULL;
}

/* ---- drawing --------------------------------------------------------------------- */

/* Draw and write; 0 or 1 (after saying why). */
static int draw(hn_pipeline *p, const hn_inputs *inputs, const viz_options *o) {
  char dot_program[PATH_MAX] = "";
  if (o->format != VIZ_DOT && viz_find_dot(dot_program, sizeof dot_program) != 0) {
    fprintf(stderr,
            "hypernodes viz: -T %s needs Graphviz's `dot` program, which is not on PATH.\n"
            "Install the Debian package graphviz (apt-get install graphviz, or bash "
            "scripts/setup), or write DOT text with -T dot.\n",
            o->format == VIZ_SVG ? "svg" : "png");
    return 1;
  }
  hn_dot_options d = o->dot;
  d.inputs = inputs;
  char *text = NULL;
  size_t n = 0;
  hn_error err;
  hn_status st = hn_pipeline_to_dot_string(p, &d, &text, &n, &err);
  if (st != HN_OK) {
    fprintf(stderr, "hypernodes viz: %s\n", err.message);
    return 1;
  }
  int rc = viz_write(text, n, o->format, dot_program, o->output);
  hn_dot_string_free(text);
  return rc;
}

static const bench_scenario *find_scenario(const char *name) {
  for (int i = 0; bench_scenarios[i]; i++)
    if (strcmp(bench_scenarios[i]->name, name) == 0) return bench_scenarios[i];
  return NULL;
}

static int draw_scenario(const viz_options *o) {
  const bench_scenario *s = find_scenario(o->name);
  if (!s) {
    fprintf(stderr, "hypernodes viz: unknown scenario '%s'; the scenarios are:", o->name);
    for (int i = 0; bench_scenarios[i]; i++) fprintf(stderr, " %s", bench_scenarios[i]->name);
    fprintf(stderr, "\n(or draw a pipeline of your own with --plugin LIB.so)\n");
    return 2;
  }
  bench_case *c = NULL;
  hn_error err;
  if (s->create(4, false, &c, &err) != HN_OK) {
    fprintf(stderr, "hypernodes viz: building scenario '%s': %s\n", s->name, err.message);
    return 1;
  }
  int rc = draw(c->pipeline, c->inputs, o);
  s->destroy(c);
  return rc;
}

static int draw_plugin(const viz_options *o) {
  viz_set s = {0};
  void *handle = NULL;
  if (load_plugin(o->plugin, &s, &handle) != 0) return 1;
  int rc = 0;
  if (o->list) {
    for (int i = 0; i < s.n; i++) printf("%s\n", s.names[i]);
  } else {
    hn_pipeline *p = pick(&s, o->name, o->plugin);
    rc = p ? draw(p, NULL, o) : 1;
  }
  set_free(&s); /* before the code of the nodes' destructors goes */
  dlclose(handle);
  return rc;
}

int viz_main(int argc, char **argv) {
  viz_options o = {.dot = {.size = sizeof o.dot}};
  int rc = parse_options(argc, argv, &o);
  if (rc == 0 && o.plugin) {
    rc = draw_plugin(&o);
  } else if (rc == 0 && o.list) {
    for (int i = 0; bench_scenarios[i]; i++)
      printf("%-10s %s\n", bench_scenarios[i]->name, bench_scenarios[i]->summary);
  } else if (rc == 0) {
    rc = draw_scenario(&o);
  } else if (rc == 1) {
    rc = 0; /* --help */
  }
  free(o.lists[0]);
  free(o.lists[1]);
  return rc;
}
