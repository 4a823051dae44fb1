/* Command-line options of `hypernodes bench`. Every error names the option and exits 2. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const struct {
  const char *name;
  int64_t items;
} k_scales[] = {{"tiny", 200}, {"small", 5000}, {"medium", 25000}, {"large", 60000}};

void bench_print_help(FILE *out) {
  fprintf(out,
          "usage: hypernodes bench [options]\n"
          "\n"
          "Times each engine on the benchmark scenarios against hand-written C baselines\n"
          "(the same work with no framework) and checks every engine's outputs against\n"
          "the native ones with a checksum; a mismatch is printed and the exit code is 1.\n"
          "With no options: scale small, every scenario, every engine.\n"
          "\n"
          "scenarios:\n");
  for (int i = 0; bench_scenarios[i]; i++) {
    fprintf(out, "  %-10s %s", bench_scenarios[i]->name, bench_scenarios[i]->summary);
    if (bench_scenarios[i]->max_items)
      fprintf(out, " (at most %lld items)", (long long)bench_scenarios[i]->max_items);
    fprintf(out, "\n");
  }
  fprintf(out,
          "\n"
          "options:\n"
          "  --scale S            tiny|small|medium|large: 200/5000/25000/60000 items (small)\n"
          "  --items N            number of items (overrides --scale)\n"
          "  --scenarios A,B      scenarios to run (all)\n"
          "  --engines E,F        sequential,threads,processes,columnar,mpi,native\n"
          "                       (all but mpi); an engine this build lacks is reported as\n"
          "                       unavailable with the reason\n"
          "  --repeats R          timed runs per engine; the median is reported (3)\n"
          "  --warmup W           untimed runs before them (1)\n"
          "  --threads N          workers of the threads and columnar engines (0: one per core)\n"
          "  --cache DIR          also time each engine with a cache in DIR (created when\n"
          "                       missing; emptied before each cold run): a cold row (empty\n"
          "                       cache) and a warm row (everything found), checked like\n"
          "                       the others (docs/cache.md)\n"
          "  --json FILE          write the results as JSON (see docs/benchmarks.md)\n"
          "  --chart FILE.svg     write a bar chart of the ratios to native\n"
          "  --skip-native        do not time the native baselines (they still give the\n"
          "                       reference checksum; ratios are then null)\n"
          "  --return-formats L   table,arrow,rows: how results are handed back (table)\n"
          "  --materialize L      auto,row,column: strategies for the rows format (auto);\n"
          "                       implies rows when --return-formats is not given\n"
          "  --progress           progress bars on stderr (only when it is a terminal)\n"
          "  --profile            a per-node profile of each scenario, per engine, after\n"
          "                       its table (every timed and warm-up run counts)\n"
          "  --profile-json FILE  the profiles as JSON (docs/observability.md)\n"
          "  --trace FILE         a Chrome trace of every run (open it in ui.perfetto.dev);\n"
          "                       at most 1,000,000 events are kept\n"
          "  --trace-items        also trace every item as a slice\n"
          "  --help               this text\n"
          "\n"
          "exit status: 0 all results match native, 1 a mismatch or an engine error,\n"
          "2 a usage error (also, before anything runs, a --json or --chart file that\n"
          "cannot be written, or nothing to run).\n");
}

static int usage_error(FILE *err, const char *option, const char *fmt, const char *value) {
  if (option)
    fprintf(err, "hypernodes bench: %s: ", option);
  else
    fprintf(err, "hypernodes bench: ");
  fprintf(err, fmt, value);
  fprintf(err, "\n(see hypernodes bench --help)\n");
  return 2;
}

static int parse_int(FILE *err, const char *option, const char *value, int64_t lo, int64_t hi,
                     int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(value, &end, 10);
  if (*value == '\0' || *end != '\0' || errno != 0)
    return usage_error(err, option, "'%s' is not an integer", value);
  if (v < lo || v > hi) {
    fprintf(err, "hypernodes bench: %s: %lld is out of range [%lld, %lld]\n", option, v,
            (long long)lo, (long long)hi);
    fprintf(err, "(see hypernodes bench --help)\n");
    return 2;
  }
  *out = v;
  return 0;
}

/* Split a comma list into its items (in place on a copy); calls `take` per item. */
typedef int (*take_fn)(bench_options *o, FILE *err, const char *option, const char *item);

static int parse_list(bench_options *o, FILE *err, const char *option, const char *value,
                      take_fn take) {
  char buf[256];
  if (strlen(value) >= sizeof buf) return usage_error(err, option, "list too long: %s", value);
  strcpy(buf, value);
  int n = 0;
  for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
       item = strtok_r(NULL, ",", &save)) {
    int rc = take(o, err, option, item);
    if (rc) return rc;
    n++;
  }
  if (n == 0) return usage_error(err, option, "empty list%s", "");
  return 0;
}

static int take_scenario(bench_options *o, FILE *err, const char *option, const char *item) {
  for (int i = 0; bench_scenarios[i]; i++) {
    if (strcmp(bench_scenarios[i]->name, item) != 0) continue;
    for (int j = 0; j < o->n_scenarios; j++)
      if (o->scenarios[j] == bench_scenarios[i]) return 0;
    o->scenarios[o->n_scenarios++] = bench_scenarios[i];
    return 0;
  }
  /* The names come from the scenario table, so a new scenario is listed too. */
  char msg[512];
  size_t len = (size_t)snprintf(msg, sizeof msg, "unknown scenario '%.64s' (expected ", item);
  for (int i = 0; bench_scenarios[i] && len < sizeof msg; i++)
    len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", i ? ", " : "",
                            bench_scenarios[i]->name);
  if (len < sizeof msg) snprintf(msg + len, sizeof msg - len, ")");
  return usage_error(err, option, "%s", msg);
}

static int engine_code(const char *name, int *code) {
  if (strcmp(name, "native") == 0) {
    *code = BENCH_NATIVE;
    return 0;
  }
  hn_engine_kind kind;
  if (hn_engine_kind_from_name(name, &kind, NULL) != HN_OK) return -1;
  *code = (int)kind;
  return 0;
}

static int take_engine(bench_options *o, FILE *err, const char *option, const char *item) {
  int code;
  if (engine_code(item, &code) != 0)
    return usage_error(
        err, option,
        "unknown engine '%s' (expected sequential, threads, processes, columnar, mpi, native)",
        item);
  for (int j = 0; j < o->n_engines; j++)
    if (o->engines[j] == code) return 0;
  if (o->n_engines == BENCH_MAX_ENGINES) return usage_error(err, option, "too many engines%s", "");
  o->engines[o->n_engines++] = code;
  return 0;
}

static int take_format(bench_options *o, FILE *err, const char *option, const char *item) {
  static const char *const names[] = {"table", "arrow", "rows"};
  for (int i = 0; i < 3; i++)
    if (strcmp(item, names[i]) == 0) {
      o->formats[i] = true;
      return 0;
    }
  return usage_error(err, option, "unknown return format '%s' (expected table, arrow, rows)", item);
}

static int take_strategy(bench_options *o, FILE *err, const char *option, const char *item) {
  static const char *const names[] = {"auto", "row", "column"};
  for (int i = 0; i < 3; i++)
    if (strcmp(item, names[i]) == 0) {
      o->strategies[i] = true;
      return 0;
    }
  return usage_error(err, option, "unknown strategy '%s' (expected auto, row, column)", item);
}

static void set_defaults(bench_options *o) {
  memset(o, 0, sizeof *o);
  o->scale = "small";
  o->items = 5000;
  o->repeats = 3;
  o->warmup = 1;
  o->fault_engine = -1;
}

int bench_launcher_rank(void) {
  static const char *const names[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *v = getenv(names[i]);
    if (v && *v) return atoi(v);
  }
  return -1;
}

/*
 * Whether the report file `path` can be written, checked before the run:
 * opened for writing without truncating, and removed again when the check
 * created it. 0, or 2 after printing the system's reason.
 */
static int check_writable(FILE *err, const char *option, const char *path) {
  bool existed = access(path, F_OK) == 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666);
  if (fd < 0) {
    fprintf(err, "hypernodes bench: %s: cannot write '%s': %s\n", option, path, strerror(errno));
    return 2;
  }
  close(fd);
  if (!existed) unlink(path);
  return 0;
}

/* Refuse, before anything runs, a selection that would time nothing. */
static int check_something_runs(const bench_options *o, FILE *err) {
  for (int i = 0; i < o->n_engines; i++)
    if (o->engines[i] != BENCH_NATIVE || !o->skip_native) return 0;
  return usage_error(err, "--skip-native",
                     "nothing to run: native is the only engine selected and --skip-native "
                     "skips it (add an engine to --engines or drop --skip-native)%s",
                     "");
}

static void fill_unset(bench_options *o) {
  if (o->n_scenarios == 0)
    for (int i = 0; bench_scenarios[i]; i++) o->scenarios[o->n_scenarios++] = bench_scenarios[i];
  if (o->n_engines == 0) {
    static const int all[] = {BENCH_NATIVE, HN_ENGINE_SEQUENTIAL, HN_ENGINE_THREADS,
                              HN_ENGINE_PROCESSES, HN_ENGINE_COLUMNAR};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) o->engines[o->n_engines++] = all[i];
    /* The mpi engine needs a launcher: its rows appear under mpiexec. */
    if (bench_launcher_rank() >= 0) o->engines[o->n_engines++] = HN_ENGINE_MPI;
  }
}

/* What parsing has seen so far (defaults depend on it). */
typedef struct parse_state {
  bool items_given, formats_given, strategies_given;
  const char *scale;
} parse_state;

/* A flag (an option without a value): 1 when `option` is one (set), else 0. */
static int take_flag(bench_options *o, const char *option) {
  static const char *const flags[] = {"--skip-native", "--progress", "--profile", "--trace-items"};
  bool *flag_of[] = {&o->skip_native, &o->progress, &o->profile, &o->trace_items};
  for (int k = 0; k < 4; k++)
    if (strcmp(option, flags[k]) == 0) {
      *flag_of[k] = true;
      return 1;
    }
  return 0;
}

static bool is_value_option(const char *option) {
  static const char *const known[] = {
      "--scale",       "--items",        "--scenarios", "--engines",      "--repeats",
      "--warmup",      "--threads",      "--json",      "--chart",        "--return-formats",
      "--materialize", "--fault-inject", "--trace",     "--profile-json", "--cache"};
  for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
    if (strcmp(option, known[k]) == 0) return true;
  return false;
}

/* A file name option's value: non-empty. */
static int take_path(FILE *err, const char *option, const char *value, const char **out) {
  if (!*value) return usage_error(err, option, "empty file name%s", "");
  *out = value;
  return 0;
}

/* Option `option` (one of is_value_option's) with its value. 0, or 2 after printing why. */
static int take_value(bench_options *o, FILE *err, const char *option, const char *value,
                      parse_state *ps) {
  int64_t v = 0;
  int rc = 0;
  if (strcmp(option, "--scale") == 0) {
    ps->scale = NULL;
    for (size_t k = 0; k < sizeof k_scales / sizeof k_scales[0]; k++)
      if (strcmp(value, k_scales[k].name) == 0) {
        ps->scale = k_scales[k].name;
        if (!ps->items_given) o->items = k_scales[k].items;
      }
    if (!ps->scale)
      return usage_error(err, option, "unknown scale '%s' (expected tiny, small, medium or large)",
                         value);
  } else if (strcmp(option, "--items") == 0) {
    rc = parse_int(err, option, value, 1, 100000000, &v);
    o->items = v;
    ps->items_given = true;
  } else if (strcmp(option, "--scenarios") == 0) {
    o->n_scenarios = 0;
    rc = parse_list(o, err, option, value, take_scenario);
  } else if (strcmp(option, "--engines") == 0) {
    o->n_engines = 0;
    rc = parse_list(o, err, option, value, take_engine);
  } else if (strcmp(option, "--repeats") == 0) {
    rc = parse_int(err, option, value, 1, 1000, &v);
    o->repeats = (int)v;
  } else if (strcmp(option, "--warmup") == 0) {
    rc = parse_int(err, option, value, 0, 1000, &v);
    o->warmup = (int)v;
  } else if (strcmp(option, "--threads") == 0) {
    rc = parse_int(err, option, value, 0, 256, &v);
    o->threads = (int)v;
  } else if (strcmp(option, "--json") == 0) {
    rc = take_path(err, option, value, &o->json_path);
  } else if (strcmp(option, "--chart") == 0) {
    rc = take_path(err, option, value, &o->chart_path);
  } else if (strcmp(option, "--cache") == 0) {
    if (!*value) return usage_error(err, option, "empty directory name%s", "");
    o->cache_dir = value;
  } else if (strcmp(option, "--trace") == 0) {
    rc = take_path(err, option, value, &o->trace_path);
  } else if (strcmp(option, "--profile-json") == 0) {
    rc = take_path(err, option, value, &o->profile_json_path);
  } else if (strcmp(option, "--return-formats") == 0) {
    memset(o->formats, 0, sizeof o->formats);
    ps->formats_given = true;
    rc = parse_list(o, err, option, value, take_format);
  } else if (strcmp(option, "--materialize") == 0) {
    memset(o->strategies, 0, sizeof o->strategies);
    ps->strategies_given = true;
    rc = parse_list(o, err, option, value, take_strategy);
  } else { /* --fault-inject ENGINE: test-only, makes that engine's results wrong */
    int code;
    if (engine_code(value, &code) != 0 || code == BENCH_NATIVE)
      return usage_error(err, option, "'%s' is not an engine (the native loops cannot be faulted)",
                         value);
    o->fault_engine = code;
  }
  return rc;
}

/* After the options: defaults, and the checks made before anything runs. */
static int finish_options(bench_options *o, FILE *err, const parse_state *ps) {
  o->scale = ps->items_given ? "custom" : (ps->scale ? ps->scale : "small");
  if (!ps->formats_given) {
    o->formats[BENCH_TABLE] = true;
    if (ps->strategies_given) o->formats[BENCH_ROWS] = true;
  }
  if (!ps->strategies_given) o->strategies[HN_MATERIALIZE_AUTO] = true;
  fill_unset(o);
  if (o->chart_path && o->skip_native)
    return usage_error(err, "--chart", "the chart plots ratios to native; drop --skip-native%s",
                       "");
  if (o->trace_items && !o->trace_path)
    return usage_error(err, "--trace-items", "needs --trace FILE%s", "");
  int rc = check_something_runs(o, err);
  /* Only the reporting process writes the files (rank 0 under an MPI launcher). */
  bool reports = bench_launcher_rank() <= 0;
  if (!rc && reports && o->json_path) rc = check_writable(err, "--json", o->json_path);
  if (!rc && reports && o->chart_path) rc = check_writable(err, "--chart", o->chart_path);
  if (!rc && reports && o->trace_path) rc = check_writable(err, "--trace", o->trace_path);
  if (!rc && reports && o->profile_json_path)
    rc = check_writable(err, "--profile-json", o->profile_json_path);
  return rc;
}

int bench_options_parse(int argc, char **argv, bench_options *o, FILE *out, FILE *err) {
  set_defaults(o);
  parse_state ps = {false, false, false, NULL};
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i], *value = NULL;
    char option[64];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      bench_print_help(out);
      return 1;
    }
    if (strncmp(arg, "--", 2) != 0) return usage_error(err, NULL, "unexpected argument '%s'", arg);
    /* --name=value or --name value */
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len >= sizeof option) return usage_error(err, NULL, "unknown option '%s'", arg);
    memcpy(option, arg, len);
    option[len] = '\0';
    if (take_flag(o, option)) {
      if (eq) return usage_error(err, option, "takes no value (got '%s')", eq + 1);
      continue;
    }
    if (!is_value_option(option)) return usage_error(err, NULL, "unknown option '%s'", option);
    if (eq)
      value = eq + 1;
    else if (i + 1 < argc)
      value = argv[++i];
    else
      return usage_error(err, option, "missing value%s", "");
    int rc = take_value(o, err, option, value, &ps);
    if (rc) return rc;
  }
  return finish_options(o, err, &ps);
}
