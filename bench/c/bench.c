/*
 * C rows of the benchmark suite (run by bench/run.sh; see bench/README.md).
 *
 *   bench_c BASE_URL CA_FILE CLIENT_ID CLIENT_SECRET MODE [N]
 *
 * MODE: cached     ns per synapse_client_get_token() hit, against a mutex-guarded
 *                  cache entry with an expiry check and a copy into the caller's buffer
 *       memory N   RSS per client over N idle clients, and over N/10 holding a token
 *       calls N    N get_token() hits (run under valgrind by run.sh)
 *       stampede N N threads released together, one get_token() each (cold, or with
 *                  "expiry" as the 7th argument: after the first token has expired)
 *       refresh    get_token() latency from 2 threads, steady and across a refresh
 *                  (the server's token TTL is 4 s and its token endpoint slowed)
 * Results are JSON lines starting with "@@ ". The server's admin API is driven by
 * run.sh between modes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "synapse_auth.h"

static const char *base_url, *ca_file, *client_id, *client_secret;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, synapse_result r) {
  char msg[512] = {0};
  size_t n = 0;
  synapse_last_error_message(msg, sizeof msg, &n);
  fprintf(stderr, "bench_c: %s failed: %s (%s)\n", what, synapse_result_name(r), msg);
  exit(1);
}

static struct synapse_client *new_client(void) {
  struct synapse_config *cfg = synapse_config_new();
  synapse_result r;
  if ((r = synapse_config_set_client_credentials(cfg, client_id, client_secret))) die("credentials", r);
  if ((r = synapse_config_set_base_url(cfg, base_url))) die("base_url", r);
  if ((r = synapse_config_set_scopes(cfg, "inference training"))) die("scopes", r);
  if ((r = synapse_config_set_ca_file(cfg, ca_file))) die("ca_file", r);
  struct synapse_client *client = NULL;
  if ((r = synapse_client_new(cfg, &client))) die("client_new", r);
  synapse_config_free(cfg);
  return client;
}

static char tokbuf[8192];

static int64_t get_token(const struct synapse_client *c, char *buf, size_t len) {
  size_t n = 0;
  int64_t exp = 0;
  synapse_result r = synapse_client_get_token(c, buf, len, &n, &exp);
  if (r) die("get_token", r);
  return exp;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---------------------------------------------------------------- cached */

struct entry {
  pthread_mutex_t lock;
  char token[4096];
  size_t len;
  int64_t expires_ms;
};

static int peer_get(struct entry *e, char *buf, size_t len) {
  struct timespec ts;
  pthread_mutex_lock(&e->lock);
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  int ok = now < e->expires_ms && e->len + 1 <= len;
  if (ok) memcpy(buf, e->token, e->len + 1);
  pthread_mutex_unlock(&e->lock);
  return ok;
}

static void mode_cached(void) {
  struct synapse_client *c = new_client();
  int64_t exp = get_token(c, tokbuf, sizeof tokbuf);
  static struct entry e = {.lock = PTHREAD_MUTEX_INITIALIZER};
  e.len = strlen(tokbuf);
  memcpy(e.token, tokbuf, e.len + 1);
  e.expires_ms = exp;
  static char out[8192];
  enum { ROUNDS = 15, N = 200000 };
  double ours[ROUNDS], peer[ROUNDS], ratio[ROUNDS];
  for (int i = 0; i < N; i++) get_token(c, out, sizeof out); /* warm */
  for (int r = 0; r < ROUNDS; r++) {
    for (int side = 0; side < 2; side++) {
      int which = (r % 2) ? 1 - side : side;
      uint64_t t0 = now_ns();
      if (which == 0)
        for (int i = 0; i < N; i++) get_token(c, out, sizeof out);
      else
        for (int i = 0; i < N; i++)
          if (!peer_get(&e, out, sizeof out)) die("peer", 0);
      double ns = (double)(now_ns() - t0) / N;
      if (which == 0) ours[r] = ns; else peer[r] = ns;
    }
    ratio[r] = ours[r] / peer[r];
  }
  printf("@@ {\"id\":\"c_cached_get_token\",\"ours_ns\":%.1f,\"peer_ns\":%.1f,\"ratio\":%.3f,\"token_bytes\":%zu,\"rounds\":%d}\n",
         median(ours, ROUNDS), median(peer, ROUNDS), median(ratio, ROUNDS), e.len, ROUNDS);
  synapse_client_free(c);
}

/* ---------------------------------------------------------------- memory */

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void mode_memory(int n) {
  /* One client first, so the runtime, TLS provider and root store are counted once. */
  struct synapse_client *first = new_client();
  get_token(first, tokbuf, sizeof tokbuf);
  long base = rss_kb();
  struct synapse_client **clients = calloc((size_t)n, sizeof *clients);
  uint64_t t0 = now_ns();
  for (int i = 0; i < n; i++) clients[i] = new_client();
  double create_us = (double)(now_ns() - t0) / n / 1000;
  long idle = rss_kb();
  int with_token = n / 10;
  for (int i = 0; i < with_token; i++) get_token(clients[i], tokbuf, sizeof tokbuf);
  long tokens = rss_kb();
  for (int i = 0; i < n; i++) synapse_client_free(clients[i]);
  long freed = rss_kb();
  free(clients);
  synapse_client_free(first);
  printf("@@ {\"id\":\"c_memory_per_client\",\"clients\":%d,\"rss_base_kb\":%ld,\"rss_idle_kb\":%ld,"
         "\"idle_kb_per_client\":%.2f,\"with_token\":%d,\"token_kb_per_client\":%.2f,\"rss_after_free_kb\":%ld,"
         "\"create_us\":%.1f}\n",
         n, base, idle, (double)(idle - base) / n, with_token,
         with_token ? (double)(tokens - idle) / with_token : 0.0, freed, create_us);
}

/* ---------------------------------------------------------------- calls (valgrind) */

static void mode_calls(long n) {
  struct synapse_client *c = new_client();
  get_token(c, tokbuf, sizeof tokbuf);
  uint64_t t0 = now_ns();
  for (long i = 0; i < n; i++) get_token(c, tokbuf, sizeof tokbuf);
  double ns = (double)(now_ns() - t0) / (double)n;
  struct synapse_stats st;
  synapse_client_stats(c, &st);
  printf("@@ {\"id\":\"c_calls\",\"calls\":%ld,\"ns_per_call\":%.1f,\"token_requests\":%llu}\n", n, ns,
         (unsigned long long)st.token_requests);
  synapse_client_free(c);
}

/* ---------------------------------------------------------------- stampede */

struct caller {
  const struct synapse_client *client;
  pthread_barrier_t *barrier;
  double ms;
  int failed;
};

static void *caller_main(void *arg) {
  struct caller *me = arg;
  char buf[4096];
  size_t n;
  pthread_barrier_wait(me->barrier);
  uint64_t t0 = now_ns();
  me->failed = synapse_client_get_token(me->client, buf, sizeof buf, &n, NULL) != SYNAPSE_OK;
  me->ms = (double)(now_ns() - t0) / 1e6;
  return NULL;
}

static void mode_stampede(int n, int expiry) {
  struct synapse_client *c = new_client();
  if (expiry) {
    int64_t exp = get_token(c, tokbuf, sizeof tokbuf);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (exp > now) usleep((useconds_t)(exp - now + 30) * 1000);
  }
  printf("@@ {\"id\":\"c_stampede_ready\"}\n");
  fflush(stdout);
  /* run.sh sets the 50 ms latency and reads the counters around this wait. */
  char line[16];
  if (!fgets(line, sizeof line, stdin)) exit(1);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)n);
  struct caller *callers = calloc((size_t)n, sizeof *callers);
  pthread_t *threads = calloc((size_t)n, sizeof *threads);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (int i = 0; i < n; i++) {
    callers[i] = (struct caller){.client = c, .barrier = &barrier};
    if (pthread_create(&threads[i], &attr, caller_main, &callers[i])) die("pthread_create", 0);
  }
  int failed = 0;
  double *lat = calloc((size_t)n, sizeof *lat);
  for (int i = 0; i < n; i++) {
    pthread_join(threads[i], NULL);
    lat[i] = callers[i].ms;
    failed += callers[i].failed;
  }
  qsort(lat, (size_t)n, sizeof *lat, cmp_double);
  int p99 = (int)((0.99 * n) + 0.999999) - 1;
  printf("@@ {\"id\":\"c_stampede_%s\",\"callers\":%d,\"failed\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
         expiry ? "expiry" : "cold", n, failed, lat[(n + 1) / 2 - 1], lat[p99], lat[n - 1]);
  free(lat);
  free(callers);
  free(threads);
  synapse_client_free(c);
}

/* ---------------------------------------------------------------- refresh window */

#define HBUCKETS 1000000
struct hist {
  uint32_t *counts;
  uint64_t n, max, over;
};
struct rw_arg {
  const struct synapse_client *client;
  volatile int *stop;
  struct hist h;
};

static void *rw_main(void *arg) {
  struct rw_arg *a = arg;
  char buf[4096];
  size_t n;
  while (!*a->stop) {
    uint64_t t0 = now_ns();
    synapse_client_get_token(a->client, buf, sizeof buf, &n, NULL);
    uint64_t ns = now_ns() - t0;
    a->h.n++;
    if (ns > a->h.max) a->h.max = ns;
    if (ns < HBUCKETS) a->h.counts[ns]++; else a->h.over++;
  }
  return NULL;
}

static uint64_t hq(const struct hist *h, double p) {
  uint64_t rank = (uint64_t)(p * (double)h->n + 0.999999), seen = 0;
  for (uint64_t i = 0; i < HBUCKETS; i++)
    if ((seen += h->counts[i]) >= rank) return i;
  return h->max;
}

static struct hist measure(const struct synapse_client *c, uint64_t until) {
  volatile int stop = 0;
  struct rw_arg args[2];
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    args[i] = (struct rw_arg){.client = c, .stop = &stop};
    args[i].h.counts = calloc(HBUCKETS, sizeof(uint32_t));
    pthread_create(&t[i], NULL, rw_main, &args[i]);
  }
  uint64_t now = now_ns();
  if (until > now) usleep((useconds_t)((until - now) / 1000));
  stop = 1;
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  struct hist all = args[0].h;
  for (uint64_t i = 0; i < HBUCKETS; i++) all.counts[i] += args[1].h.counts[i];
  all.n += args[1].h.n;
  all.over += args[1].h.over;
  if (args[1].h.max > all.max) all.max = args[1].h.max;
  free(args[1].h.counts);
  return all;
}

static void mode_refresh(void) {
  struct synapse_client *c = new_client();
  int64_t exp = get_token(c, tokbuf, sizeof tokbuf);
  uint64_t issued = now_ns();
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t left_ms = exp - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
  char first[4096];
  strcpy(first, tokbuf);
  struct hist steady = measure(c, issued + 1000000000ull);
  struct synapse_stats s0, s1;
  synapse_client_stats(c, &s0);
  usleep(200000);
  struct hist win = measure(c, issued + (uint64_t)(left_ms + 300) * 1000000ull);
  synapse_client_stats(c, &s1);
  get_token(c, tokbuf, sizeof tokbuf);
  printf("@@ {\"id\":\"c_refresh_window\",\"steady_calls\":%llu,\"window_calls\":%llu,\"steady_p50_ns\":%llu,"
         "\"steady_p99_ns\":%llu,\"steady_max_ns\":%llu,\"window_p50_ns\":%llu,\"window_p99_ns\":%llu,"
         "\"window_max_ns\":%llu,\"window_calls_over_1ms\":%llu,\"steady_calls_over_1ms\":%llu,"
         "\"cache_misses\":%llu,\"background_refreshes\":%llu,\"token_replaced\":%s}\n",
         (unsigned long long)steady.n, (unsigned long long)win.n, (unsigned long long)hq(&steady, 0.5),
         (unsigned long long)hq(&steady, 0.99), (unsigned long long)steady.max, (unsigned long long)hq(&win, 0.5),
         (unsigned long long)hq(&win, 0.99), (unsigned long long)win.max, (unsigned long long)win.over,
         (unsigned long long)steady.over, (unsigned long long)(s1.cache_misses - s0.cache_misses),
         (unsigned long long)(s1.background_refreshes - s0.background_refreshes),
         strcmp(first, tokbuf) ? "true" : "false");
  free(steady.counts);
  free(win.counts);
  synapse_client_free(c);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s BASE_URL CA_FILE CLIENT_ID CLIENT_SECRET MODE [N] [expiry]\n", argv[0]);
    return 2;
  }
  base_url = argv[1];
  ca_file = argv[2];
  client_id = argv[3];
  client_secret = argv[4];
  const char *mode = argv[5];
  long n = argc > 6 ? atol(argv[6]) : 0;
  if (!strcmp(mode, "cached")) mode_cached();
  else if (!strcmp(mode, "memory")) mode_memory(n ? (int)n : 10000);
  else if (!strcmp(mode, "calls")) mode_calls(n ? n : 1000000);
  else if (!strcmp(mode, "stampede")) mode_stampede(n ? (int)n : 1000, argc > 7 && !strcmp(argv[7], "expiry"));
  else if (!strcmp(mode, "refresh")) mode_refresh();
  else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
