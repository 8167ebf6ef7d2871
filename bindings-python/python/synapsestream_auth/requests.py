"""A ``requests`` authentication handler backed by a synapsestream_auth client.

::

    import requests
    from synapsestream_auth import Client
    from synapsestream_auth.requests import SynapseAuth

    session = requests.Session()
    session.auth = SynapseAuth(Client.from_env())
    session.get("https://api.synapsestream.io/v1/models")

Each request gets ``Authorization: Bearer <token>`` (or ``X-API-Key`` for an API-key
client). A 418 (token expired) or 401 answer makes it drop the token, fetch a new
one and send the request once more. Needs ``pip install synapsestream-auth[requests]``.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Union

try:
    from requests.auth import AuthBase
    from requests.models import PreparedRequest, Response
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "synapsestream_auth.requests needs the 'requests' package: pip install 'synapsestream-auth[requests]'"
    ) from e

from ._adapter import DEFAULT_RETRY_STATUSES, _Credentials
from ._client import AsyncClient, Client

__all__ = ["SynapseAuth"]

_RETRIED = "_synapsestream_auth_retried"


class SynapseAuth(AuthBase):
    """``requests`` auth: attaches the client's token (or API key); on 418/401
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

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        c = self._credentials
        c.check_url(r.url or "")
        r.headers[c.header_name] = c.header_value()
        r.register_hook("response", self._handle_response)  # type: ignore[no-untyped-call]
        return r

    def _handle_response(self, response: Response, **kwargs: Any) -> Response:
        c = self._credentials
        request = response.request
        if not c.should_retry(response.status_code) or getattr(request, _RETRIED, False):
            return response
        used = request.headers.get(c.header_name)
        c.forget(used)
        fresh = c.header_value()
        if fresh == used and c.api_key_mode:
            return response  # nothing new to try
        # Drain and release the connection, then resend a copy once.
        response.content
        response.close()
        retry = request.copy()
        retry.headers[c.header_name] = fresh
        setattr(retry, _RETRIED, True)
        adapter = response.connection
        second: Response = adapter.send(retry, **kwargs)
        second.history.append(response)
        second.request = retry
        return second

    def __repr__(self) -> str:
        return f"<SynapseAuth for {self._credentials.client!r}>"
