"""`idempotent()`: one execution per idempotency key for Flask and Django views.

    ex = Exactly()

    @app.post("/api/register")              # Flask
    @ex.idempotent()
    def register(): ...

    @ex.idempotent()                        # Django
    def register(request): ...

A request carrying an ``Idempotency-Key`` header runs the view only if no request
with that key ran before: ``IDEM BEGIN`` decides, the first request runs the view
and stores its response with ``IDEM END``, every concurrent repeat waits on the
server (``WAIT``, no polling) and every later one gets the stored response
(status, body, content type) with ``Idempotent-Replayed: true``. A view that raises
or answers 5xx is aborted (``IDEM ABORT``), so a retry runs it again. A repeat
with the same key but another method, path or body answers 422; one still
running after ``wait_ms`` answers 409 with ``Retry-After``. Requests without a key
run as usual.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from typing import Any, Callable, Dict, Optional, Tuple

from .results import Outcome

Stored = Dict[str, Any]

# Headers kept with a stored response; the rest are the framework's to set again.
_KEPT_HEADERS = ("Content-Type", "Location", "Cache-Control")


def _is_django_request(obj: Any) -> bool:
    return hasattr(obj, "META") and hasattr(obj, "method") and hasattr(obj, "body")


class _Adapter:
    """What the decorator needs of a framework: the request's parts, the view's
    response as a stored dict, and a stored dict as a response."""

    def __init__(self, request: Any, django: bool):
        self.request = request
        self.django = django

    def header(self, name: str) -> Optional[str]:
        return self.request.headers.get(name)

    def fingerprint(self) -> str:
        req = self.request
        if self.django:
            parts = (req.method, req.get_full_path(), req.body)
        else:
            parts = (req.method, req.full_path, req.get_data(cache=True))
        h = hashlib.sha256()
        for p in parts:
            h.update(p if isinstance(p, bytes) else str(p).encode())
            h.update(b"\0")
        return h.hexdigest()[:32]

    def store(self, rv: Any) -> Tuple[Any, Stored]:
        if self.django:
            response = rv
            body = response.content
            headers = {k: response[k] for k in _KEPT_HEADERS if response.has_header(k)}
        else:
            import flask
            response = flask.make_response(rv)
            body = response.get_data()
            headers = {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers}
        stored = {"status": response.status_code, "headers": headers,
                  "body": base64.b64encode(body).decode("ascii")}
        return response, stored

    def replay(self, stored: Stored) -> Any:
        body = base64.b64decode(stored["body"])
        headers = dict(stored.get("headers") or {})
        headers["Idempotent-Replayed"] = "true"
        return self.respond(stored["status"], body, headers)

    def respond(self, status: int, body: bytes, headers: Dict[str, str]) -> Any:
        if self.django:
            from django.http import HttpResponse
            response = HttpResponse(body, status=status,
                                    content_type=headers.pop("Content-Type", None))
            for k, v in headers.items():
                response[k] = v
            return response
        import flask
        return flask.Response(body, status=status, headers=headers)

    def problem(self, status: int, detail: str, retry_after_s: Optional[int] = None) -> Any:
        headers = {"Content-Type": "application/problem+json"}
        if retry_after_s is not None:
            headers["Retry-After"] = str(retry_after_s)
        body = json.dumps({"status": status, "title": detail}).encode()
        return self.respond(status, body, headers)


def idempotent(ex: Any, key: Optional[Callable[[Any], Optional[str]]] = None, *,
               header: str = "Idempotency-Key", namespace: str = "idem:",
               lease_ms: int = 30_000, ttl_ms: int = 86_400_000, wait_ms: int = 30_000,
               fingerprint: bool = True, replay: Optional[Callable[[Any], Any]] = None
               ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Makes a view run once per idempotency key; see the module's docstring.

    ``ex`` is an `exactly.Exactly`. ``key(request)`` picks the key (default: the
    ``header`` header; None runs the view without idempotency); keys are stored as
    ``namespace + key``. ``lease_ms`` bounds how long a crashed runner holds the key,
    ``ttl_ms`` how long a response is kept, ``wait_ms`` how long a concurrent repeat
    waits for the first one (keep the client's read timeout above it);
    ``fingerprint`` refuses a key reused for another method, path or body;
    ``replay(response)``, if given, may change a replayed response before it is sent
    (say, to mark its body as a replay).
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if args and _is_django_request(args[0]):
                adapter = _Adapter(args[0], django=True)
            else:
                import flask
                adapter = _Adapter(flask.request, django=False)
            k = key(adapter.request) if key is not None else adapter.header(header)
            if not k:
                return view(*args, **kwargs)
            idem_key = namespace + k
            begun = ex.idem_begin(idem_key, fingerprint=adapter.fingerprint() if fingerprint
                                  else None, lease_ms=lease_ms, ttl_ms=ttl_ms, wait_ms=wait_ms)
            if begun.result is Outcome.DONE:
                response = adapter.replay(json.loads(begun.response))
                return replay(response) if replay is not None else response
            if begun.result is Outcome.MISMATCH:
                return adapter.problem(422, "idempotency key reused for another request")
            if begun.result is Outcome.RUNNING:
                return adapter.problem(409, "a request with this idempotency key is running",
                                       retry_after_s=1)
            try:
                rv = view(*args, **kwargs)
                response, stored = adapter.store(rv)
            except BaseException:
                ex.idem_abort(idem_key, begun.token)
                raise
            if stored["status"] >= 500:
                ex.idem_abort(idem_key, begun.token)
            else:
                ex.idem_end(idem_key, begun.token, json.dumps(stored, separators=(",", ":")))
            return response

        return wrapper

    return decorate
