"""Every HTTP error path answers application/problem+json (RFC 9457) and changes
nothing: the ones test_http.py does not already walk (400 argument and body
errors, 404, 405, 401, 409, 422 Idempotency-Key, 503 IOERR are there).

Each case checks the status, the content type, the problem's members (type,
title, status, detail, code), and that nothing changed: no journal record was
written (exactly_journal_records_total), the tables hold what they held, and the
keys the request named are as they were.
- 413: a declared body past 1 MiB (then the connection closes, before the body).
- 431: a header past 16 KiB (then closed).
- 400: a request that is not HTTP, a bad chunked body (closed); members of the
  wrong JSON type; a key past 512 bytes (RESP's own error text); an
  Idempotency-Key past 255 bytes.
- 422: ACCOUNT with other bounds than the account has (the engine's refusal).
- 503: OOM past --maxmemory, for a command that may add records; reads still
  answer.
"""

import json
import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
from test_http import HttpTestCase  # noqa: E402

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code"}


def raw_exchange(port, data):
    """Sends `data` on a new connection; returns (status, content type, problem,
    whether the server closed the connection after the response)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all
        received = b""
        closed = False
        try:
            while True:
                head_end = received.find(b"\r\n\r\n")
                if head_end >= 0:
                    length = int(re.search(rb"Content-Length: (\d+)", received[:head_end],
                                           re.I).group(1))
                    if len(received) >= head_end + 4 + length:
                        break
                chunk = s.recv(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
            if not closed:
                s.settimeout(5)
                closed = s.recv(1) == b""
        except ConnectionResetError:
            closed = True
    head, body = received.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    content_type = next(line.split(":", 1)[1].strip() for line in lines[1:]
                        if line.lower().startswith("content-type:"))
    return status, content_type, json.loads(body), closed


class HttpErrorPathsTest(HttpTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        # Something to keep: an account with bounds, and a claim.
        self.http.ok("account", {"key": "wallet", "min": 0, "max": 100})
        self.http.ok("claim", {"key": "kept", "owner": "a"})

    def state(self):
        """What must not change: journal records, table sizes, the kept keys."""
        self.http.conn.request("GET", "/metrics")
        text = self.http.conn.getresponse().read().decode()
        records = int(re.search(r"^exactly_journal_records_total (\d+)$", text, re.M).group(1))
        tables = tuple(re.findall(r'^exactly_table_records\{table="(\w+)"\} (\d+)$', text, re.M))
        balance = self.http.ok("balance", {"key": "wallet"})
        claim = self.http.ok("claimof", {"key": "kept"})
        return records, tables, (balance["balance"], balance["min"], balance["max"]), \
            (claim["result"], claim["owner"])

    def assert_problem(self, status, content_type, problem, want_status, detail=None):
        self.assertEqual(status, want_status, problem)
        self.assertEqual(content_type, "application/problem+json")
        self.assertEqual(set(problem), PROBLEM_MEMBERS, problem)
        self.assertEqual(problem["status"], want_status)
        self.assertEqual(problem["type"], "about:blank")
        self.assertTrue(problem["title"])
        self.assertTrue(problem["code"])
        if detail is not None:
            self.assertEqual(problem["detail"], detail)

    def test_framing_errors_answer_a_problem_then_close(self):
        before = self.state()
        cases = [
            (b"POST /v1/claim HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{"
             % (2 * 1024 * 1024), 413),
            (b"POST /v1/claim HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * (20 * 1024) +
             b"\r\nContent-Length: 2\r\n\r\n{}", 431),
            (b"THIS IS NOT HTTP\r\n\r\n", 400),
            (b"POST /v1/claim HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"zz\r\n{\"key\":\"k\"}\r\n0\r\n\r\n", 400),
        ]
        for data, want in cases:
            status, content_type, problem, closed = raw_exchange(self.http_port, data)
            self.assert_problem(status, content_type, problem, want)
            self.assertTrue(closed, "connection left open after %d" % want)
        self.assertEqual(self.state(), before)

    def test_member_and_header_errors_answer_a_problem_and_change_nothing(self):
        before = self.state()
        long_key = "k" * 513
        resp_error = str(self.resp.call("CLAIM", long_key, "o"))
        cases = [
            ("claim", {"key": ["k"], "owner": "o"}, {}, 400, None),
            ("claim", {"key": "k", "owner": {"o": 1}}, {}, 400, None),
            ("claim", {"key": "k", "owner": "o", "persist": "yes"}, {}, 400, None),
            ("claim", {"key": "k", "owner": "o", "ttl_ms": -5}, {}, 400, None),
            ("transfer", {"id": "t", "from": "wallet", "to": "x", "amount": True}, {}, 400, None),
            ("claim", {"key": long_key, "owner": "o"}, {}, 400, resp_error.split(" ", 1)[1]),
            ("claim", {"key": "k", "owner": "o"}, {"Idempotency-Key": "i" * 256}, 400, None),
            ("multi", {"commands": "claim"}, {}, 400, None),
        ]
        for command, body, headers, want, detail in cases:
            with self.subTest(command=command, body=body, headers=headers):
                status, content_type, problem = self.http.post(command, body, headers=headers)
                self.assert_problem(status, content_type, problem, want, detail)
        self.assertEqual(self.state(), before)

    def test_engine_refusal_is_422_and_changes_nothing(self):
        before = self.state()
        status, content_type, problem = self.http.post("account",
                                                       {"key": "wallet", "min": -5, "max": 100})
        self.assert_problem(status, content_type, problem, 422)
        # RESP refuses it with the same text.
        error = self.resp.call("ACCOUNT", "wallet", "MIN", "-5", "MAX", "100")
        self.assertIsInstance(error, harness.RespError)
        self.assertEqual("%s %s" % (problem["code"], problem["detail"]), str(error))
        self.assertEqual(self.state(), before)


class HttpOomTest(HttpTestCase, unittest.TestCase):
    """--maxmemory below what the server already holds: every command that may add
    records answers 503 OOM (RESP's text) and changes nothing; reads answer."""

    def new_server(self, **kwargs):
        if not hasattr(self, "http_port"):
            self.http_port = harness.free_port()
        kwargs.setdefault("extra_args", ["--http-port", str(self.http_port),
                                         "--maxmemory", "1"])
        return super().new_server(**kwargs)

    def test_growth_is_503_oom(self):
        # The heap is sampled every 100 ms; wait until the bound is in force.
        self.assertTrue(harness.wait_until(
            lambda: isinstance(self.resp.call("CLAIM", "probe", "o"), harness.RespError),
            timeout=10), "--maxmemory 1 never refused a claim")
        resp_error = self.resp.call("CLAIM", "k", "o")
        status, content_type, problem = self.http.post("claim", {"key": "k", "owner": "o"})
        self.assertEqual((status, content_type), (503, "application/problem+json"))
        self.assertEqual(problem["code"], "OOM")
        self.assertEqual(resp_error.code, "OOM")
        self.assertEqual(self.http.ok("claimof", {"key": "k"})["result"], "free")
        self.assertEqual(self.resp.call("DBSIZE"), 0)


if __name__ == "__main__":
    unittest.main()
