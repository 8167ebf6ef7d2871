#define _GNU_SOURCE
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int g_failures = 0;

void check_failed(const char *file, int line, const char *expr, const char *fmt, ...) {
  va_list ap;
  g_failures++;
  fprintf(stderr, "%s:%d: CHECK failed: %s: ", file, line, expr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int test_finish(const char *suite) {
  if (g_failures == 0) {
    printf("%s: all checks passed\n", suite);
    return 0;
  }
  printf("%s: %d check(s) FAILED\n", suite, g_failures);
  return 1;
}

const char *last_error(void) {
  static __thread char buf[1024];
  char msg[900];
  size_t n = 0;
  synapse_last_error_message(msg, sizeof msg, &n);
  snprintf(buf, sizeof buf, "%s: [%s]", synapse_result_name(synapse_last_error_result()), msg);
  return buf;
}

static const char *server_binary(void) {
  const char *bin = getenv("SYNAPSE_AUTH_BIN");
  return (bin != NULL && *bin != '\0') ? bin : SYNAPSE_DEFAULT_AUTH_BIN;
}

int server_start(test_server *server) {
  int in_pipe[2], out_pipe[2];
  memset(server, 0, sizeof *server);
  server->stdin_fd = -1;
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    perror("pipe2");
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  const char *bin = server_binary();
  char *argv[] = {(char *)bin, "serve", "--json", "--addr", "127.0.0.1:0", "--exit-on-stdin-close", NULL};
  int rc = posix_spawn(&server->pid, bin, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (rc != 0) {
    fprintf(stderr, "cannot start %s: %s\n", bin, strerror(rc));
    close(in_pipe[1]);
    close(out_pipe[0]);
    return -1;
  }
  server->stdin_fd = in_pipe[1];

  /* Read the one JSON line (byte by byte: nothing else is read from this pipe, and
   * the server writes nothing more to stdout). */
  char line[16384];
  size_t used = 0;
  for (;;) {
    char c;
    ssize_t n = read(out_pipe[0], &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n' || used + 1 >= sizeof line) break;
    line[used++] = c;
  }
  line[used] = '\0';
  close(out_pipe[0]);
  server->info = cJSON_Parse(line);
  cJSON *base = cJSON_GetObjectItemCaseSensitive(server->info, "base_url");
  cJSON *ca = cJSON_GetObjectItemCaseSensitive(server->info, "ca_pem_path");
  cJSON *admin = cJSON_GetObjectItemCaseSensitive(server->info, "admin_token");
  if (!cJSON_IsString(base) || !cJSON_IsString(ca) || !cJSON_IsString(admin)) {
    fprintf(stderr, "the server did not print its JSON line (got %zu bytes: %.200s)\n", used, line);
    server_stop(server);
    return -1;
  }
  server->base_url = base->valuestring;
  server->ca_pem_path = ca->valuestring;
  server->admin_token = admin->valuestring;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return 0;
}

void server_stop(test_server *server) {
  if (server->stdin_fd >= 0) {
    close(server->stdin_fd);
    server->stdin_fd = -1;
  }
  if (server->pid > 0) {
    int status = 0;
    bool done = false;
    for (int i = 0; i < 100 && !done; i++) {
      if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
        done = true;
      } else {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
    }
    if (!done) {
      kill(server->pid, SIGTERM);
      waitpid(server->pid, &status, 0);
    }
    server->pid = 0;
  }
  if (server->info != NULL) {
    cJSON_Delete(server->info);
    server->info = NULL;
    curl_global_cleanup();
  }
}

const char *server_client_secret(const test_server *server, const char *client_id) {
  cJSON *clients = cJSON_GetObjectItemCaseSensitive(server->info, "clients");
  cJSON *c;
  cJSON_ArrayForEach(c, clients) {
    cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "client_id");
    cJSON *secret = cJSON_GetObjectItemCaseSensitive(c, "client_secret");
    if (cJSON_IsString(id) && strcmp(id->valuestring, client_id) == 0 && cJSON_IsString(secret))
      return secret->valuestring;
  }
  return NULL;
}

typedef struct {
  char *data;
  size_t len;
} growbuf;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata) {
  growbuf *b = userdata;
  size_t n = size * nmemb;
  char *grown = realloc(b->data, b->len + n + 1);
  if (grown == NULL) return 0;
  b->data = grown;
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

cJSON *admin_call(const test_server *server, const char *method, const char *path, const char *body_json) {
  char url[1024], auth[512];
  snprintf(url, sizeof url, "%s%s", server->base_url, path);
  snprintf(auth, sizeof auth, "X-Admin-Token: %s", server->admin_token);
  CURL *curl = curl_easy_init();
  if (curl == NULL) return NULL;
  struct curl_slist *headers = curl_slist_append(NULL, auth);
  headers = curl_slist_append(headers, "Content-Type: application/json");
  growbuf body = {NULL, 0};
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CAINFO, server->ca_pem_path);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (strcmp(method, "GET") != 0) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body_json != NULL ? body_json : "");
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  cJSON *json = NULL;
  if (rc != CURLE_OK || status >= 400) {
    fprintf(stderr, "admin %s %s failed: %s, HTTP %ld: %s\n", method, path, curl_easy_strerror(rc), status,
            body.data != NULL ? body.data : "");
  } else {
    json = cJSON_Parse(body.data != NULL ? body.data : "null");
    if (json == NULL) fprintf(stderr, "admin %s %s: the answer is not JSON\n", method, path);
  }
  free(body.data);
  return json;
}

int admin_reset(const test_server *server, long token_ttl_secs) {
  cJSON *r = admin_call(server, "POST", "/admin/reset", NULL);
  if (r == NULL) return -1;
  cJSON_Delete(r);
  char body[64];
  snprintf(body, sizeof body, "{\"token_ttl_secs\":%ld}", token_ttl_secs);
  r = admin_call(server, "POST", "/admin/config", body);
  if (r == NULL) return -1;
  cJSON_Delete(r);
  return 0;
}

static long number_at(const cJSON *obj, const char *a, const char *b) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, a);
  if (b != NULL) v = cJSON_GetObjectItemCaseSensitive(v, b);
  return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

int admin_counters(const test_server *server, long *total, long *refresh_grants, long *client_credentials_grants) {
  cJSON *c = admin_call(server, "GET", "/admin/counters", NULL);
  if (c == NULL) return -1;
  cJSON *tr = cJSON_GetObjectItemCaseSensitive(c, "token_requests");
  if (total != NULL) *total = number_at(tr, "total", NULL);
  if (refresh_grants != NULL) *refresh_grants = number_at(tr, "by_grant", "refresh_token");
  if (client_credentials_grants != NULL) *client_credentials_grants = number_at(tr, "by_grant", "client_credentials");
  cJSON_Delete(c);
  return 0;
}

synapse_config *server_config(const test_server *server) {
  synapse_config *cfg = synapse_config_new();
  if (cfg == NULL) return NULL;
  if (synapse_config_set_base_url(cfg, server->base_url) != SYNAPSE_OK ||
      synapse_config_set_ca_file(cfg, server->ca_pem_path) != SYNAPSE_OK) {
    fprintf(stderr, "server_config: %s\n", last_error());
    synapse_config_free(cfg);
    return NULL;
  }
  return cfg;
}
