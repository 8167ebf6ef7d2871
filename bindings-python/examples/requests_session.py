"""requests: attach tokens to your own calls; refresh-and-retry on 418/401."""

import os

import requests

from synapsestream_auth import Client
from synapsestream_auth.requests import SynapseAuth

client = Client.from_env()
base_url = os.environ.get("SYNAPSE_BASE_URL", "https://api.synapsestream.io")
ca_file = os.environ.get("SYNAPSE_CA_FILE")  # only for a private CA

with requests.Session() as session:
    session.auth = SynapseAuth(client)
    response = session.get(f"{base_url}/v1/models", verify=ca_file or True)
    response.raise_for_status()
    print(response.status_code, response.json())
