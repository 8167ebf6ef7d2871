"""Configuration in code, error handling and credential rotation."""

import os

from synapsestream_auth import Client, ConfigError, InvalidCredentialsError, SynapseAuthError

try:
    Client(client_id="my-client")  # no secret: rejected at construction, naming the field
except ConfigError as e:
    print("config error in field", e.field)

client = Client(
    client_id=os.environ["SYNAPSE_CLIENT_ID"],
    client_secret="an-outdated-secret",
    scopes=["inference"],
    base_url=os.environ.get("SYNAPSE_BASE_URL", "https://api.synapsestream.io"),
    ca_file=os.environ.get("SYNAPSE_CA_FILE"),
    timeout=10.0,  # seconds per HTTP exchange
    max_attempts=3,  # any engine setting from synapsestream_auth.CONFIG_KEYS
)
try:
    client.get_token()
except InvalidCredentialsError as e:
    print("rejected:", e.code, e.status)
    client.set_client_secret(os.environ["SYNAPSE_CLIENT_SECRET"])  # rotate without a restart

try:
    print("now valid for", round(client.get_token().expires_in), "s")
    print(client.stats())
except SynapseAuthError as e:
    print("failed:", e)
finally:
    client.close()
