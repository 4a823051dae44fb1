/* Reports of `hypernodes bench`: a table per scenario, the JSON file, the SVG chart. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- tables ---------------------------------------------------------------- */

void bench_print_header(const bench_options *o, FILE *out) {
  fprintf(out, "hypernodes bench: scale %s, %lld items, %d repeat%s after %d warm-up%s\n", o->scale,
          (long long)o->items, o->repeats, o->repeats == 1 ? "" : "s", o->warmup,
          o->warmup == 1 ? "" : "s");
}

void bench_print_scenario(const bench_scenario_result *sr, const bench_report *r, FILE *out) {
  const bench_scenario *s = sr->scenario;
  bool overhead = s->calls_per_item > 0;
  fprintf(out, "\n%s: %lld items, %d worker thread%s; times in us (median of %d)\n", s->name,
          (long long)sr->n_items, r->threads, r->threads == 1 ? "" : "s", r->repeats);
  fprintf(out, "  %-26s %10s %10s %10s %10s%s  %s\n", "engine", "median", "min", "max", "vs native",
          overhead ? "  ns/call" : "", "check");
  for (int i = 0; i < sr->n_metrics; i++) {
    const bench_metric *m = &sr->metrics[i];
    if (!m->available) {
      fprintf(out, "  %-26s %s: %s\n", m->key, m->failed ? "FAILED" : "unavailable", m->reason);
      continue;
    }
    char ratio[32] = "-", ns[32] = "-";
    if (m->has_ratio) snprintf(ratio, sizeof ratio, "%.2fx", m->ratio);
    if (m->has_ns_per_call) snprintf(ns, sizeof ns, "%.2f", m->ns_per_call);
    fprintf(out, "  %-26s %10.1f %10.1f %10.1f %10s", m->key, m->median * 1e6, m->best * 1e6,
            m->worst * 1e6, ratio);
    if (overhead) fprintf(out, " %8s", m->native ? "-" : ns);
    fprintf(out, "  %s\n", m->matches ? "ok" : "MISMATCH");
  }
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

/* A number, or null when it is not finite: the file never holds NaN or Infinity. */
static void json_number(FILE *f, double v) {
  if (isfinite(v))
    fprintf(f, "%.9g", v);
  else
    fputs("null", f);
}

static void json_metric(FILE *f, const bench_scenario *s, const bench_metric *m) {
  fprintf(f, "        ");
  json_string(f, m->key);
  fprintf(f, ": {\"available\": %s", m->available ? "true" : "false");
  if (!m->available) {
    fprintf(f, ", \"reason\": ");
    json_string(f, m->reason);
    fprintf(f, "}");
    return;
  }
  fprintf(f, ", \"durations_s\": [");
  for (int i = 0; i < m->n; i++) {
    if (i) fprintf(f, ", ");
    json_number(f, m->durations[i]);
  }
  fprintf(f, "], \"median_s\": ");
  json_number(f, m->median);
  fprintf(f, ", \"best_s\": ");
  json_number(f, m->best);
  fprintf(f, ", \"ratio_to_native\": ");
  json_number(f, m->has_ratio ? m->ratio : NAN);
  fprintf(f, ", \"matches_native\": %s", m->matches ? "true" : "false");
  if (!m->matches) {
    fprintf(f, ", \"mismatch\": ");
    json_string(f, m->mismatch);
  }
  if (s->calls_per_item > 0 && !m->native) {
    fprintf(f, ", \"ns_per_node_call\": ");
    json_number(f, m->has_ns_per_call ? m->ns_per_call : NAN);
  }
  fprintf(f, "}");
}

int bench_write_json(const bench_report *r, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "hypernodes bench: --json: cannot write '%s': %s\n", path, strerror(errno));
    return 1;
  }
  fprintf(f, "{\n  \"version\": 1,\n  \"scale\": ");
  json_string(f, r->scale);
  fprintf(f, ",\n  \"items\": %lld,\n  \"threads\": %d,\n  \"results\": [", (long long)r->items,
          r->threads);
  for (int i = 0; i < r->n_results; i++) {
    const bench_scenario_result *sr = &r->results[i];
    fprintf(f, "%s\n    {\"scenario\": ", i ? "," : "");
    json_string(f, sr->scenario->name);
    fprintf(f, ", \"n_items\": %lld, \"metrics\": {", (long long)sr->n_items);
    for (int j = 0; j < sr->n_metrics; j++) {
      fprintf(f, "%s\n", j ? "," : "");
      json_metric(f, sr->scenario, &sr->metrics[j]);
    }
    fprintf(f, "\n      }}");
  }
  fprintf(f, "\n  ]\n}\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "hypernodes bench: --json: error writing '%s': %s\n", path, strerror(errno));
    return 1;
  }
  return 0;
}

/* ---- SVG chart ------------------------------------------------------------- */

enum { CHART_W = 900, LABEL_W = 230, RIGHT_PAD = 70, ROW_H = 18, GROUP_H = 28, TOP = 50 };

int bench_write_chart(const bench_report *r, const char *path) {
  /* Log-scale axis over every available ratio, widened to whole powers of ten. */
  double lo = INFINITY, hi = -INFINITY;
  int rows = 0;
  for (int i = 0; i < r->n_results; i++)
    for (int j = 0; j < r->results[i].n_metrics; j++) {
      const bench_metric *m = &r->results[i].metrics[j];
      if (!m->has_ratio || !(m->ratio > 0)) continue;
      lo = fmin(lo, m->ratio);
      hi = fmax(hi, m->ratio);
      rows++;
    }
  if (rows == 0) lo = hi = 1;
  double e_lo = floor(log10(fmin(lo, 1.0))), e_hi = ceil(log10(fmax(hi, 1.0)));
  if (e_hi <= e_lo) e_hi = e_lo + 1;
  double plot_w = CHART_W - LABEL_W - RIGHT_PAD;
#define XPOS(v) (LABEL_W + plot_w * (log10(v) - e_lo) / (e_hi - e_lo))
  int height = TOP + r->n_results * GROUP_H + rows * ROW_H + 30;

  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "hypernodes bench: --chart: cannot write '%s': %s\n", path, strerror(errno));
    return 1;
  }
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">hypernodes bench: "
          "median time / native per-item loop (log scale; lower is faster)</text>\n"
          "<text x=\"10\" y=\"38\" fill=\"#555\">scale %s, %lld items, %d threads, median of %d"
          "</text>\n",
          CHART_W, height, r->scale, (long long)r->items, r->threads, r->repeats);
  for (double e = e_lo; e <= e_hi; e++) {
    double x = XPOS(pow(10, e));
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%gx</text>\n",
            x, TOP, x, height - 25, x, height - 10, pow(10, e));
  }
  double one = XPOS(1.0);
  fprintf(f,
          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\" "
          "stroke-dasharray=\"4 3\"/>\n",
          one, TOP, one, height - 25);
  int y = TOP;
  for (int i = 0; i < r->n_results; i++) {
    const bench_scenario_result *sr = &r->results[i];
    fprintf(f, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s (%lld items)</text>\n", y + 18,
            sr->scenario->name, (long long)sr->n_items);
    y += GROUP_H;
    for (int j = 0; j < sr->n_metrics; j++) {
      const bench_metric *m = &sr->metrics[j];
      if (!m->has_ratio || !(m->ratio > 0)) continue;
      double x0 = XPOS(pow(10, e_lo)), x1 = XPOS(m->ratio);
      const char *color = m->native ? "#8c8c8c" : (m->matches ? "#3b6fb6" : "#c0392b");
      fprintf(f,
              "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n"
              "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n"
              "<text x=\"%.1f\" y=\"%d\">%.2fx</text>\n",
              LABEL_W - 8, y + 13, m->key, x0, y + 3, x1 - x0 > 1 ? x1 - x0 : 1, ROW_H - 5, color,
              x1 + 4, y + 13, m->ratio);
      y += ROW_H;
    }
  }
#undef XPOS
  fprintf(f, "</svg>\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "hypernodes bench: --chart: error writing '%s': %s\n", path, strerror(errno));
    return 1;
  }
  return 0;
}
