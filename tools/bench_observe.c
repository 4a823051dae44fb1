/*
 * The observers of `hypernodes bench`: --progress, --profile,
 * --profile-json and --trace, chained into one set of callbacks given to
 * every run (timed and warm-up alike, so the times include their cost:
 * docs/benchmarks.md measures the progress bar's this way).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct bench_observers {
  hn_progress *progress;
  hn_profile *profile;
  hn_trace *trace;
  hn_callback_chain *chain;
  hn_callbacks cb;
  bool print_profile;
  const char *trace_path, *profile_json_path;
  char *json; /* the scenarios' profiles for --profile-json */
  size_t json_len, json_cap;
  int n_json;
};

static int failed(const char *what, const hn_error *err) {
  fprintf(stderr, "hypernodes bench: %s: %s\n", what, err->message);
  return 1;
}

static int add(bench_observers *obs, const hn_callbacks *cb, hn_error *err) {
  return hn_callback_chain_add(obs->chain, cb, err) == HN_OK ? 0 : failed("observers", err);
}

int bench_observers_create(const bench_options *o, bench_observers **out) {
  *out = NULL;
  if (!o->progress && !o->profile && !o->profile_json_path && !o->trace_path) return 0;
  bench_observers *obs = calloc(1, sizeof *obs);
  if (!obs) return 1;
  *out = obs;
  obs->print_profile = o->profile;
  obs->trace_path = o->trace_path;
  obs->profile_json_path = o->profile_json_path;
  hn_error err;
  hn_error_reset(&err);
  if (hn_callback_chain_create(NULL, &obs->chain, &err) != HN_OK) return failed("observers", &err);
  hn_callbacks cb;
  if (o->progress) {
    if (hn_progress_create(NULL, NULL, &obs->progress, &err) != HN_OK)
      return failed("--progress", &err);
    hn_progress_get_callbacks(obs->progress, &cb, sizeof cb);
    if (add(obs, &cb, &err)) return 1;
  }
  if (o->profile || o->profile_json_path) {
    if (hn_profile_create(NULL, &obs->profile, &err) != HN_OK) return failed("--profile", &err);
    hn_profile_get_callbacks(obs->profile, &cb, sizeof cb);
    if (add(obs, &cb, &err)) return 1;
  }
  if (o->trace_path) {
    hn_trace_options to = {.size = sizeof to, .items = o->trace_items};
    if (hn_trace_create(NULL, &to, &obs->trace, &err) != HN_OK) return failed("--trace", &err);
    hn_trace_get_callbacks(obs->trace, &cb, sizeof cb);
    if (add(obs, &cb, &err)) return 1;
  }
  hn_callback_chain_get_callbacks(obs->chain, &obs->cb, sizeof obs->cb);
  return 0;
}

const hn_callbacks *bench_observers_callbacks(const bench_observers *obs) {
  return obs ? &obs->cb : NULL;
}

static size_t to_json(void *ud, const char *data, size_t n) {
  bench_observers *obs = ud;
  if (obs->json_len + n + 1 > obs->json_cap) {
    size_t cap = obs->json_cap ? obs->json_cap : 4096;
    while (cap < obs->json_len + n + 1) cap *= 2;
    obs->json = bench_xrealloc(obs->json, cap);
    obs->json_cap = cap;
  }
  memcpy(obs->json + obs->json_len, data, n);
  obs->json_len += n;
  obs->json[obs->json_len] = '\0';
  return n;
}

void bench_observers_scenario_done(bench_observers *obs, const char *scenario, FILE *out) {
  if (!obs || !obs->profile) return;
  hn_error err;
  hn_error_reset(&err);
  if (!out) { /* a serving rank: nothing to report */
    hn_profile_reset(obs->profile);
    return;
  }
  if (obs->print_profile) {
    fprintf(out, "\n%s: ", scenario);
    if (hn_profile_write(obs->profile, HN_PROFILE_TEXT, hn_write_stdio, out, &err) != HN_OK)
      failed("--profile", &err);
    fflush(out);
  }
  if (obs->profile_json_path) {
    char head[160];
    snprintf(head, sizeof head,
             "%s\n  {\"scenario\": \"%s\", \"profile\": ", obs->n_json++ ? "," : "", scenario);
    to_json(obs, head, strlen(head));
    if (hn_profile_write(obs->profile, HN_PROFILE_JSON, to_json, obs, &err) != HN_OK)
      failed("--profile-json", &err);
    to_json(obs, "  }", 3);
  }
  hn_profile_reset(obs->profile);
}

static int write_profile_json(bench_observers *obs) {
  FILE *f = fopen(obs->profile_json_path, "w");
  if (!f) {
    fprintf(stderr, "hypernodes bench: --profile-json: cannot write '%s'\n",
            obs->profile_json_path);
    return 1;
  }
  fprintf(f, "{\"version\": 1, \"scenarios\": [%s\n]}\n", obs->json ? obs->json : "");
  return fclose(f) == 0 ? 0 : 1;
}

int bench_observers_finish(bench_observers *obs, bool report) {
  if (!obs) return 0;
  int bad = 0;
  hn_error err;
  hn_error_reset(&err);
  if (report && obs->trace) {
    if (hn_trace_write_file(obs->trace, obs->trace_path, &err) != HN_OK)
      bad = failed("--trace", &err);
    else if (hn_trace_num_dropped(obs->trace) > 0)
      fprintf(stderr, "hypernodes bench: --trace: %lld events past the first %lld were dropped\n",
              (long long)hn_trace_num_dropped(obs->trace),
              (long long)hn_trace_num_events(obs->trace));
  }
  if (report && obs->profile_json_path) bad |= write_profile_json(obs);
  hn_callback_chain_destroy(obs->chain);
  hn_progress_destroy(obs->progress);
  hn_profile_destroy(obs->profile);
  hn_trace_destroy(obs->trace);
  free(obs->json);
  free(obs);
  return bad;
}
