"""An ``httpx`` authentication class backed by a synapsestream_auth client,
for both ``httpx.Client`` and ``httpx.AsyncClient``.

::

    import httpx
    from synapsestream_auth import Client
    from synapsestream_auth.httpx import SynapseAuth

    auth = SynapseAuth(Client.from_env())
    with httpx.Client(auth=auth) as http:
        http.get("https://api.synapsestream.io/v1/models")

Each request gets ``Authorization: Bearer <token>`` (or ``X-API-Key``); a 418 or
401 answer drops the token, fetches a new one and retries once. In the async
flow the token comes from the engine without blocking the event loop. Needs
``pip install synapsestream-auth[httpx]``.
"""

from __future__ import annotations

from typing import AsyncGenerator, Generator, Iterable, Optional, Union

try:
    import httpx as _httpx
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "synapsestream_auth.httpx needs the 'httpx' package: pip install 'synapsestream-auth[httpx]'"
    ) from e

from ._adapter import DEFAULT_RETRY_STATUSES, _Credentials
from ._client import AsyncClient, Client

__all__ = ["SynapseAuth"]


class SynapseAuth(_httpx.Auth):
    """``httpx`` auth: attaches the client's token (or API key); on 418/401
    refreshes the token and retries once.

    Credentials are only sent to the client's ``base_url`` host (a
    :class:`~synapsestream_auth.ConfigError` otherwise) unless ``any_host=True``.
    ``scopes`` picks a token for other scopes than the client's default."""

    def __init__(
        self,
        client: Union[Client, AsyncClient],
        *,
        scopes: Optional[Iterable[str]] = None,
        retry_statuses: Iterable[int] = DEFAULT_RETRY_STATUSES,
        any_host: bool = False,
    ) -> None:
        self._credentials = _Credentials(client, scopes, retry_statuses, any_host)

    def sync_auth_flow(self, request: _httpx.Request) -> Generator[_httpx.Request, _httpx.Response, None]:
        c = self._credentials
        c.check_url(str(request.url))
        used = c.header_value()
        request.headers[c.header_name] = used
        response = yield request
        if not c.should_retry(response.status_code):
            return
        c.forget(used)
        fresh = c.header_value()
        if fresh == used and c.api_key_mode:
            return
        request.headers[c.header_name] = fresh
        yield request

    async def async_auth_flow(self, request: _httpx.Request) -> AsyncGenerator[_httpx.Request, _httpx.Response]:
        c = self._credentials
        c.check_url(str(request.url))
        used = await c.header_value_async()
        request.headers[c.header_name] = used
        response = yield request
        if not c.should_retry(response.status_code):
            return
        await c.forget_async(used)
        fresh = await c.header_value_async()
        if fresh == used and c.api_key_mode:
            return
        request.headers[c.header_name] = fresh
        yield request

    def __repr__(self) -> str:
        return f"<SynapseAuth for {self._credentials.client!r}>"
