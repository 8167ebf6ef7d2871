"""Type stubs of the native extension module (kept by hand, checked by mypy --strict in the tests)."""

import os
from datetime import datetime
from typing import Any, Awaitable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

__version__: str
CONFIG_KEYS: List[str]
ERROR_CODES: List[str]

_Scopes = Union[str, Iterable[str]]
_OptionValue = Union[str, int, float, bool, "os.PathLike[str]", Sequence[Union[str, int, float]], None]

class AccessToken:
    """An OAuth 2.0 access token; ``repr()`` and ``str()`` never show its value."""

    @property
    def token(self) -> str:
        """The access token itself (a secret)."""
    @property
    def token_type(self) -> str:
        """``"Bearer"``."""
    @property
    def scopes(self) -> Tuple[str, ...]:
        """The scopes the server granted."""
    @property
    def expires_at(self) -> datetime:
        """When the client stops using the token (aware, UTC)."""
    @property
    def expires_at_timestamp(self) -> float:
        """``expires_at`` as seconds since the Unix epoch."""
    @property
    def expires_in(self) -> float:
        """Seconds until ``expires_at`` (0.0 once past)."""
    @property
    def authorization(self) -> str:
        """``"Bearer <token>"``, for an ``Authorization`` header (a secret)."""

class Response:
    """A successful API response (statuses of 400 and above raise instead)."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Dict[str, str]:
        """Lower-case header names; repeated headers joined with ", "."""
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    def json(self) -> Any: ...
    def header(self, name: str, default: Optional[str] = None) -> Optional[str]: ...

class Client:
    def __init__(
        self,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        scopes: Optional[_Scopes] = None,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        ca_file: Union[str, "os.PathLike[str]", None] = None,
        timeout: Optional[float] = None,
        **options: _OptionValue,
    ) -> None: ...
    def get_token(self) -> AccessToken:
        """A valid access token for the default scopes (cached; refreshed ahead of expiry)."""
    def get_token_for(self, scopes: _Scopes) -> AccessToken:
        """A valid access token for ``scopes``."""
    def get_token_async(self) -> Awaitable[AccessToken]:
        """Awaitable twin of ``get_token()`` (call it from a coroutine)."""
    def get_token_for_async(self, scopes: _Scopes) -> Awaitable[AccessToken]: ...
    def _request(
        self,
        method: str,
        path: str,
        body: Optional[bytes] = None,
        headers: Optional[Sequence[Tuple[str, str]]] = None,
        scopes: Optional[_Scopes] = None,
        timeout: Optional[float] = None,
    ) -> Response: ...
    def _request_async(
        self,
        method: str,
        path: str,
        body: Optional[bytes] = None,
        headers: Optional[Sequence[Tuple[str, str]]] = None,
        scopes: Optional[_Scopes] = None,
        timeout: Optional[float] = None,
    ) -> Awaitable[Response]: ...
    def verify(self, jwt: str) -> Dict[str, Any]:
        """Verifies a JWT against the JWKS; returns its claims."""
    def verify_async(self, jwt: str) -> Awaitable[Dict[str, Any]]: ...
    def invalidate(self) -> None:
        """Forgets every cached token."""
    def stats(self) -> Dict[str, Any]:
        """Counters (token_requests, cache_hits, ...) and circuit_state."""
    def set_client_secret(self, secret: str) -> None: ...
    def set_api_key(self, api_key: str) -> None: ...
    def _api_key(self) -> Optional[str]: ...
    def close(self) -> None:
        """Forgets cached tokens and refuses further calls."""
    @property
    def closed(self) -> bool: ...
    @property
    def client_id(self) -> Optional[str]: ...
    @property
    def scopes(self) -> Tuple[str, ...]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def token_url(self) -> str: ...
    @property
    def jwks_url(self) -> str: ...
    @property
    def auth_method(self) -> str:
        """``"oauth"`` or ``"api_key"``."""

class Ready:
    def __await__(self) -> Any: ...

