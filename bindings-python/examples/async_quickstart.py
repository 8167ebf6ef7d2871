"""asyncio: the same engine, never blocking the event loop."""

import asyncio

from synapsestream_auth import AsyncClient


async def main() -> None:
    async with AsyncClient.from_env() as client:
        # 50 concurrent callers, one token request (single-flight).
        tokens = await asyncio.gather(*(client.get_token() for _ in range(50)))
        print(len({t.token for t in tokens}), "distinct token(s);", client.stats()["token_requests"], "request(s)")

        response = await client.request("GET", "/v1/models")
        print(response.status, response.json())


asyncio.run(main())
