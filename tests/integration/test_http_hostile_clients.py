"""HTTP clients' buffers count in --maxmemory-clients, as RESP clients' do.

With --maxmemory-clients 4mb:
  - 12 clients each declare a 1,000,000-byte body and send most of it, never
    finishing: the largest are closed until all buffers together are within the
    bound, and a normal HTTP client's requests still answer;
  - 8 clients pipeline POST /v1/claimof and never read their responses: the same.
Negative control: the same body flood under --maxmemory-clients 64mb closes
nobody, and INFO's mem_clients_normal shows the flood's bytes (so the 4mb run's
closures come from counting them).
"""

import json
import os
import select
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import floods  # noqa: E402 - found through the line above when run by path
import harness  # noqa: E402
from test_http import HttpClient, HttpTestCase  # noqa: E402

MIB = 1 << 20
FLOODERS = 12
DECLARED = 1_000_000
NON_READERS = 8


class HttpClientBufferTest(HttpTestCase, unittest.TestCase):
    bound = "4mb"

    def new_server(self, **kwargs):
        if not hasattr(self, "http_port"):
            self.http_port = harness.free_port()
        kwargs.setdefault("extra_args", ["--http-port", str(self.http_port),
                                         "--maxmemory-clients", self.bound])
        return super().new_server(**kwargs)

    def setUp(self):
        super().setUp()
        self.sockets = []

    def tearDown(self):
        for s in self.sockets:
            s.close()
        super().tearDown()

    def connect(self, n):
        return floods.connect_many(self.http_port, n, self.sockets)

    def evicted(self):
        return harness.info_field(self.server, "evicted_clients")

    def flood_bodies(self, until_evicted):
        """12 clients declare 1 MB bodies and send 900 KB of each; returns them."""
        conns = self.connect(FLOODERS)
        head = (b"POST /v1/claim HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % DECLARED)
        for s in conns:
            s.sendall(head)
        body = b" " * 65536
        sent = {s: 0 for s in conns}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if until_evicted and self.evicted() > 0:
                break
            pending = [s for s in conns if sent[s] < 900_000]
            if not pending:
                break
            _, writable, _ = select.select([], pending, [], 0.1)
            for s in writable:
                try:
                    sent[s] += s.send(body[:900_000 - sent[s]])
                except OSError:
                    sent[s] = 900_000  # closed by the server: allowed
        return conns

    def assert_normal_client_answers(self):
        client = HttpClient(self.http_port)
        try:
            self.assertEqual(client.ok("claim", {"key": "normal", "owner": "n"})["result"],
                             "won")
            self.assertEqual(client.ok("claimof", {"key": "normal"})["owner"], "n")
        finally:
            client.close()

    def test_clients_flooding_huge_bodies_are_closed(self):
        conns = self.flood_bodies(until_evicted=True)
        self.assertTrue(harness.wait_until(lambda: self.evicted() > 0, timeout=10),
                        "no client was closed past --maxmemory-clients")
        closed = sum(1 for s in conns if floods.closed_by_server(s))
        self.assertGreater(closed, 0)
        self.assertLess(closed, FLOODERS, "all were closed: only the largest should be")
        self.assertIn("closing HTTP client", self.server.log_tail())
        self.assert_normal_client_answers()
        # What stayed is within the bound; the bodies changed nothing.
        self.assertLessEqual(harness.info_field(self.server, "mem_clients_normal"), 4 * MIB)
        self.assertEqual(self.resp.call("DBSIZE"), 1)

    def test_clients_that_pipeline_and_never_read_are_closed(self):
        conns = self.connect(NON_READERS)
        body = json.dumps({"key": "k"}).encode()
        request = (b"POST /v1/claimof HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                   % (len(body), body))
        floods.flood_without_reading(list(conns), request * 256, lambda: self.evicted() > 0,
                                     deadline_s=20)
        self.assertGreater(self.evicted(), 0, "no non-reader was closed")
        self.assertGreater(sum(1 for s in conns if floods.closed_by_server(s)), 0)
        self.assert_normal_client_answers()


class HttpClientBufferControlTest(HttpClientBufferTest):
    """Negative control: a bound the flood stays under closes nobody, while the
    flood's bytes do show in mem_clients_normal."""
    bound = "64mb"

    def test_clients_flooding_huge_bodies_are_closed(self):
        self.flood_bodies(until_evicted=False)
        self.assertTrue(harness.wait_until(
            lambda: harness.info_field(self.server, "mem_clients_normal") >= FLOODERS * DECLARED,
            timeout=10), harness.info_field(self.server, "mem_clients_normal"))
        self.assertEqual(self.evicted(), 0)
        self.assert_normal_client_answers()

    def test_clients_that_pipeline_and_never_read_are_closed(self):
        self.skipTest("the control is the body flood's")


if __name__ == "__main__":
    unittest.main()
