"""The Python veneer over the native client: request encoding, context
managers and the asyncio-flavoured :class:`AsyncClient`. No logic of its own."""

from __future__ import annotations

import json as _json
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple, Type, Union
from urllib.parse import urlencode

from . import _native
from ._native import AccessToken, Response

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Client", "AsyncClient"]

Scopes = Union[str, Iterable[str]]
Body = Union[bytes, bytearray, memoryview, str, Mapping[str, Any]]
_Prepared = Tuple[Optional[bytes], List[Tuple[str, str]]]


def _encode(json: Any, data: Optional[Body], headers: Optional[Mapping[str, str]]) -> _Prepared:
    pairs = [(str(k), str(v)) for k, v in headers.items()] if headers else []
    names = {k.lower() for k, _ in pairs}
    if json is not None and data is not None:
        raise TypeError("pass json= or data=, not both")
    body: Optional[bytes] = None
    if json is not None:
        body = _json.dumps(json, separators=(",", ":")).encode("utf-8")
        if "content-type" not in names:
            pairs.append(("content-type", "application/json"))
    elif isinstance(data, str):
        body = data.encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        body = bytes(data)
    elif data is not None:
        body = urlencode(dict(data)).encode("ascii")
        if "content-type" not in names:
            pairs.append(("content-type", "application/x-www-form-urlencoded"))
    return body, pairs


class Client(_native.Client):
    """A SynapseStream client: cached, auto-refreshed OAuth 2.0 tokens (or an
    API key), authenticated API calls and JWT validation.

    Build one per process and share it between threads::

        client = Client(client_id="...", client_secret="...", scopes=["inference"])
        token = client.get_token()          # AccessToken: .token, .expires_at, .scopes
        models = client.request("GET", "/v1/models").json()

    Keyword arguments: ``client_id``, ``client_secret``, ``scopes``, ``base_url``,
    ``api_key``, ``ca_file``, ``timeout`` (seconds), and any engine setting named
    in :data:`synapsestream_auth.CONFIG_KEYS` (e.g. ``max_attempts=2``).
    """

    __slots__ = ()

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """A client configured from ``SYNAPSE_*`` environment variables
        (``SYNAPSE_CLIENT_ID``, ``SYNAPSE_CLIENT_SECRET``, ``SYNAPSE_SCOPES``,
        ``SYNAPSE_BASE_URL``, ``SYNAPSE_CA_FILE``, ...); keyword arguments win."""
        return cls(_from_env=True, **overrides)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Optional[Body] = None,
        headers: Optional[Mapping[str, str]] = None,
        scopes: Optional[Scopes] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """Sends an authenticated API call to ``path`` (relative to ``base_url``)
        and returns the :class:`Response`. Retries 429/5xx/transport failures,
        refreshes once on an expired token, and raises a
        :class:`~synapsestream_auth.SynapseAuthError` for statuses of 400 and above."""
        body, pairs = _encode(json, data, headers)
        return self._request(method, path, body, pairs, scopes, timeout)

    def get(self, path: str, **kwargs: Any) -> Response:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        """``request("POST", path, ...)``."""
        return self.request("POST", path, **kwargs)

    async def request_async(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Optional[Body] = None,
        headers: Optional[Mapping[str, str]] = None,
        scopes: Optional[Scopes] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """Awaitable twin of :meth:`request`; never blocks the event loop."""
        body, pairs = _encode(json, data, headers)
        return await self._request_async(method, path, body, pairs, scopes, timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


class AsyncClient:
    """The asyncio face of :class:`Client`: the same engine, with coroutines.

    Work runs on the engine's own threads and completes on the calling event
    loop, so the loop never blocks and one client serves any number of loops
    (``asyncio.run()`` twice is fine). Cache hits complete without scheduling
    anything. ``AsyncClient.from_client(client)`` shares an existing client's
    cache and single-flight with its synchronous callers.
    """

    __slots__ = ("_client",)

    def __init__(
        self,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        scopes: Optional[Scopes] = None,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        ca_file: Union[str, "os.PathLike[str]", None] = None,
        timeout: Optional[float] = None,
        **options: Any,
    ) -> None:
        self._client: Client = Client(
            client_id=client_id,
            client_secret=client_secret,
            scopes=scopes,
            base_url=base_url,
            api_key=api_key,
            ca_file=ca_file,
            timeout=timeout,
            **options,
        )

    @classmethod
    def from_client(cls, client: Client) -> Self:
        """An AsyncClient over an existing :class:`Client` (one cache, one single-flight)."""
        self = cls.__new__(cls)
        self._client = client
        return self

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Like :meth:`Client.from_env`."""
        return cls.from_client(Client.from_env(**overrides))

    @property
    def sync_client(self) -> Client:
        """The synchronous :class:`Client` behind this one (same cache)."""
        return self._client

    async def get_token(self) -> AccessToken:
        """A valid access token for the default scopes."""
        return await self._client.get_token_async()

    async def get_token_for(self, scopes: Scopes) -> AccessToken:
        """A valid access token for ``scopes``."""
        return await self._client.get_token_for_async(scopes)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Optional[Body] = None,
        headers: Optional[Mapping[str, str]] = None,
        scopes: Optional[Scopes] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """An authenticated API call; see :meth:`Client.request`."""
        body, pairs = _encode(json, data, headers)
        return await self._client._request_async(method, path, body, pairs, scopes, timeout)

    async def get(self, path: str, **kwargs: Any) -> Response:
        """``await request("GET", path, ...)``."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        """``await request("POST", path, ...)``."""
        return await self.request("POST", path, **kwargs)

    async def verify(self, jwt: str) -> Dict[str, Any]:
        """Verifies a JWT against the JWKS and returns its claims."""
        return await self._client.verify_async(jwt)

    def invalidate(self) -> None:
        """Forgets every cached token."""
        self._client.invalidate()

    def stats(self) -> Dict[str, Any]:
        """The client's counters and circuit-breaker state."""
        return self._client.stats()

    def set_client_secret(self, secret: str) -> None:
        """Replaces the client secret (credential rotation)."""
        self._client.set_client_secret(secret)

    def set_api_key(self, api_key: str) -> None:
        """Replaces the API key (credential rotation)."""
        self._client.set_api_key(api_key)

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._client.closed

    async def aclose(self) -> None:
        """Forgets cached tokens and refuses further calls."""
        self._client.close()

    def close(self) -> None:
        """Synchronous :meth:`aclose`."""
        self._client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return "<AsyncClient over " + repr(self._client)[1:]
