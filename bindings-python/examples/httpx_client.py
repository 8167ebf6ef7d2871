"""httpx: one auth object for httpx.Client and httpx.AsyncClient."""

import asyncio
import os
import ssl

import httpx

from synapsestream_auth import Client
from synapsestream_auth.httpx import SynapseAuth

auth = SynapseAuth(Client.from_env())
base_url = os.environ.get("SYNAPSE_BASE_URL", "https://api.synapsestream.io")
ca_file = os.environ.get("SYNAPSE_CA_FILE")  # only for a private CA
verify = ssl.create_default_context(cafile=ca_file) if ca_file else True

with httpx.Client(auth=auth, base_url=base_url, verify=verify) as http:
    print("sync:", http.get("/v1/models").status_code)


async def main() -> None:
    async with httpx.AsyncClient(auth=auth, base_url=base_url, verify=verify) as http:
        responses = await asyncio.gather(*(http.get("/v1/models") for _ in range(10)))
        print("async:", [r.status_code for r in responses])


asyncio.run(main())
