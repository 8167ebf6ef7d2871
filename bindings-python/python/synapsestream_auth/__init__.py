"""synapsestream_auth: SynapseStream API authentication for Python.

OAuth 2.0 client-credentials tokens (cached, refreshed ahead of expiry, one
token request however many threads or tasks ask), API keys, authenticated API
calls with retries, and JWT validation against the provider's JWKS. The engine
is the Rust crate ``synapse-auth-core``; this package is a thin binding.

Quick start::

    from synapsestream_auth import Client

    with Client.from_env() as client:        # SYNAPSE_CLIENT_ID, SYNAPSE_CLIENT_SECRET, ...
        token = client.get_token()
        print(token.scopes, token.expires_at)
        print(client.request("GET", "/v1/models").json())

Adapters for HTTP libraries live in :mod:`synapsestream_auth.requests` and
:mod:`synapsestream_auth.httpx` (install the ``requests`` / ``httpx`` extras).
Logs go to the standard :mod:`logging` logger ``"synapsestream_auth"``.
"""

from __future__ import annotations

import logging as _logging

from ._client import AsyncClient, Client
from ._native import CONFIG_KEYS, ERROR_CODES, AccessToken, Response, __version__
from .errors import (
    ApiError,
    CircuitOpenError,
    ConfigError,
    InsufficientScopeError,
    InvalidCredentialsError,
    InvalidTokenError,
    ProtocolError,
    RateLimitedError,
    SynapseAuthError,
    TokenExpiredError,
    TransportError,
)

_logging.getLogger("synapsestream_auth").addHandler(_logging.NullHandler())

__all__ = [
    "AccessToken",
    "ApiError",
    "AsyncClient",
    "CONFIG_KEYS",
    "CircuitOpenError",
    "Client",
    "ConfigError",
    "ERROR_CODES",
    "InsufficientScopeError",
    "InvalidCredentialsError",
    "InvalidTokenError",
    "ProtocolError",
    "RateLimitedError",
    "Response",
    "SynapseAuthError",
    "TokenExpiredError",
    "TransportError",
    "__version__",
]
