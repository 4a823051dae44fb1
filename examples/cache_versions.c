/*
 * The cache, worked through (docs/cache.md): a three-node pipeline mapped
 * three times over the same texts with one cache directory. The first map
 * computes everything, the second finds everything, the third runs after
 * `shout`'s version changed: `shout` and `measure` (downstream of it) run
 * again, `clean` is found. Prints what each node found and computed, and
 * exits non-zero when that is not what docs/cache.md says.
 *
 * Usage: example_cache_versions [cache-dir]   (default: a new directory
 * under /tmp, removed at the end)
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypernodes/hypernodes.h"

/* clean: trimmed. shout: upper-cased, with "!". measure: its length. */
static hn_status clean(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  const char *s = in[0].v.str.data;
  int64_t lo = 0, hi = in[0].v.str.size;
  while (lo < hi && s[lo] == ' ') lo++;
  while (hi > lo && s[hi - 1] == ' ') hi--;
  return hn_builder_append_str(out[0], s + lo, hi - lo);
}

static hn_status shout(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  int64_t n = in[0].v.str.size;
  char *buf = hn_arena_alloc(hn_ctx_arena(ctx), (size_t)n + 1, 1);
  if (!buf) return hn_ctx_fail(ctx, "out of scratch memory");
  for (int64_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)in[0].v.str.data[i]);
  buf[n] = '!';
  return hn_builder_append_str(out[0], buf, n + 1);
}

static hn_status measure(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.str.size);
}

/* What the cache said about each node during one call. */
typedef struct tally {
  char node[3][16];
  int64_t found[3], computed[3];
} tally;

static int slot(tally *t, const char *node) {
  for (int k = 0; k < 3; k++) {
    if (!t->node[k][0]) snprintf(t->node[k], sizeof t->node[k], "%s", node);
    if (strcmp(t->node[k], node) == 0) return k;
  }
  return 0;
}
static void on_hit(void *ud, const hn_event *ev) {
  tally *t = ud;
  t->found[slot(t, ev->node)] += ev->n_rows;
}
static void on_miss(void *ud, const hn_event *ev) {
  tally *t = ud;
  t->computed[slot(t, ev->node)] += ev->n_rows;
}

static hn_pipeline *make(const char *shout_version, hn_error *err) {
  hn_pipeline *p = NULL;
  const hn_node_spec nodes[] = {
      HN_NODE("clean", "text: utf8", "cleaned: utf8", clean),
      {.name = "shout",
       .inputs = "cleaned",
       .outputs = "loud: utf8",
       .row = shout,
       .version = shout_version},
      HN_NODE("measure", "loud", "length: int64", measure),
  };
  if (hn_pipeline_create(NULL, "shouting", &p, err) != HN_OK) return NULL;
  if (hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), err) != HN_OK) {
    hn_pipeline_release(p);
    return NULL;
  }
  return p;
}

/* Map p over the texts with the cache; print and check what each node found and computed. */
static int map(hn_pipeline *p, hn_inputs *in, hn_cache *cache, const char *title,
               const int64_t want_found[3]) {
  tally t;
  memset(&t, 0, sizeof t);
  for (int k = 0; k < 3; k++) /* printed in pipeline order (events come consumers first) */
    snprintf(t.node[k], sizeof t.node[k], "%s", hn_pipeline_execution_order(p, k));
  hn_callbacks cb = {
      .size = sizeof cb, .user_data = &t, .on_cache_hit = on_hit, .on_cache_miss = on_miss};
  hn_run_options o = {.size = sizeof o, .map_over_spec = "text", .callbacks = &cb, .cache = cache};
  hn_result *r = NULL;
  hn_error err;
  if (hn_pipeline_map(p, NULL, in, &o, &r, &err) != HN_OK) {
    fprintf(stderr, "map failed: %s\n", err.message);
    return 1;
  }
  hn_result_stats s;
  hn_result_get_stats(r, &s, sizeof s);
  printf("%s\n", title);
  int bad = 0;
  for (int k = 0; k < 3; k++) {
    printf("  %-8s %lld found, %lld computed\n", t.node[k], (long long)t.found[k],
           (long long)t.computed[k]);
    bad |= t.found[k] != want_found[k] || t.found[k] + t.computed[k] != s.n_items;
  }
  printf("  (%lld bytes read, %lld written)\n", (long long)s.cache_bytes_read,
         (long long)s.cache_bytes_written);
  hn_result_destroy(r);
  return bad;
}

int main(int argc, char **argv) {
  char tmp[64] = "/tmp/hn_cache_example_XXXXXX";
  const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
  hn_error err;
  hn_cache *cache = NULL;
  if (!dir || hn_cache_open(NULL, dir, NULL, &cache, &err) != HN_OK) {
    fprintf(stderr, "cannot open the cache: %s\n", dir ? err.message : "no directory");
    return 1;
  }
  const char *texts[] = {"  hello ", "cache  ", " first", "pipelines"};
  hn_inputs *in = NULL;
  hn_pipeline *v1 = make("1", &err), *v2 = make("2", &err);
  int bad = !v1 || !v2 || hn_inputs_create(NULL, &in, &err) != HN_OK ||
            hn_inputs_set_strings(in, "text", 4, texts, &err) != HN_OK;
  if (!bad) {
    bad |= map(v1, in, cache, "first map (an empty cache):", (const int64_t[]){0, 0, 0});
    bad |= map(v1, in, cache, "second map:", (const int64_t[]){4, 4, 4});
    bad |=
        map(v2, in, cache, "after shout's version went from 1 to 2:", (const int64_t[]){4, 0, 0});
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(v1);
  hn_pipeline_release(v2);
  hn_cache_close(cache);
  if (argc <= 1) { /* our own directory: remove it */
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
  }
  if (bad) fprintf(stderr, "example_cache_versions: not what docs/cache.md says\n");
  return bad;
}
