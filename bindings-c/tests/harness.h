/*
 * A small test harness for the C tests: starts the reference server
 * (`synapse-auth serve --json --addr 127.0.0.1:0 --exit-on-stdin-close`), reads its
 * JSON line, calls its admin API with libcurl, and counts failed checks.
 */
#ifndef SYNAPSE_TEST_HARNESS_H
#define SYNAPSE_TEST_HARNESS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "synapse_auth.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A running reference server. */
typedef struct test_server {
  pid_t pid;
  int stdin_fd;      /* closing it stops the server */
  cJSON *info;       /* the JSON line the server printed */
  const char *base_url;
  const char *ca_pem_path;
  const char *admin_token;
} test_server;

/** Starts the server (SYNAPSE_AUTH_BIN or the workspace's debug build). 0 on success. */
int server_start(test_server *server);
/** Stops the server and frees everything server_start() allocated. */
void server_stop(test_server *server);
/** The secret the server printed for `client_id`, or NULL. */
const char *server_client_secret(const test_server *server, const char *client_id);

/**
 * An admin call (`X-Admin-Token`): `body_json` may be NULL. Returns the parsed JSON
 * answer (free it with cJSON_Delete) or NULL when the call failed (printed).
 */
cJSON *admin_call(const test_server *server, const char *method, const char *path, const char *body_json);
/** POST /admin/reset, then POST /admin/config {"token_ttl_secs": ttl}. 0 on success. */
int admin_reset(const test_server *server, long token_ttl_secs);
/** Reads GET /admin/counters. 0 on success. */
int admin_counters(const test_server *server, long *total, long *refresh_grants, long *client_credentials_grants);

/** A config for the server: base URL and CA set; credentials are up to the caller. */
synapse_config *server_config(const test_server *server);

/** The last error of this thread as "name: message" (static per-thread buffer). */
const char *last_error(void);

/** Failed checks so far. */
extern int g_failures;
void check_failed(const char *file, int line, const char *expr, const char *fmt, ...);
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__); \
  } while (0)
/** Checks that `call` returns `expected`, reporting both names and the last error. */
#define CHECK_RESULT(call, expected)                                                        \
  do {                                                                                      \
    synapse_result check_r_ = (call);                                                       \
    if (check_r_ != (expected))                                                             \
      check_failed(__FILE__, __LINE__, #call, "got %s, expected %s (%s)",                   \
                   synapse_result_name(check_r_), synapse_result_name(expected), last_error()); \
  } while (0)

/** Prints the summary and returns the process exit code. */
int test_finish(const char *suite);

#ifdef __cplusplus
}
#endif

#endif
