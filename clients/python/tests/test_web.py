"""The idempotent() view decorator under 20 simultaneous requests with one key, in
Flask and in Django, each served by a real threaded WSGI server: one execution,
20 identical responses."""

import http.client
import json
import threading
import unittest
import uuid

import support
from exactly import Exactly

try:
    import flask
except ImportError:  # pragma: no cover - Debian's python3-flask is a test dependency
    flask = None
try:
    import django
except ImportError:  # pragma: no cover
    django = None

from werkzeug.serving import make_server

CONCURRENT = 20


class Counter:
    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def bump(self):
        with self.lock:
            self.n += 1
            return self.n


def serve(wsgi_app):
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def post_all(port, path, headers, body=b"{}", n=CONCURRENT):
    """n POSTs released together; returns [(status, body, headers)]."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def one(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        out[i] = (resp.status, resp.read(), dict(resp.getheaders()))
        conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return out


class DecoratorChecks:
    """Shared by the Flask and Django apps: POST /pay runs `Counter.bump` once per
    key and answers 201 with a JSON body naming the execution."""

    def test_twenty_at_once_run_once(self):
        key = uuid.uuid4().hex
        before = self.counter.n
        replies = post_all(self.port, "/pay", {"Idempotency-Key": key,
                                               "Content-Type": "application/json"})
        self.assertEqual(self.counter.n, before + 1, "the view ran more than once")
        statuses = {r[0] for r in replies}
        bodies = {r[1] for r in replies}
        self.assertEqual(statuses, {201}, replies[:3])
        self.assertEqual(len(bodies), 1, bodies)
        self.assertEqual(json.loads(bodies.pop())["execution"], before + 1)
        types = {r[2].get("Content-Type") for r in replies}
        self.assertEqual(len(types), 1, types)
        replayed = sum(1 for r in replies if r[2].get("Idempotent-Replayed") == "true")
        self.assertEqual(replayed, CONCURRENT - 1)

    def test_other_body_with_the_same_key_is_refused(self):
        key = uuid.uuid4().hex
        first = post_all(self.port, "/pay", {"Idempotency-Key": key}, body=b"a", n=1)[0]
        other = post_all(self.port, "/pay", {"Idempotency-Key": key}, body=b"b", n=1)[0]
        self.assertEqual(first[0], 201)
        self.assertEqual(other[0], 422)

    def test_without_a_key_every_request_runs(self):
        before = self.counter.n
        post_all(self.port, "/pay", {}, n=3)
        self.assertEqual(self.counter.n, before + 3)

    def test_a_failing_view_is_aborted_and_runs_again(self):
        key = uuid.uuid4().hex
        self.assertEqual(post_all(self.port, "/fail", {"Idempotency-Key": key}, n=1)[0][0], 500)
        self.assertEqual(post_all(self.port, "/fail", {"Idempotency-Key": key}, n=1)[0][0], 500)
        self.assertEqual(self.fails.n, 2)


@unittest.skipIf(flask is None, "python3-flask not installed")
class FlaskDecoratorTest(DecoratorChecks, support.ServerCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ex = Exactly(cls.url)
        cls.counter = counter = Counter()
        cls.fails = fails = Counter()
        app = flask.Flask("idem-test")
        app.logger.disabled = True  # the failing view's traceback is expected

        @app.post("/pay")
        @cls.ex.idempotent(wait_ms=20_000)
        def pay():
            n = counter.bump()
            threading.Event().wait(0.3)  # slow work: the others arrive meanwhile
            return flask.jsonify(execution=n), 201

        @app.post("/fail")
        @cls.ex.idempotent()
        def fail():
            fails.bump()
            raise RuntimeError("the view failed")

        cls.http = serve(app)
        cls.port = cls.http.server_port

    @classmethod
    def tearDownClass(cls):
        cls.http.shutdown()
        cls.ex.close()
        super().tearDownClass()


# Django: a settings-free configuration with this module as its URLconf.
urlpatterns = []


@unittest.skipIf(django is None, "python3-django not installed")
class DjangoDecoratorTest(DecoratorChecks, support.ServerCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from django.conf import settings
        if not settings.configured:
            settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
                               MIDDLEWARE=[], SECRET_KEY="test", USE_TZ=True,
                               LOGGING_CONFIG=None)
            django.setup()
        from django.core.handlers.wsgi import WSGIHandler
        from django.http import JsonResponse
        from django.urls import path

        cls.ex = Exactly(cls.url)
        cls.counter = counter = Counter()
        cls.fails = fails = Counter()

        @cls.ex.idempotent(wait_ms=20_000)
        def pay(request):
            n = counter.bump()
            threading.Event().wait(0.3)
            return JsonResponse({"execution": n}, status=201)

        @cls.ex.idempotent()
        def fail(request):
            fails.bump()
            raise RuntimeError("the view failed")

        urlpatterns[:] = [path("pay", pay), path("fail", fail)]
        cls.http = serve(WSGIHandler())
        cls.port = cls.http.server_port

    @classmethod
    def tearDownClass(cls):
        cls.http.shutdown()
        cls.ex.close()
        super().tearDownClass()


if __name__ == "__main__":
    unittest.main()
