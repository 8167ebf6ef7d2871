"""Sync quick start: a client from SYNAPSE_* variables, a token, an API call."""

from synapsestream_auth import Client, InsufficientScopeError

# SYNAPSE_CLIENT_ID, SYNAPSE_CLIENT_SECRET, SYNAPSE_SCOPES, SYNAPSE_BASE_URL, SYNAPSE_CA_FILE
with Client.from_env() as client:
    token = client.get_token()  # cached; refreshed ahead of expiry
    print("token for", token.scopes, "valid until", token.expires_at.isoformat())

    models = client.request("GET", "/v1/models").json()
    print("models:", models)

    accepted = client.request("POST", "/v1/data/stream", json={"stream_id": "nn-435X", "data": [1, 2, 3]})
    print("stream:", accepted.status, accepted.json())

    claims = client.verify(token.token)  # signature (JWKS) and expiry checked
    print("token subject:", claims["sub"])

    try:
        client.request("POST", "/v1/data/stream", json={"stream_id": "x", "data": []}, scopes=["inference"])
    except InsufficientScopeError as e:
        print("as expected:", e.code, e.status, "needs", e.required_scope)
