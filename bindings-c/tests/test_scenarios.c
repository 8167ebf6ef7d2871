/*
 * Runs every shared scenario of tests/scenarios/scenarios.json (read at run time,
 * never copied) against the reference server through the C API.
 *
 *   test_scenarios [scenarios.json]      SYNAPSE_SCENARIO=<name> runs only that one.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define TOKEN_MAX 8192

typedef struct {
  const test_server *server;
  const char *name;
  int step;
  int failures;
  synapse_client *client;
  char current[TOKEN_MAX];    /* the last token obtained */
  char remembered[TOKEN_MAX]; /* saved by remember_token */
  bool have_current;
} run_state;

static void fail(run_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(run_state *st, const char *fmt, ...) {
  va_list ap;
  st->failures++;
  fprintf(stderr, "  [%s] step %d: ", st->name, st->step);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static const char *str_field(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool num_field(const cJSON *obj, const char *key, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v)) return false;
  *out = v->valuedouble;
  return true;
}

static bool expects_ok(const cJSON *expect) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "ok"));
}

/* Checks an error expectation {"error": code, "status"?, "retry_after_min"?} against
 * a result and this thread's last error. Returns true when it holds. */
static bool error_matches(run_state *st, const cJSON *expect, synapse_result r, const char *what) {
  const char *code = str_field(expect, "error");
  if (code == NULL) return false;
  if (r == SYNAPSE_OK) {
    fail(st, "%s succeeded; expected error %s", what, code);
    return false;
  }
  bool ok = true;
  if (strcmp(synapse_result_name(r), code) != 0) {
    fail(st, "%s: got %s, expected %s (%s)", what, synapse_result_name(r), code, last_error());
    ok = false;
  }
  double status;
  if (num_field(expect, "status", &status) && synapse_last_error_status() != (uint16_t)status) {
    fail(st, "%s: error status %u, expected %.0f", what, synapse_last_error_status(), status);
    ok = false;
  }
  double min_secs;
  if (num_field(expect, "retry_after_min", &min_secs) &&
      synapse_last_error_retry_after_ms() < (int64_t)(min_secs * 1000.0)) {
    fail(st, "%s: retry_after %lld ms, expected at least %.0f s", what,
         (long long)synapse_last_error_retry_after_ms(), min_secs);
    ok = false;
  }
  return ok;
}

static void step_get_token(run_state *st, const cJSON *step) {
  const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");
  char token[TOKEN_MAX];
  size_t n = 0;
  int64_t expires_at = 0;
  synapse_result r = synapse_client_get_token(st->client, token, sizeof token, &n, &expires_at);
  if (!expects_ok(expect)) {
    error_matches(st, expect, r, "get_token");
    return;
  }
  if (r != SYNAPSE_OK) {
    fail(st, "get_token failed: %s", last_error());
    return;
  }
  if (n != strlen(token) || n == 0) fail(st, "get_token: out_len %zu, strlen %zu", n, strlen(token));
  if (expires_at <= (int64_t)time(NULL) * 1000) fail(st, "get_token: expiry %lld is not in the future", (long long)expires_at);
  const cJSON *same = cJSON_GetObjectItemCaseSensitive(expect, "same_token");
  if (cJSON_IsBool(same)) {
    bool equal = st->have_current && strcmp(st->current, token) == 0;
    if (equal != (bool)cJSON_IsTrue(same))
      fail(st, "get_token: same_token is %s, expected %s", equal ? "true" : "false", cJSON_IsTrue(same) ? "true" : "false");
  }
  const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(expect, "scopes_include");
  if (cJSON_IsArray(scopes)) {
    /* The token handle tells the granted scopes; it is the same cached token. */
    synapse_token *info = NULL;
    synapse_result ir = synapse_client_token(st->client, NULL, &info);
    if (ir != SYNAPSE_OK) {
      fail(st, "synapse_client_token failed: %s", last_error());
    } else {
      if (strcmp(synapse_token_value(info), token) != 0) fail(st, "synapse_client_token gave another token");
      char granted[1024];
      snprintf(granted, sizeof granted, " %s ", synapse_token_scopes(info));
      const cJSON *s;
      cJSON_ArrayForEach(s, scopes) {
        char needle[256];
        snprintf(needle, sizeof needle, " %s ", s->valuestring);
        if (strstr(granted, needle) == NULL) fail(st, "scope %s not granted (granted:%s)", s->valuestring, granted);
      }
      synapse_token_free(info);
    }
  }
  memcpy(st->current, token, n + 1);
  st->have_current = true;
}

typedef struct {
  synapse_client *client;
  pthread_barrier_t *barrier;
  synapse_result result;
  char code_name[64];
  char token[TOKEN_MAX];
} worker;

static void *concurrent_worker(void *arg) {
  worker *w = arg;
  size_t n = 0;
  pthread_barrier_wait(w->barrier);
  w->result = synapse_client_get_token(w->client, w->token, sizeof w->token, &n, NULL);
  snprintf(w->code_name, sizeof w->code_name, "%s", synapse_result_name(w->result));
  return NULL;
}

static void step_concurrent(run_state *st, const cJSON *step) {
  const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");
  double count_d = 0;
  num_field(step, "count", &count_d);
  int count = (int)count_d;
  worker *workers = calloc((size_t)count, sizeof *workers);
  pthread_t *threads = calloc((size_t)count, sizeof *threads);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)count);
  for (int i = 0; i < count; i++) {
    workers[i].client = st->client;
    workers[i].barrier = &barrier;
    pthread_create(&threads[i], NULL, concurrent_worker, &workers[i]);
  }
  for (int i = 0; i < count; i++) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&barrier);
  int bad = 0;
  for (int i = 0; i < count; i++) {
    if (expects_ok(expect)) {
      if (workers[i].result != SYNAPSE_OK) bad++;
      else if (strcmp(workers[i].token, workers[0].token) != 0) bad++;
    } else {
      const char *code = str_field(expect, "error");
      if (code == NULL || strcmp(workers[i].code_name, code) != 0) bad++;
    }
  }
  if (bad > 0) fail(st, "concurrent_get_token: %d of %d callers did not meet the expectation", bad, count);
  free(workers);
  free(threads);
}

static void step_request(run_state *st, const cJSON *step) {
  const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");
  const char *method = str_field(step, "method");
  const char *path = str_field(step, "path");
  const cJSON *json = cJSON_GetObjectItemCaseSensitive(step, "json");
  char *body = json != NULL ? cJSON_PrintUnformatted(json) : NULL;
  synapse_response *resp = NULL;
  synapse_result r = synapse_client_request(st->client, method, path, (const uint8_t *)body,
                                            body != NULL ? strlen(body) : 0,
                                            body != NULL ? "application/json" : NULL, &resp);
  double status;
  if (str_field(expect, "error") != NULL) {
    error_matches(st, expect, r, "request");
  } else if (r != SYNAPSE_OK) {
    fail(st, "request %s %s failed: %s", method, path, last_error());
  } else if (num_field(expect, "status", &status) && synapse_response_status(resp) != (uint16_t)status) {
    fail(st, "request %s %s: status %u, expected %.0f", method, path, synapse_response_status(resp), status);
  }
  synapse_response_free(resp);
  cJSON_free(body);
}

static void step_verify(run_state *st, const cJSON *step) {
  const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");
  const char *which = str_field(step, "token");
  const char *jwt = which;
  if (which != NULL && strcmp(which, "$current") == 0) jwt = st->current;
  else if (which != NULL && strcmp(which, "$remembered") == 0) jwt = st->remembered;
  char claims[16384];
  size_t n = 0;
  synapse_result r = synapse_client_verify(st->client, jwt, claims, sizeof claims, &n);
  if (!expects_ok(expect)) {
    error_matches(st, expect, r, "verify");
    return;
  }
  if (r != SYNAPSE_OK) {
    fail(st, "verify %s failed: %s", which, last_error());
    return;
  }
  cJSON *parsed = cJSON_Parse(claims);
  if (parsed == NULL) fail(st, "verify: the claims are not JSON");
  const char *sub = str_field(expect, "sub");
  if (sub != NULL) {
    const char *got = str_field(parsed, "sub");
    if (got == NULL || strcmp(got, sub) != 0) fail(st, "verify: sub %s, expected %s", got ? got : "(none)", sub);
  }
  cJSON_Delete(parsed);
}

static void step_admin(run_state *st, const cJSON *step) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(step, "body");
  char *text = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
  cJSON *answer = admin_call(st->server, str_field(step, "method"), str_field(step, "path"), text);
  if (answer == NULL) fail(st, "admin %s %s failed", str_field(step, "method"), str_field(step, "path"));
  cJSON_Delete(answer);
  cJSON_free(text);
}

static void step_counters(run_state *st, const cJSON *step) {
  long total = 0, refresh = 0, cc = 0;
  if (admin_counters(st->server, &total, &refresh, &cc) != 0) {
    fail(st, "cannot read the counters");
    return;
  }
  double want;
  if (num_field(step, "token_requests", &want) && total != (long)want)
    fail(st, "token_requests %ld, expected %.0f", total, want);
  if (num_field(step, "refresh_grants", &want) && refresh != (long)want)
    fail(st, "refresh_grants %ld, expected %.0f", refresh, want);
  if (num_field(step, "client_credentials_grants", &want) && cc != (long)want)
    fail(st, "client_credentials_grants %ld, expected %.0f", cc, want);
}

/* Builds the scenario's client through the C configuration API. */
static synapse_client *build_client(run_state *st, const cJSON *spec) {
  synapse_config *cfg = server_config(st->server);
  if (cfg == NULL) {
    fail(st, "cannot configure the client: %s", last_error());
    return NULL;
  }
  const char *auth = str_field(spec, "auth");
  synapse_result r = SYNAPSE_OK;
  if (auth != NULL && strcmp(auth, "oauth") == 0) {
    const char *id = str_field(spec, "client_id");
    const char *secret = str_field(spec, "client_secret");
    if (secret != NULL && strcmp(secret, "$server") == 0) secret = server_client_secret(st->server, id);
    r = synapse_config_set_client_credentials(cfg, id, secret);
  } else if (auth != NULL && strcmp(auth, "api_key") == 0) {
    r = synapse_config_set_api_key(cfg, str_field(spec, "api_key"));
  } else {
    fail(st, "unknown client auth %s", auth ? auth : "(none)");
  }
  if (r != SYNAPSE_OK) fail(st, "setting credentials failed: %s", last_error());
  const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(spec, "scopes");
  if (cJSON_IsArray(scopes)) {
    char joined[1024] = "";
    const cJSON *s;
    cJSON_ArrayForEach(s, scopes) {
      if (joined[0] != '\0') strncat(joined, " ", sizeof joined - strlen(joined) - 1);
      strncat(joined, s->valuestring, sizeof joined - strlen(joined) - 1);
    }
    if (synapse_config_set_scopes(cfg, joined) != SYNAPSE_OK) fail(st, "scopes: %s", last_error());
  }
  const cJSON *options = cJSON_GetObjectItemCaseSensitive(spec, "options");
  const cJSON *opt;
  cJSON_ArrayForEach(opt, options) {
    if (synapse_config_set(cfg, opt->string, opt->valuestring) != SYNAPSE_OK)
      fail(st, "option %s: %s", opt->string, last_error());
  }
  synapse_client *client = NULL;
  if (synapse_client_new(cfg, &client) != SYNAPSE_OK) fail(st, "synapse_client_new failed: %s", last_error());
  synapse_config_free(cfg);
  return client;
}

static int run_scenario(const test_server *server, const cJSON *scenario) {
  run_state *st = calloc(1, sizeof *st);
  st->server = server;
  st->name = str_field(scenario, "name");
  double ttl = 3600;
  num_field(cJSON_GetObjectItemCaseSensitive(scenario, "server"), "token_ttl_secs", &ttl);
  if (admin_reset(server, (long)ttl) != 0) fail(st, "admin reset failed");
  st->client = build_client(st, cJSON_GetObjectItemCaseSensitive(scenario, "client"));
  if (st->client != NULL) {
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(scenario, "steps")) {
      st->step++;
      const char *op = str_field(step, "op");
      if (op == NULL) {
        fail(st, "a step without op");
      } else if (strcmp(op, "get_token") == 0) {
        step_get_token(st, step);
      } else if (strcmp(op, "concurrent_get_token") == 0) {
        step_concurrent(st, step);
      } else if (strcmp(op, "request") == 0) {
        step_request(st, step);
      } else if (strcmp(op, "verify") == 0) {
        step_verify(st, step);
      } else if (strcmp(op, "remember_token") == 0) {
        memcpy(st->remembered, st->current, sizeof st->remembered);
      } else if (strcmp(op, "invalidate") == 0) {
        if (synapse_client_invalidate(st->client) != SYNAPSE_OK) fail(st, "invalidate: %s", last_error());
      } else if (strcmp(op, "sleep") == 0) {
        double ms = 0;
        num_field(step, "ms", &ms);
        struct timespec ts = {(time_t)(ms / 1000), (long)((long long)ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {
        }
      } else if (strcmp(op, "admin") == 0) {
        step_admin(st, step);
      } else if (strcmp(op, "expect_counters") == 0) {
        step_counters(st, step);
      } else {
        fail(st, "unknown op %s (update the C scenario runner)", op);
      }
    }
  }
  synapse_client_free(st->client);
  int failures = st->failures;
  printf("%s %s\n", failures == 0 ? "PASS" : "FAIL", st->name);
  fflush(stdout);
  free(st);
  return failures;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)size + 1);
  size_t got = fread(data, 1, (size_t)size, f);
  data[got] = '\0';
  fclose(f);
  return data;
}

/*
 * One token, call and verification before the scenarios (whose counters are reset
 * anyway): it starts the shared runtime and, under valgrind, translates the code
 * paths once, so that the first timed scenario (refresh_ahead_with_rotation works
 * with a 4-second token) does not pay for it.
 */
static void warm_up(const test_server *server) {
  synapse_config *cfg = server_config(server);
  synapse_client *client = NULL;
  if (cfg == NULL) return;
  synapse_config_set_client_credentials(cfg, "synapse-dev-client", server_client_secret(server, "synapse-dev-client"));
  if (synapse_client_new(cfg, &client) == SYNAPSE_OK) {
    char token[TOKEN_MAX], claims[16384];
    size_t n = 0;
    synapse_response *resp = NULL;
    if (synapse_client_get_token(client, token, sizeof token, &n, NULL) == SYNAPSE_OK)
      synapse_client_verify(client, token, claims, sizeof claims, &n);
    synapse_client_request(client, "GET", "/v1/models", NULL, 0, NULL, &resp);
    synapse_response_free(resp);
    synapse_client_invalidate(client);
    synapse_client_get_token(client, token, sizeof token, &n, NULL);
  }
  synapse_client_free(client);
  synapse_config_free(cfg);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : SYNAPSE_SCENARIOS_JSON;
  const char *only = getenv("SYNAPSE_SCENARIO");
  char *text = read_file(path);
  if (text == NULL) {
    fprintf(stderr, "cannot read %s\n", path);
    return 2;
  }
  cJSON *doc = cJSON_Parse(text);
  free(text);
  cJSON *scenarios = cJSON_GetObjectItemCaseSensitive(doc, "scenarios");
  if (!cJSON_IsArray(scenarios) || cJSON_GetArraySize(scenarios) == 0) {
    fprintf(stderr, "%s holds no scenarios\n", path);
    cJSON_Delete(doc);
    return 2;
  }
  test_server server;
  if (server_start(&server) != 0) {
    cJSON_Delete(doc);
    return 2;
  }
  warm_up(&server);
  int total = 0, failed = 0;
  const cJSON *scenario;
  cJSON_ArrayForEach(scenario, scenarios) {
    if (only != NULL && *only != '\0' && strcmp(only, str_field(scenario, "name")) != 0) continue;
    total++;
    if (run_scenario(&server, scenario) != 0) failed++;
  }
  server_stop(&server);
  cJSON_Delete(doc);
  printf("scenarios: %d run, %d passed, %d failed\n", total, total - failed, failed);
  return (failed == 0 && total > 0) ? 0 : 1;
}
