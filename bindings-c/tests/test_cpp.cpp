// The C++17 wrapper (synapse_auth.hpp): RAII handles, move-only types, exceptions
// carrying the result code and details, every method against the reference server.
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <type_traits>
#include <utility>

#include "harness.h"
#include "synapse_auth.hpp"

static_assert(!std::is_copy_constructible_v<synapse::Client>, "Client is move-only");
static_assert(!std::is_copy_assignable_v<synapse::Client>, "Client is move-only");
static_assert(std::is_nothrow_move_constructible_v<synapse::Client>, "Client moves");
static_assert(!std::is_copy_constructible_v<synapse::Config>, "Config is move-only");
static_assert(!std::is_copy_constructible_v<synapse::Response>, "Response is move-only");
static_assert(std::is_nothrow_move_assignable_v<synapse::Response>, "Response moves");

template <typename F>
static void expect_error(F&& f, synapse_result code, const char* what) {
  try {
    f();
    CHECK(false, "%s did not throw", what);
  } catch (const synapse::Error& e) {
    CHECK(e.code() == code, "%s: %s (%s), expected %s", what, std::string(e.name()).c_str(), e.what(),
          synapse_result_name(code));
    CHECK(std::strlen(e.what()) > 0, "%s: empty message", what);
  }
}

static synapse::Config server_config_cpp(const test_server& server) {
  synapse::Config cfg;
  cfg.base_url(server.base_url).ca_file(server.ca_pem_path);
  return cfg;
}

int main() {
  test_server server;
  if (server_start(&server) != 0) return 2;
  admin_reset(&server, 3600);
  const std::string secret = server_client_secret(&server, "synapse-dev-client");

  // Configuration errors throw with the code and the field in the message.
  expect_error([] { synapse::Config().set("no_such_key", "1"); }, SYNAPSE_CONFIG, "unknown key");
  expect_error([] { synapse::Config().set("timeout", "soon"); }, SYNAPSE_CONFIG, "bad value");
  expect_error([] { synapse::Client c{synapse::Config()}; }, SYNAPSE_CONFIG, "no credentials");
  try {
    synapse::Config().set("timeout", "soon");
  } catch (const synapse::Error& e) {
    CHECK(e.name() == "config", "name %s", std::string(e.name()).c_str());
    CHECK(std::string(e.what()).find("timeout") != std::string::npos, "message %s", e.what());
  }
  CHECK(synapse::Config::keys().size() == synapse_config_key_count(), "keys");

  // The happy path.
  synapse::Config cfg = server_config_cpp(server);
  cfg.client_credentials("synapse-dev-client", secret).scopes("inference training").timeout_ms(20000);
  synapse::Client client(cfg);
  synapse::Token token = client.get_token_with_expiry();
  CHECK(token.value.size() > 100, "token length %zu", token.value.size());
  CHECK(token.expires_at_unix_ms > static_cast<int64_t>(std::time(nullptr)) * 1000, "expiry");
  CHECK(client.get_token() == token.value, "cached token");
  CHECK(client.get_token_for_scopes("inference").value.size() > 100, "scoped token");

  synapse::Response models = client.request("GET", "/v1/models");
  CHECK(models.status() == 200, "status %u", models.status());
  CHECK(models.body().find("models") != std::string_view::npos || !models.body().empty(), "body");
  CHECK(models.header("content-type").has_value(), "content-type");
  CHECK(!models.header("x-no-such-header").has_value(), "absent header");
  CHECK(!models.headers().empty(), "headers");

  synapse::Response accepted =
      client.request("POST", "/v1/data/stream", R"({"stream_id":"nn-435X","data":[1]})", "application/json");
  CHECK(accepted.status() == 202, "status %u", accepted.status());

  std::string claims = client.verify(token.value);
  CHECK(claims.find("\"sub\":\"synapse-dev-client\"") != std::string::npos, "claims %s", claims.c_str());
  expect_error([&] { client.verify("not-a-jwt"); }, SYNAPSE_INVALID_TOKEN, "verify garbage");

  synapse_stats stats = client.stats();
  CHECK(stats.token_requests == 2, "token_requests %llu", static_cast<unsigned long long>(stats.token_requests));
  client.invalidate();
  CHECK(client.get_token() != token.value, "a new token after invalidate");

  // Move semantics: the moved-from handle is empty, the moved-to one works.
  synapse::Client moved(std::move(client));
  CHECK(client.get() == nullptr, "moved-from client is empty");
  CHECK(moved.get() != nullptr && !moved.get_token().empty(), "moved-to client works");
  synapse::Response r2 = std::move(models);
  CHECK(models.get() == nullptr && r2.status() == 200, "moved response");
  models = std::move(r2);
  CHECK(models.status() == 200, "move-assigned response");
  // A call on a moved-from client is an invalid argument, not a crash.
  expect_error([&] { client.get_token(); }, SYNAPSE_INVALID_ARGUMENT, "moved-from client");

  // API errors carry code, name, status and the missing scope.
  synapse::Config narrow = server_config_cpp(server);
  narrow.client_credentials("synapse-dev-inference", server_client_secret(&server, "synapse-dev-inference"))
      .scopes("inference");
  synapse::Client inference_only(narrow);
  try {
    inference_only.request("POST", "/v1/data/stream", R"({"stream_id":"nn-435X","data":[1]})", "application/json");
    CHECK(false, "no exception");
  } catch (const synapse::Error& e) {
    CHECK(e.code() == SYNAPSE_INSUFFICIENT_SCOPE, "code %u", static_cast<unsigned>(e.code()));
    CHECK(e.name() == "insufficient_scope", "name");
    CHECK(e.status() == 403, "status %u", e.status());
    CHECK(e.required_scope().value_or("") == "training", "scope");
  }

  // Wrong credentials: the secret never appears in the exception.
  synapse::Config wrong = server_config_cpp(server);
  wrong.client_credentials("synapse-dev-client", "wrong-secret-CPP-MARK").set("max_attempts", "1");
  synapse::Client bad(wrong);
  try {
    bad.get_token();
    CHECK(false, "no exception");
  } catch (const synapse::Error& e) {
    CHECK(e.code() == SYNAPSE_INVALID_CREDENTIALS && e.status() == 401, "%s", e.what());
    CHECK(std::string(e.what()).find("CPP-MARK") == std::string::npos, "secret in %s", e.what());
  }
  bad.set_client_secret(secret);
  CHECK(!bad.get_token().empty(), "rotated secret");

  // Client::from_env.
  setenv("SYNAPSE_BASE_URL", server.base_url, 1);
  setenv("SYNAPSE_CA_FILE", server.ca_pem_path, 1);
  setenv("SYNAPSE_CLIENT_ID", "synapse-dev-client", 1);
  setenv("SYNAPSE_CLIENT_SECRET", secret.c_str(), 1);
  synapse::Client from_env = synapse::Client::from_env();
  CHECK(from_env.request("GET", "/v1/models").status() == 200, "from_env");

  server_stop(&server);
  return test_finish("test_cpp");
}
