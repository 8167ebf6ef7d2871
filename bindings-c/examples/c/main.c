/* Configured from SYNAPSE_* environment variables (SYNAPSE_BASE_URL, SYNAPSE_CA_FILE,
 * SYNAPSE_CLIENT_ID, SYNAPSE_CLIENT_SECRET, ...): get a token, call the API, verify
 * the token. */
#include <stdint.h>
#include <stdio.h>
#include <synapse_auth.h>

static int report(const char *what, synapse_result result) {
  char message[1024];
  synapse_last_error_message(message, sizeof message, NULL);
  fprintf(stderr, "%s failed (%s): %s\n", what, synapse_result_name(result), message);
  return 1;
}

int main(void) {
  synapse_config *config = NULL;
  synapse_client *client = NULL;
  synapse_response *response = NULL;
  synapse_result r;
  int status = 1;

  if ((r = synapse_config_from_env(&config)) != SYNAPSE_OK) return report("configuration", r);
  if ((r = synapse_config_set_scopes(config, "inference")) != SYNAPSE_OK ||
      (r = synapse_client_new(config, &client)) != SYNAPSE_OK) {
    status = report("client", r);
    goto done;
  }

  /* A token (cached and refreshed by the library; ask again whenever you need one). */
  char token[4096];
  size_t token_len = 0;
  int64_t expires_at_ms = 0;
  if ((r = synapse_client_get_token(client, token, sizeof token, &token_len, &expires_at_ms)) != SYNAPSE_OK) {
    status = report("get_token", r);
    goto done;
  }
  printf("token: %zu bytes, expires at %lld ms since the epoch\n", token_len, (long long)expires_at_ms);

  /* An authenticated API call. */
  if ((r = synapse_client_request(client, "GET", "/v1/models", NULL, 0, NULL, &response)) != SYNAPSE_OK) {
    status = report("GET /v1/models", r);
    goto done;
  }
  size_t body_len = 0;
  const uint8_t *body = synapse_response_body(response, &body_len);
  printf("GET /v1/models -> %u, %zu bytes: %.80s\n", synapse_response_status(response), body_len, (const char *)body);

  /* JWT verification against the provider's JWKS. */
  char claims[8192];
  size_t claims_len = 0;
  if ((r = synapse_client_verify(client, token, claims, sizeof claims, &claims_len)) != SYNAPSE_OK) {
    status = report("verify", r);
    goto done;
  }
  printf("claims: %s\n", claims);
  status = 0;

done:
  synapse_response_free(response);
  synapse_client_free(client);
  synapse_config_free(config);
  return status;
}
