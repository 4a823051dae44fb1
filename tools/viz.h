/*
 * `hypernodes viz`: draw a pipeline (a bench scenario's, or one a user's
 * shared library exposes through hypernodes_pipelines) as DOT, or as SVG or
 * PNG through Graphviz's `dot`. viz.c parses the options and finds the
 * pipeline; viz_render.c writes the text or runs `dot`.
 */
#ifndef HN_TOOLS_VIZ_H
#define HN_TOOLS_VIZ_H

#include <stddef.h>

typedef enum viz_format { VIZ_DOT = 0, VIZ_SVG = 1, VIZ_PNG = 2 } viz_format;

/* `hypernodes viz ARGS...` (argv after "viz"): 0 done, 1 failure, 2 usage error. */
int viz_main(int argc, char **argv);

/*
 * Graphviz's `dot` program found on PATH, written into buf; 0 when found,
 * -1 when not (buf is then empty).
 */
int viz_find_dot(char *buf, size_t cap);

/*
 * Write the DOT text `dot` (n bytes) to `path` (NULL: stdout): as it is, or
 * rendered by `dot_program` (-T svg / png) when format is not VIZ_DOT. A
 * file is created (or truncated) only after the text is ready, and removed
 * again when rendering fails. Returns 0, or 1 after printing why on stderr.
 */
int viz_write(const char *dot, size_t n, viz_format format, const char *dot_program,
              const char *path);

#endif /* HN_TOOLS_VIZ_H */
