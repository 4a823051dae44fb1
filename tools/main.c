/* The `hypernodes` command: one subcommand per tool. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cache_cmd.h"
#include "viz.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: hypernodes <command> [options]\n"
          "\n"
          "commands:\n"
          "  bench      time every engine against hand-written C baselines\n"
          "             (hypernodes bench --help)\n"
          "  cache      statistics of a cache directory, or clear it\n"
          "             (hypernodes cache --help)\n"
          "  viz        draw a pipeline as a graph: DOT, or SVG/PNG through Graphviz\n"
          "             (hypernodes viz --help)\n"
          "\n"
          "hypernodes --version prints the library version.\n");
}

static int cmd_bench(int argc, char **argv) {
  bench_options o;
  int rc = bench_options_parse(argc, argv, &o, stdout, stderr);
  if (rc == 1) return 0; /* --help */
  if (rc != 0) return rc;
  /* Under mpiexec every rank runs this; rank 0 alone reports. */
  bool report = bench_launcher_rank() <= 0;
  if (report) bench_print_header(&o, stdout);
  bench_report r;
  int bad = bench_run(&o, &r);
  if (report && o.json_path && bench_write_json(&r, o.json_path) != 0) bad = 1;
  if (report && o.chart_path && bench_write_chart(&r, o.chart_path) != 0) bad = 1;
  if (bad) fprintf(stderr, "hypernodes bench: FAILED (see the messages above)\n");
  bench_report_free(&r);
  return bad ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "bench") == 0) return cmd_bench(argc - 2, argv + 2);
  if (strcmp(cmd, "cache") == 0) return cache_main(argc - 2, argv + 2);
  if (strcmp(cmd, "viz") == 0) return viz_main(argc - 2, argv + 2);
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("hypernodes %s\n", hn_version_string());
    return 0;
  }
  fprintf(stderr, "hypernodes: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
