"""An ASGI middleware in front of the app: the checks every request goes through.

* With a token: every ``/api/`` request needs ``Authorization: Bearer TOKEN`` or the session cookie
  the page gets from ``/?token=TOKEN``. Without one (loopback only), the Host header must name this
  machine, so a web page elsewhere cannot reach the API through DNS rebinding.
* A request that changes something and comes from a browser must come from this server's own page
  (its Origin must match its Host), so other sites cannot submit or delete jobs.
* Request bodies larger than the limit are refused with 413, before they are read if their
  Content-Length says so, else as soon as the count passes the limit.
* Every response says: no sniffing, no framing, no referrer, and nothing loaded from elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from brushwork.server.config import is_loopback

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "brushwork_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


def session_value(token: str) -> str:
    """The cookie that stands for the token (the token itself never goes into a cookie)."""
    return hmac.new(token.encode(), b"brushwork session", hashlib.sha256).hexdigest()


def token_matches(token: str, given: str) -> bool:
    return hmac.compare_digest(token.encode(), given.encode())


class Guard:
    def __init__(
        self, app: ASGIApp, *, token: str | None, max_body: int, larger: Mapping[str, int] | None = None
    ) -> None:
        """``larger``: the body limits of paths that take more than ``max_body``."""
        self.app = app
        self.token = token
        self.max_body = max_body
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        problem = self._refusal(scope, headers)
        if problem is not None:
            status, message = problem
            await _send_error(send, status, message)
            return

        started = False
        too_large = False  # the body passed the limit: the app is told the client left, and we answer

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        received = 0
        max_body = self.larger.get(scope["path"], self.max_body)

        async def counted_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body and not started:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large:
            await _send_error(send, 413, f"the request is larger than {max_body} bytes")

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.token is None and not is_loopback(_hostname(host)):
            return 400, f"this server answers only to localhost, not to Host {host!r}; give it a token"
        method = scope["method"]
        origin = headers.get("origin")
        if method not in SAFE_METHODS and origin is not None and urlsplit(origin).netloc != host:
            return 403, "cross-origin requests are not allowed"
        path: str = scope["path"]
        if self.token is not None and path.startswith("/api/") and not self._authorized(headers):
            return 401, "this server needs a token: send 'Authorization: Bearer TOKEN' or open /?token=TOKEN"
        length = headers.get("content-length")
        max_body = self.larger.get(path, self.max_body)
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return 413, f"the request is larger than {max_body} bytes"
        return None

    def _authorized(self, headers: dict[str, str]) -> bool:
        assert self.token is not None
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token_matches(self.token, given.strip()):
            return True
        cookie = _cookies(headers.get("cookie", "")).get(COOKIE)
        return cookie is not None and token_matches(session_value(self.token), cookie)


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


def _hostname(host: str) -> str:
    """``127.0.0.1:8000`` → ``127.0.0.1``; ``[::1]:8000`` → ``::1``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _cookies(header: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in header.split(";"))
    return {name: value for name, _, value in pairs if name}


async def _send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
