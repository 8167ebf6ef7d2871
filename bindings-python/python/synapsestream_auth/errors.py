"""Exceptions raised by synapsestream_auth.

Every error is a :class:`SynapseAuthError` whose ``code`` is the engine's
stable string code; each code has its own subclass. Messages never contain a
client secret, an API key or a token.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "SynapseAuthError",
    "InvalidCredentialsError",
    "InsufficientScopeError",
    "TokenExpiredError",
    "RateLimitedError",
    "CircuitOpenError",
    "TransportError",
    "ProtocolError",
    "ConfigError",
    "InvalidTokenError",
    "ApiError",
]


class SynapseAuthError(Exception):
    """Base class of every synapsestream_auth error.

    Attributes:
        code: the stable error code (``"rate_limited"``, ``"invalid_credentials"``, ...).
        message: the human-readable message, without the code.
        status: the HTTP status behind the error, when there was one.
        retry_after: seconds to wait before trying again (rate limits), or None.
        required_scope: the scope the server said was missing (insufficient_scope).
        field: the configuration field at fault (config errors).
        body: the response body of an ``api`` error (truncated).
    """

    code: str = "error"

    def __init__(
        self,
        text: str,
        *,
        code: Optional[str] = None,
        message: Optional[str] = None,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
        required_scope: Optional[str] = None,
        field: Optional[str] = None,
        body: Optional[str] = None,
    ) -> None:
        super().__init__(text)
        if code is not None:
            self.code = code
        self.message: str = text if message is None else message
        self.status: Optional[int] = status
        self.retry_after: Optional[float] = retry_after
        self.required_scope: Optional[str] = required_scope
        self.field: Optional[str] = field
        self.body: Optional[str] = body


class InvalidCredentialsError(SynapseAuthError):
    """401: the client id, secret or API key was rejected."""

    code = "invalid_credentials"


class InsufficientScopeError(SynapseAuthError):
    """403: the token lacks a scope the call needs (see ``required_scope``)."""

    code = "insufficient_scope"


class TokenExpiredError(SynapseAuthError):
    """418: the access token expired and a refresh did not help."""

    code = "token_expired"


class RateLimitedError(SynapseAuthError):
    """429: rate limited; ``retry_after`` says how long to wait (seconds)."""

    code = "rate_limited"


class CircuitOpenError(SynapseAuthError):
    """Authentication keeps failing: the client fails fast until the cool-down ends."""

    code = "circuit_open"


class TransportError(SynapseAuthError, ConnectionError):
    """Connect, TLS, timeout or connection reset."""

    code = "transport"


class ProtocolError(SynapseAuthError):
    """A malformed, oversize or unexpected response."""

    code = "protocol"


class ConfigError(SynapseAuthError, ValueError):
    """A bad configuration value or argument; ``field`` names it."""

    code = "config"


class InvalidTokenError(SynapseAuthError):
    """A JWT failed validation (bad signature, expired, wrong issuer, ...)."""

    code = "invalid_token"


class ApiError(SynapseAuthError):
    """Any other HTTP error status from the API; see ``status`` and ``body``."""

    code = "api"


_BY_CODE: Dict[str, Type[SynapseAuthError]] = {
    cls.code: cls
    for cls in (
        InvalidCredentialsError,
        InsufficientScopeError,
        TokenExpiredError,
        RateLimitedError,
        CircuitOpenError,
        TransportError,
        ProtocolError,
        ConfigError,
        InvalidTokenError,
        ApiError,
    )
}
