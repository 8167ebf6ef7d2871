"""What the requests and httpx adapters share: which header to attach, and
the refresh-once decision after a 418/401. No HTTP library is imported here."""

from __future__ import annotations

from typing import Iterable, Optional, Tuple, Union
from urllib.parse import urlsplit

from ._client import AsyncClient, Client
from ._native import AccessToken
from .errors import ConfigError

DEFAULT_RETRY_STATUSES: Tuple[int, ...] = (418, 401)
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _origin(url: str) -> Tuple[str, str, Optional[int]]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


class _Credentials:
    """Picks the header (Authorization: Bearer, or X-API-Key) for a client."""

    __slots__ = ("client", "scopes", "retry_statuses", "api_key_mode", "origin", "any_host")

    def __init__(
        self,
        client: Union[Client, AsyncClient],
        scopes: Optional[Iterable[str]],
        retry_statuses: Iterable[int],
        any_host: bool,
    ) -> None:
        self.client: Client = client.sync_client if isinstance(client, AsyncClient) else client
        self.scopes: Optional[Tuple[str, ...]] = None if scopes is None else tuple(scopes)
        self.retry_statuses = frozenset(retry_statuses)
        self.api_key_mode = self.client.auth_method == "api_key"
        self.origin = _origin(self.client.base_url)
        self.any_host = any_host

    def check_url(self, url: str) -> None:
        """Credentials go only to the client's configured host (as with Client.request),
        unless the adapter was built with ``any_host=True``."""
        if self.any_host or _origin(url) == self.origin:
            return
        scheme, host, port = _origin(url)
        expected = "{}://{}:{}".format(*self.origin)
        raise ConfigError(
            f"config: url: refusing to send credentials to {scheme}://{host}:{port} "
            f"(the client's base_url is {expected}; pass any_host=True to allow it)",
            field="url",
        )

    @property
    def header_name(self) -> str:
        return "X-API-Key" if self.api_key_mode else "Authorization"

    def token(self) -> AccessToken:
        if self.scopes is None:
            return self.client.get_token()
        return self.client.get_token_for(self.scopes)

    async def token_async(self) -> AccessToken:
        if self.scopes is None:
            return await self.client.get_token_async()
        return await self.client.get_token_for_async(self.scopes)

    def api_key(self) -> str:
        key = self.client._api_key()
        if key is None:  # pragma: no cover - core refuses an api_key client without a key
            raise RuntimeError("synapsestream_auth: the client has no API key")
        return key

    def header_value(self) -> str:
        return self.api_key() if self.api_key_mode else self.token().authorization

    async def header_value_async(self) -> str:
        return self.api_key() if self.api_key_mode else (await self.token_async()).authorization

    def should_retry(self, status: int) -> bool:
        return status in self.retry_statuses

    def forget(self, used: Optional[str]) -> None:
        """Drops the rejected token, unless another caller already replaced it."""
        if self.api_key_mode:
            return
        if self.token().authorization == used:
            self.client.invalidate()

    async def forget_async(self, used: Optional[str]) -> None:
        if self.api_key_mode:
            return
        if (await self.token_async()).authorization == used:
            self.client.invalidate()
