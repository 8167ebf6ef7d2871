// Configured from SYNAPSE_* environment variables (SYNAPSE_BASE_URL, SYNAPSE_CA_FILE,
// SYNAPSE_CLIENT_ID, SYNAPSE_CLIENT_SECRET, ...): get a token, call the API, verify
// the token, and show how errors arrive.
#include <iostream>
#include <synapse_auth.hpp>

int main() {
  try {
    synapse::Config config = synapse::Config::from_env();
    config.scopes("inference");
    synapse::Client client(config);

    synapse::Token token = client.get_token_with_expiry();
    std::cout << "token: " << token.value.size() << " bytes, expires at " << token.expires_at_unix_ms
              << " ms since the epoch\n";

    synapse::Response models = client.request("GET", "/v1/models");
    std::cout << "GET /v1/models -> " << models.status() << ", " << models.body().size() << " bytes\n";

    std::cout << "claims: " << client.verify(token.value) << "\n";

    try {
      client.request("POST", "/v1/data/stream", R"({"stream_id":"nn-435X","data":[1]})", "application/json");
    } catch (const synapse::Error& e) {  // this token lacks the training scope
      std::cout << "POST /v1/data/stream -> " << e.name() << " (HTTP " << e.status() << ", needs "
                << e.required_scope().value_or("?") << ")\n";
    }
  } catch (const synapse::Error& e) {
    std::cerr << "error " << e.name() << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
