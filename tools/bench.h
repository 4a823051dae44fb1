/*
 * `hypernodes bench`: options, the measurement loop and the reports.
 * bench_options.c parses the command line, bench_run.c times every engine
 * against the native baselines and checks their results, bench_report.c
 * writes the tables, the JSON file and the SVG chart.
 */
#ifndef HN_TOOLS_BENCH_H
#define HN_TOOLS_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../bench/scenarios/scenario.h"

#define BENCH_MAX_ENGINES 8
#define BENCH_MAX_FORMATS 5 /* table, arrow, rows/auto, rows/row, rows/column */
#define BENCH_MAX_METRICS (2 + BENCH_MAX_ENGINES * (BENCH_MAX_FORMATS + 2)) /* + cache rows */
#define BENCH_NATIVE (-1) /* engines[] entry meaning the native baselines */

typedef enum bench_format { BENCH_TABLE = 0, BENCH_ARROW = 1, BENCH_ROWS = 2 } bench_format;

typedef struct bench_options {
  const char *scale; /* "tiny" ... "large", or "custom" with --items */
  int64_t items;
  const bench_scenario *scenarios[16];
  int n_scenarios;
  int engines[BENCH_MAX_ENGINES]; /* hn_engine_kind values, or BENCH_NATIVE */
  int n_engines;
  int repeats;
  int warmup;
  int threads;           /* 0: one per core */
  const char *json_path; /* or NULL */
  const char *chart_path;
  const char *cache_dir; /* --cache: cold and warm rows per engine, or NULL */
  bool skip_native;
  bool formats[3];    /* indexed by bench_format */
  bool strategies[3]; /* indexed by hn_materialize */
  int fault_engine;   /* hn_engine_kind whose results are made wrong, or -1 */
  /* Observers (docs/observability.md): their callbacks are given to every timed run. */
  bool progress;                 /* --progress: bars on stderr when it is a terminal */
  bool profile;                  /* --profile: a profile table per scenario on stdout */
  const char *profile_json_path; /* --profile-json FILE, or NULL */
  const char *trace_path;        /* --trace FILE, or NULL */
  bool trace_items;              /* --trace-items: items as slices too */
} bench_options;

/* One line of a scenario's table and one member of its JSON "metrics". */
typedef struct bench_metric {
  char key[48]; /* "<engine>[/<format>[/<strategy>]]" */
  bool native;
  bool available;
  bool failed; /* available engine whose run returned an error */
  char reason[HN_ERROR_MESSAGE_MAX + 64];
  int n;             /* timed repeats */
  double *durations; /* seconds, in run order */
  double median, best, worst;
  bool has_ratio;
  double ratio;
  bool checked;
  bool matches;
  char mismatch[512];
  bool has_ns_per_call;
  double ns_per_call;
} bench_metric;

typedef struct bench_scenario_result {
  const bench_scenario *scenario;
  int64_t n_items;
  int n_metrics;
  bench_metric metrics[BENCH_MAX_METRICS];
} bench_scenario_result;

typedef struct bench_report {
  const char *scale;
  int64_t items;
  int threads;
  int repeats, warmup;
  int n_results;
  bench_scenario_result results[8];
} bench_report;

/*
 * This process's rank when an MPI launcher (mpiexec, srun) started it, from
 * the launcher's environment; -1 otherwise. Under a launcher the mpi engine
 * is among the defaults and ranks other than 0 only serve its maps.
 */
int bench_launcher_rank(void);

/* Parse argv (after "bench"). Returns 0 to run, 1 after printing help, 2 on a usage error. */
int bench_options_parse(int argc, char **argv, bench_options *o, FILE *out, FILE *err);
void bench_print_help(FILE *out);

/* ---- observers (bench_observe.c) --------------------------------------------------- */

typedef struct bench_observers bench_observers;

/* The observers the options ask for (NULL *out when none). 0, or 1 after printing why. */
int bench_observers_create(const bench_options *o, bench_observers **out);
/* Their callbacks for every run (NULL when there are none). */
const hn_callbacks *bench_observers_callbacks(const bench_observers *obs);
/*
 * A scenario is done: print its profile to out (--profile), keep it for
 * --profile-json, reset. out NULL (a serving rank): reset only.
 */
void bench_observers_scenario_done(bench_observers *obs, const char *scenario, FILE *out);
/* Write the files (--trace, --profile-json; rank 0 only) and free; 0, or 1 after printing why. */
int bench_observers_finish(bench_observers *obs, bool report);

/* Run every selected scenario on every selected engine; fills the report. 0 ok, 1 failure. */
int bench_run(const bench_options *o, bench_report *r);
void bench_report_free(bench_report *r);

/* Reports. The files: 0, or 1 after printing why the file could not be written. */
void bench_print_header(const bench_options *o, FILE *out);
void bench_print_scenario(const bench_scenario_result *sr, const bench_report *r, FILE *out);
int bench_write_json(const bench_report *r, const char *path);
int bench_write_chart(const bench_report *r, const char *path);

#endif /* HN_TOOLS_BENCH_H */
