/*
 * Thread safety: 16 threads calling synapse_client_get_token at once on a cold
 * client make exactly one token request (server counters); then 16 threads mixing
 * cached get_token, request and verify on one client; then the cached hot path.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define THREADS 16

typedef struct {
  const synapse_client *client;
  pthread_barrier_t *barrier;
  synapse_result result;
  char token[4096];
  int mixed_failures;
} worker;

static void *cold_start(void *arg) {
  worker *w = arg;
  size_t n = 0;
  pthread_barrier_wait(w->barrier);
  w->result = synapse_client_get_token(w->client, w->token, sizeof w->token, &n, NULL);
  return NULL;
}

static void *mixed(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(w->barrier);
  for (int i = 0; i < 5; i++) {
    size_t n = 0;
    char token[4096], claims[8192];
    if (synapse_client_get_token(w->client, token, sizeof token, &n, NULL) != SYNAPSE_OK) w->mixed_failures++;
    synapse_response *resp = NULL;
    if (synapse_client_request(w->client, "GET", "/v1/models", NULL, 0, NULL, &resp) != SYNAPSE_OK ||
        synapse_response_status(resp) != 200)
      w->mixed_failures++;
    synapse_response_free(resp);
    if (synapse_client_verify(w->client, token, claims, sizeof claims, &n) != SYNAPSE_OK) w->mixed_failures++;
  }
  return NULL;
}

static void run_threads(worker *workers, void *(*fn)(void *), const synapse_client *client) {
  pthread_t threads[THREADS];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, THREADS);
  for (int i = 0; i < THREADS; i++) {
    memset(&workers[i], 0, sizeof workers[i]);
    workers[i].client = client;
    workers[i].barrier = &barrier;
    pthread_create(&threads[i], NULL, fn, &workers[i]);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&barrier);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void) {
  test_server server;
  if (server_start(&server) != 0) return 2;
  admin_reset(&server, 3600);
  /* Make the token request slow enough that every thread arrives while it is in flight. */
  cJSON_Delete(admin_call(&server, "POST", "/admin/faults", "{\"target\":\"token\",\"latency_ms\":100}"));

  synapse_config *cfg = server_config(&server);
  CHECK_RESULT(synapse_config_set_client_credentials(cfg, "synapse-dev-client",
                                                     server_client_secret(&server, "synapse-dev-client")),
               SYNAPSE_OK);
  CHECK_RESULT(synapse_config_set_scopes(cfg, "inference"), SYNAPSE_OK);
  synapse_client *client = NULL;
  CHECK_RESULT(synapse_client_new(cfg, &client), SYNAPSE_OK);
  synapse_config_free(cfg);
  if (client == NULL) return test_finish("test_threads");

  worker *workers = calloc(THREADS, sizeof *workers);
  run_threads(workers, cold_start, client);
  for (int i = 0; i < THREADS; i++) {
    CHECK(workers[i].result == SYNAPSE_OK, "thread %d: %s", i, synapse_result_name(workers[i].result));
    CHECK(strcmp(workers[i].token, workers[0].token) == 0, "thread %d got another token", i);
  }
  long total = -1, cc = -1;
  admin_counters(&server, &total, NULL, &cc);
  CHECK(total == 1 && cc == 1, "%d threads made %ld token requests", THREADS, total);
  synapse_stats stats;
  CHECK_RESULT(synapse_client_stats(client, &stats), SYNAPSE_OK);
  CHECK(stats.token_requests == 1, "client counted %llu token requests", (unsigned long long)stats.token_requests);

  cJSON_Delete(admin_call(&server, "DELETE", "/admin/faults", NULL));
  run_threads(workers, mixed, client);
  for (int i = 0; i < THREADS; i++) CHECK(workers[i].mixed_failures == 0, "thread %d: %d failures", i, workers[i].mixed_failures);
  admin_counters(&server, &total, NULL, NULL);
  CHECK(total == 1, "the mixed phase made %ld token requests in all", total);

  /* The cache-hit path: no token request, no runtime; report its cost. */
  char token[4096];
  size_t n = 0;
  const int calls = 20000;
  double start = now_s();
  for (int i = 0; i < calls; i++) {
    if (synapse_client_get_token(client, token, sizeof token, &n, NULL) != SYNAPSE_OK) {
      CHECK(false, "cached get_token failed: %s", last_error());
      break;
    }
  }
  double per_call_ns = (now_s() - start) / calls * 1e9;
  printf("cached synapse_client_get_token: %.0f ns per call\n", per_call_ns);
  admin_counters(&server, &total, NULL, NULL);
  CHECK(total == 1, "cached calls made token requests (%ld)", total);

  free(workers);
  synapse_client_free(client);
  server_stop(&server);
  return test_finish("test_threads");
}
