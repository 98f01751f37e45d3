"""HTTP/JSON against the real server: the same commands, outcomes and fields as
RESP, on its own port, into the same pipeline (docs/http.md).

- Claims, the ledger, locks, idempotency keys and limits run over HTTP and are
  seen over RESP, and the other way round; fields come in RESP's order, with
  amounts and tokens as strings (exact past 2^53).
- Every malformed request answers problem+json with RESP's own error text and
  changes nothing.
- An answered request survives kill -9: the response left after the sync.
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path

d = harness.call_dict


class HttpClient:
    """One keep-alive HTTP/1.1 connection (Python's stdlib client)."""

    def __init__(self, port, token=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def request(self, method, path, body=None, headers=None):
        """(status, content type, parsed JSON body)."""
        headers = dict(headers or {})
        if self.token is not None:
            headers["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, response.getheader("Content-Type"), json.loads(data)

    def post(self, command, body, **kwargs):
        return self.request("POST", "/v1/" + command, body, **kwargs)

    def ok(self, command, body):
        """The reply of a request that must answer 200."""
        status, _, reply = self.post(command, body)
        if status != 200:
            raise AssertionError("%s %r -> %d %r" % (command, body, status, reply))
        return reply

    def close(self):
        self.conn.close()


class HttpTestCase(harness.ServerTestCase):
    """A server with HTTP on a free port."""

    def new_server(self, **kwargs):
        if not hasattr(self, "http_port"):
            self.http_port = harness.free_port()
        kwargs.setdefault("extra_args", ["--http-port", str(self.http_port)])
        return super().new_server(**kwargs)

    def setUp(self):
        super().setUp()
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.http_port)),
                        self.server.log_tail())
        self.http = HttpClient(self.http_port)
        self.resp = self.server.raw()

    def tearDown(self):
        self.http.close()
        self.resp.close()
        super().tearDown()


class HttpCommandsTest(HttpTestCase, unittest.TestCase):

    def test_claims_answer_as_resp_does(self):
        won = self.http.ok("claim", {"key": "phone:+86", "owner": "u1", "ttl_ms": 30000})
        self.assertEqual(list(won)[0], "result")
        self.assertEqual(won["result"], "won")
        self.assertEqual(won["owner"], "u1")
        self.assertEqual(won["expires"] - won["since"], 30000)
        held = self.http.ok("claim", {"key": "phone:+86", "owner": "u2"})
        self.assertEqual((held["result"], held["owner"]), ("held", "u1"))
        # RESP sees what HTTP did, field for field, in the same order.
        resp = d(self.resp, "CLAIM", "phone:+86", "u1")
        again = self.http.ok("claim", {"key": "phone:+86", "owner": "u1"})
        self.assertEqual(resp["result"], "again")
        self.assertEqual(list(resp), list(again))
        self.assertEqual({k: str(v) for k, v in again.items()},
                         {k: str(v) for k, v in resp.items()})
        self.assertEqual(d(self.resp, "CLAIMOF", "phone:+86")["owner"], "u1")
        self.assertEqual(self.http.ok("unclaim", {"key": "phone:+86", "owner": "u1"})["result"],
                         "released")
        self.assertEqual(self.http.ok("claimof", {"key": "phone:+86"})["result"], "free")

    def test_ledger_keeps_64_bit_amounts_exact(self):
        big = str(2 ** 53 + 1)  # a JSON number would round it to 2^53
        self.assertEqual(self.http.ok("account", {"key": "mint", "min": "-inf"})["result"],
                         "created")
        self.assertEqual(self.http.ok("account", {"key": "wallet"})["result"], "created")
        ok = self.http.ok("transfer", {"id": "t1", "from": "mint", "to": "wallet", "amount": big})
        self.assertEqual((ok["result"], ok["amount"]), ("ok", big))
        again = self.http.ok("transfer", {"id": "t1", "from": "mint", "to": "wallet",
                                          "amount": big})
        self.assertEqual(again["result"], "again")
        balance = self.http.ok("balance", {"key": "wallet"})
        self.assertEqual((balance["balance"], balance["min"], balance["max"]),
                         (big, "0", "+inf"))
        self.assertEqual(str(d(self.resp, "BALANCE", "wallet")["balance"]), big)
        self.assertEqual(self.http.ok("transfer", {"id": "t2", "from": "wallet", "to": "mint",
                                                   "amount": "9223372036854775807"})["result"],
                         "insufficient")
        pending = self.http.ok("reserve", {"id": "r1", "from": "wallet", "to": "mint",
                                           "amount": 5, "timeout_ms": 60000})
        self.assertEqual(pending["result"], "pending")
        self.assertEqual(self.http.ok("commit", {"id": "r1"})["result"], "committed")
        history = self.http.ok("history", {"key": "wallet", "count": 5})
        entries = [v for v in history.values() if isinstance(v, list)]
        self.assertTrue(entries and all(isinstance(e, dict) for e in entries[0]), history)

    def test_locks_with_tokens_as_strings(self):
        acquired = self.http.ok("lock", {"name": "job", "owner": "w1", "lease_ms": 30000})
        self.assertEqual(acquired["result"], "acquired")
        token = acquired["token"]
        self.assertIsInstance(token, str)
        busy = self.http.ok("lock", {"name": "job", "owner": "w2", "lease_ms": 30000})
        self.assertEqual((busy["result"], busy["holder"]), ("busy", "w1"))
        self.assertEqual(self.http.ok("renew", {"name": "job", "token": token,
                                                "lease_ms": 30000})["result"], "renewed")
        self.assertEqual(d(self.resp, "FENCE", "job", token)["result"], "valid")
        self.assertEqual(self.http.ok("unlock", {"name": "job", "token": token})["result"],
                         "released")
        self.assertEqual(self.http.ok("fence", {"name": "job", "token": int(token)})["result"],
                         "stale")

    def test_idempotency_keys_and_limits(self):
        run = self.http.ok("idem/begin", {"key": "order-1", "fingerprint": "f1"})
        self.assertEqual(run["result"], "run")
        self.assertEqual(self.http.ok("idem/begin", {"key": "order-1",
                                                     "fingerprint": "f1"})["result"], "running")
        self.assertEqual(self.http.ok("idem/end", {"key": "order-1", "token": run["token"],
                                                   "response": "paid"})["result"], "done")
        done = d(self.resp, "IDEM", "BEGIN", "order-1", "FINGERPRINT", "f1")
        self.assertEqual((done["result"], done["response"]), ("done", "paid"))
        self.assertEqual(self.http.ok("idem/begin", {"key": "order-1",
                                                     "fingerprint": "f2"})["result"], "mismatch")
        results = [self.http.ok("limit", {"key": "ip:1", "rate": 2, "per_ms": 60000})["result"]
                   for _ in range(3)]
        self.assertEqual(results, ["allowed", "allowed", "limited"])
        window = self.http.ok("limit", {"key": "ip:2", "window": 1, "per_ms": 60000})
        self.assertEqual(window["result"], "allowed")
        self.assertEqual(d(self.resp, "LIMIT", "ip:2", "WINDOW", "1", "PER", "60000")["result"],
                         "limited")

    def test_multi_applies_all_or_none(self):
        self.http.ok("account", {"key": "shop", "min": "-inf"})
        self.http.ok("account", {"key": "alice"})
        executed = self.http.ok("multi", {"commands": [
            {"command": "transfer", "id": "g1", "from": "shop", "to": "alice", "amount": 5},
            {"command": "claim", "key": "order:1", "owner": "alice"},
        ]})
        self.assertEqual(executed["result"], "executed")
        self.assertEqual([r["result"] for r in executed["results"]], ["ok", "won"])
        # The second transfer cannot be paid: the group rolls back, the claim with it.
        rolled_back = self.http.ok("multi", {"commands": [
            {"command": "claim", "key": "order:2", "owner": "alice"},
            {"command": "transfer", "id": "g2", "from": "alice", "to": "shop", "amount": 6},
            {"command": "claimof", "key": "order:1"},
        ]})
        self.assertEqual(rolled_back["result"], "rolled_back")
        self.assertEqual([r["result"] for r in rolled_back["results"]],
                         ["rolled_back", "insufficient", "skipped"])
        self.assertEqual(rolled_back["results"][1]["failed"], 1)
        self.assertEqual(d(self.resp, "CLAIMOF", "order:2")["result"], "free")
        self.assertEqual(str(d(self.resp, "BALANCE", "alice")["balance"]), "5")
        # A malformed element refuses the whole group before anything runs.
        status, _, problem = self.http.post("multi", {"commands": [
            {"command": "claim", "key": "order:3", "owner": "alice"},
            {"command": "claim", "key": "order:4"},
        ]})
        self.assertEqual(status, 400)
        self.assertEqual(problem["detail"], "command 1 of the group: member 'owner' is required")
        self.assertEqual(d(self.resp, "CLAIMOF", "order:3")["result"], "free")

    def test_errors_are_problems_with_resp_text_and_change_nothing(self):
        cases = [
            # (command, body, RESP arguments that give the same error)
            ("claim", {"key": "k", "owner": "o", "ttl_ms": 0},
             ["CLAIM", "k", "o", "TTL", "0"]),
            ("claim", {"key": "k", "owner": "o", "ttl_ms": 1, "per": "day"},
             ["CLAIM", "k", "o", "TTL", "1", "PER", "day"]),
            ("claim", {"key": "k", "owner": "o", "per": "fortnight"},
             ["CLAIM", "k", "o", "PER", "fortnight"]),
            ("transfer", {"id": "t", "from": "a", "to": "b", "amount": 1.5},
             ["TRANSFER", "t", "a", "b", "1.5"]),
            ("transfer", {"id": "t", "from": "a", "to": "b", "amount": "99999999999999999999"},
             ["TRANSFER", "t", "a", "b", "99999999999999999999"]),
            ("account", {"key": "a", "min": 5, "max": 1}, ["ACCOUNT", "a", "MIN", "5", "MAX", "1"]),
            ("lock", {"name": "n", "owner": "o", "lease_ms": 1, "id": ""},
             ["LOCK", "n", "o", "LEASE", "1", "ID", ""]),
        ]
        for command, body, resp_args in cases:
            status, content_type, problem = self.http.post(command, body)
            self.assertEqual(status, 400, (command, body, problem))
            self.assertEqual(content_type, "application/problem+json")
            error = self.resp.call(*resp_args)
            self.assertIsInstance(error, harness.RespError)
            self.assertEqual("%s %s" % (problem["code"], problem["detail"]), str(error))
        for body in ["{", "[]", "null", ""]:
            status, _, problem = self.http.post("claim", body)
            self.assertEqual((status, problem["status"]), (400, 400), body)
        status, _, problem = self.http.post("claim", {"key": "k", "owner": "o", "colour": "red"})
        self.assertEqual(status, 400)
        self.assertIn("colour", problem["detail"])
        status, _, _ = self.http.post("nothing", {})
        self.assertEqual(status, 404)
        status, _, _ = self.http.request("GET", "/v1/claim")
        self.assertEqual(status, 405)
        # Nothing was changed by any of them.
        self.assertEqual(self.resp.call("DBSIZE"), 0)

    def test_openapi_document(self):
        status, content_type, document = self.http.request("GET", "/v1/openapi.json")
        self.assertEqual((status, content_type), (200, "application/json"))
        self.assertEqual(document["openapi"], "3.1.0")
        self.assertIn("/v1/claim", document["paths"])
        self.assertIn("/v1/idem/begin", document["paths"])

    def test_openapi_document_passes_a_real_validator(self):
        """@apidevtools/swagger-parser (tests/http/openapi/package.json) checks the
        served document against OpenAPI 3.1's schema and its own rules."""
        checker = os.path.join(harness.REPO_ROOT, "tests", "http", "openapi")
        if shutil.which("node") is None or not os.path.isdir(
                os.path.join(checker, "node_modules", "@apidevtools")):
            self.skipTest("no node or no node_modules: (cd tests/http/openapi && npm ci)")
        status, _, document = self.http.request("GET", "/v1/openapi.json")
        self.assertEqual(status, 200)
        path = os.path.join(self.tmp, "openapi.json")
        with open(path, "w") as f:
            json.dump(document, f)
        checked = subprocess.run(["node", os.path.join(checker, "validate.mjs"), path],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stdout.decode())
        # The validator does fail: a document without info.version is refused.
        del document["info"]["version"]
        with open(path, "w") as f:
            json.dump(document, f)
        refused = subprocess.run(["node", os.path.join(checker, "validate.mjs"), path],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertNotEqual(refused.returncode, 0)

    def test_pipelined_requests_answer_in_order(self):
        with harness.socket.create_connection(("127.0.0.1", self.http_port), timeout=10) as s:
            requests = b""
            for i in range(20):
                body = json.dumps({"key": "p%d" % i, "owner": "o"}).encode()
                requests += (b"POST /v1/claim HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
            s.sendall(requests)
            data = b""
            while data.count(b"HTTP/1.1 200") < 20 or not data.endswith(b"}"):
                chunk = s.recv(65536)
                self.assertTrue(chunk, data)
                data += chunk
        keys = [json.loads(part.split(b"\r\n\r\n", 1)[1])["key"]
                for part in data.split(b"HTTP/1.1 ")[1:]]
        self.assertEqual(keys, ["p%d" % i for i in range(20)])


class HttpRaceTest(HttpTestCase, unittest.TestCase):
    """`exactly race` against the HTTP API: 50 owners claiming one seat at the same
    moment, three rounds; exactly one wins each round."""

    def race(self, expect):
        url = "http://127.0.0.1:%d/v1/claim" % self.http_port
        return subprocess.run(
            [harness.binary(), "race", "-n", "50", "--rounds", "3", "--users", "50",
             "-d", '{"key":"seat-{{round}}","owner":"{{user}}"}',
             "-H", "Content-Type: application/json",
             "--success", 'body~"result":"won"', "--expect", expect, url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)

    def test_one_owner_wins_each_round(self):
        held = self.race("success==1")
        self.assertEqual(held.returncode, 0, held.stdout.decode())
        # The same race judged against a wrong expectation is reported violated.
        violated = self.race("success==50")
        self.assertEqual(violated.returncode, 1, violated.stdout.decode())


class HttpDurabilityTest(HttpTestCase, unittest.TestCase):

    def test_answered_requests_survive_kill_9(self):
        for i in range(20):
            self.assertEqual(self.http.ok("claim", {"key": "k%d" % i, "owner": "o"})["result"],
                             "won")
        self.http.close()
        self.resp.close()
        self.restart(kill=True)
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.http_port)))
        self.http = HttpClient(self.http_port)
        self.resp = self.server.raw()
        for i in range(20):
            self.assertEqual(self.http.ok("claimof", {"key": "k%d" % i})["owner"], "o")


@unittest.skipIf(shutil.which("strace") is None, "strace not installed")
class HttpDurabilityOrderTest(HttpTestCase, unittest.TestCase):
    """Under strace every fdatasync takes 1.5 s (test_durability_order.py): an
    HTTP write's response must wait for it, while RESP's PING does not. With
    --fsync no the same write answers at once, so the check can fail."""

    fsync_mode = None

    def setUp(self):
        from test_durability_order import strace_wrapper
        super().setUp()
        self.http.close()
        self.resp.close()
        self.server.stop()
        self.trace_path = os.path.join(self.tmp, "strace.out")
        kwargs = {"wrapper": strace_wrapper(self.trace_path)}
        if self.fsync_mode:
            kwargs["fsync"] = self.fsync_mode
        self.server = self.new_server(port=self.server.port, **kwargs).start(timeout=60)
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.http_port), 30))
        self.http = HttpClient(self.http_port)
        self.resp = self.server.raw(timeout=60)

    def timed_claim(self):
        self.assertEqual(self.resp.call("PING"), "PONG")
        started = time.monotonic()
        self.http.conn.request("POST", "/v1/claim", body=json.dumps({"key": "d", "owner": "o"}))
        time.sleep(0.2)  # the claim is in the engine and its sync has begun
        ping_started = time.monotonic()
        self.assertEqual(self.resp.call("PING"), "PONG")
        ping_s = time.monotonic() - ping_started
        response = self.http.conn.getresponse()
        self.assertEqual(json.loads(response.read())["result"], "won")
        return time.monotonic() - started, ping_s

    def test_the_response_leaves_after_fdatasync(self):
        write_s, ping_s = self.timed_claim()
        self.assertGreaterEqual(write_s, 1.2, "answered before its fdatasync returned")
        self.assertLess(ping_s, 0.5, "RESP's PING waited for an HTTP write's sync")


class HttpDurabilityOrderControlTest(HttpDurabilityOrderTest):
    fsync_mode = "no"

    def test_the_response_leaves_after_fdatasync(self):
        write_s, _ = self.timed_claim()
        self.assertLess(write_s, 0.8, "with --fsync no the write still waited")


@unittest.skipIf(shutil.which("strace") is None, "strace not installed")
class HttpStorageFailureTest(HttpTestCase, unittest.TestCase):
    """Every fdatasync from the 4th on fails with EIO (test_storage_faults.py's
    injection): HTTP writes then answer 503 with code IOERR and are never
    acknowledged, reads still answer, and a restart has every acknowledged one."""

    def setUp(self):
        from test_storage_faults import strace_wrapper
        super().setUp()
        self.http.close()
        self.resp.close()
        self.server.stop()
        wrapper = strace_wrapper(os.path.join(self.tmp, "strace.out"), "fdatasync", "4+")
        self.server = self.new_server(port=self.server.port, wrapper=wrapper).start(timeout=60)
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.http_port), 30))
        self.http = HttpClient(self.http_port)
        self.resp = self.server.raw(timeout=60)

    def test_writes_after_the_failure_are_503_and_reads_answer(self):
        acknowledged, failed = [], None
        for i in range(50):
            status, _, body = self.http.post("claim", {"key": "io%d" % i, "owner": "o"})
            if status == 200:
                self.assertIsNone(failed, "a write was acknowledged after one failed")
                acknowledged.append(i)
            else:
                self.assertEqual((status, body["code"]), (503, "IOERR"), body)
                failed = failed if failed is not None else i
        self.assertIsNotNone(failed, "the injected EIO was never hit")
        self.assertTrue(acknowledged, "no write was acknowledged before the fault")
        read = self.http.ok("claimof", {"key": "io%d" % acknowledged[0]})
        self.assertEqual(read["owner"], "o")
        self.http.close()
        self.resp.close()
        self.restart(wrapper=None)
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.http_port)))
        self.http = HttpClient(self.http_port)
        self.resp = self.server.raw()
        for i in acknowledged:
            self.assertEqual(self.http.ok("claimof", {"key": "io%d" % i})["owner"], "o")


class HttpIdempotencyKeyTest(HttpTestCase, unittest.TestCase):
    """The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header): one
    run per key on the server's IDEM table; repeats answer the stored response,
    409 while the first runs, 422 with another body."""

    LIMIT = {"key": "ip:9", "window": 1000, "per_ms": 600000}

    def test_fifty_simultaneous_posts_run_once(self):
        clients = 50
        barrier = threading.Barrier(clients)
        results = [None] * clients
        conns = [HttpClient(self.http_port) for _ in range(clients)]

        def post(i):
            barrier.wait(10)
            results[i] = conns[i].post("limit", self.LIMIT, headers={"Idempotency-Key": "burst"})

        threads = [threading.Thread(target=post, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for c in conns:
            c.close()
        stored = [body for status, _, body in results if status == 200]
        in_flight = [body for status, _, body in results if status == 409]
        self.assertEqual(len(stored) + len(in_flight), clients, results)
        self.assertTrue(stored, "no request got the stored response")
        self.assertTrue(all(body == stored[0] for body in stored), stored)
        self.assertEqual((stored[0]["result"], stored[0]["remaining"]), ("allowed", 999))
        for problem in in_flight:
            self.assertEqual(problem["status"], 409)
        # The limit was taken once: RESP's request is the second.
        self.assertEqual(d(self.resp, "LIMIT", "ip:9", "WINDOW", "1000", "PER", "600000")
                         ["remaining"], 998)
        # Once it is done, every repeat answers the stored response.
        status, _, again = self.http.post("limit", self.LIMIT, headers={"Idempotency-Key": "burst"})
        self.assertEqual((status, again), (200, stored[0]))

    def test_another_body_or_path_with_the_key_is_422(self):
        headers = {"Idempotency-Key": '"order-7"'}
        self.assertEqual(self.http.post("claim", {"key": "k", "owner": "a"}, headers=headers)[0],
                         200)
        status, _, problem = self.http.post("claim", {"key": "k", "owner": "b"}, headers=headers)
        self.assertEqual((status, problem["status"]), (422, 422))
        self.assertEqual(self.http.post("claimof", {"key": "k"}, headers=headers)[0], 422)
        self.assertEqual(d(self.resp, "CLAIMOF", "k")["owner"], "a")

    def test_the_stored_response_survives_kill_9(self):
        self.http.ok("account", {"key": "mint", "min": "-inf"})
        self.http.ok("account", {"key": "wallet"})
        payment = {"id": "pay-1", "from": "mint", "to": "wallet", "amount": 40}
        headers = {"Idempotency-Key": "pay-1"}
        status, _, first = self.http.post("transfer", payment, headers=headers)
        self.assertEqual((status, first["result"]), (200, "ok"))
        self.http.close()
        self.resp.close()
        self.restart(kill=True)
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.http_port)))
        self.http = HttpClient(self.http_port)
        self.resp = self.server.raw()
        # Run again, the transfer would answer `again`: this is the stored `ok`.
        status, _, repeat = self.http.post("transfer", payment, headers=headers)
        self.assertEqual((status, repeat), (200, first))
        self.assertEqual(self.http.ok("balance", {"key": "wallet"})["balance"], "40")


class HttpMetricsTest(HttpTestCase, unittest.TestCase):

    def metrics(self):
        """GET /metrics parsed: {name{labels}: value}, every line checked."""
        self.http.conn.request("GET", "/metrics")
        response = self.http.conn.getresponse()
        text = response.read().decode()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.getheader("Content-Type").startswith("text/plain"))
        samples, typed = {}, set()
        sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.e+-]+)$')
        histograms = set()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                typed.add(name)
                if kind == "histogram":
                    histograms.add(name)
            elif not line.startswith("# HELP "):
                match = sample.match(line)
                self.assertIsNotNone(match, line)
                family = re.sub(r"_(bucket|sum|count)$", "", match.group(1))
                if family not in histograms:
                    family = match.group(1)
                self.assertIn(family, typed, line)
                value = float(match.group(3))
                samples[match.group(1) + (match.group(2) or "")] = (
                    int(value) if value.is_integer() else value)
        for name in histograms:
            # Cumulative buckets, the last (+Inf) equal to _count.
            buckets = [v for k, v in samples.items() if k.startswith(name + "_bucket{")]
            self.assertEqual(buckets, sorted(buckets), name)
            self.assertEqual(samples[name + '_bucket{le="+Inf"}'], samples[name + "_count"])
        return samples

    def histogram_delta(self, before, after, name):
        """(count, sum) of histogram `name` observed between two scrapes."""
        return (after[name + "_count"] - before[name + "_count"],
                after[name + "_sum"] - before[name + "_sum"])

    def test_histograms_count_every_batch_and_fsync(self):
        """With --fsync always each unpipelined claim is one batch, one journal record
        and one fdatasync; pipelined and concurrent claims share them, but every
        command is in one batch and every record under one fsync."""
        before = self.metrics()
        claims = 9
        for i in range(claims):
            self.http.ok("claim", {"key": "h%d" % i, "owner": "a"})
        after = self.metrics()
        self.assertEqual(self.histogram_delta(before, after, "exactly_batch_commands"),
                         (claims, claims))
        self.assertEqual(self.histogram_delta(before, after, "exactly_fsync_records"),
                         (claims, claims))
        self.assertEqual(after["exactly_fsync_duration_seconds_count"]
                         - before["exactly_fsync_duration_seconds_count"], claims)
        self.assertGreater(after["exactly_fsync_duration_seconds_sum"],
                           before["exactly_fsync_duration_seconds_sum"])
        self.assertEqual(after["exactly_fsync_duration_seconds_count"],
                         after["exactly_fsyncs_total"])
        self.assertEqual(after["exactly_durable_lsn_lag"], 0)

        # 4 threads x 20 pipelined claims each, over RESP and HTTP at once.
        def pipelined_http(t):
            with harness.socket.create_connection(("127.0.0.1", self.http_port),
                                                  timeout=30) as s:
                requests = b""
                for i in range(20):
                    body = json.dumps({"key": "p%d-%d" % (t, i), "owner": "o"}).encode()
                    requests += (b"POST /v1/claim HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                s.sendall(requests)
                data = b""
                while data.count(b'"result":"won"') < 20:
                    chunk = s.recv(65536)
                    self.assertTrue(chunk, data)
                    data += chunk

        def pipelined_resp(t):
            r = self.server.raw()
            try:
                r.send(b"".join(harness.encode("CLAIM", "r%d-%d" % (t, i), "o")
                                for i in range(20)))
                for _ in range(20):
                    self.assertNotIsInstance(r.read_reply(), harness.RespError)
            finally:
                r.close()

        threads = [threading.Thread(target=pipelined_http, args=(t,)) for t in range(2)]
        threads += [threading.Thread(target=pipelined_resp, args=(t,)) for t in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        last = self.metrics()
        batches, commands = self.histogram_delta(after, last, "exactly_batch_commands")
        self.assertEqual(commands, 80)
        self.assertEqual(batches, last["exactly_batches_total"] - after["exactly_batches_total"])
        syncs, records = self.histogram_delta(after, last, "exactly_fsync_records")
        self.assertEqual(records, last["exactly_journal_records_total"]
                         - after["exactly_journal_records_total"])
        self.assertEqual(syncs, last["exactly_fsyncs_total"] - after["exactly_fsyncs_total"])
        self.assertLessEqual(syncs, records)
        self.assertEqual(last['exactly_table_records{table="claims"}'], claims + 80)

    def test_counters_match_what_was_sent(self):
        for i in range(7):
            self.http.ok("claim", {"key": "m%d" % i, "owner": "a"})
        for i in range(3):
            self.http.ok("claim", {"key": "m%d" % i, "owner": "b"})
        for _ in range(2):
            self.assertEqual(self.http.post("claim", {"key": "m"})[0], 400)
        self.assertEqual(self.http.post("nothing", {})[0], 404)
        d(self.resp, "CLAIM", "resp-key", "a")
        m = self.metrics()
        self.assertEqual(m['exactly_http_requests_total{command="claim",outcome="won"}'], 7)
        self.assertEqual(m['exactly_http_requests_total{command="claim",outcome="held"}'], 3)
        self.assertEqual(m['exactly_http_errors_total{status="400",code="ERR"}'], 2)
        self.assertEqual(m['exactly_http_errors_total{status="404",code="ERR"}'], 1)
        self.assertEqual(m['exactly_table_records{table="claims"}'], 8)
        self.assertGreater(m['exactly_table_records_max{table="claims"}'], 8)
        self.assertEqual(m["exactly_http_connections"], 1)
        self.assertEqual(m["exactly_resp_connections"], 1)
        self.assertGreaterEqual(m["exactly_resp_commands_total"], 1)
        self.assertEqual(m["exactly_durable_lsn"], m["exactly_applied_lsn"])
        self.assertGreaterEqual(m["exactly_fsyncs_total"], 1)
        self.assertEqual(m["exactly_storage_failed"], 0)
        # Replies by command and outcome count RESP's and HTTP's together.
        self.assertEqual(m['exactly_commands_total{command="claim",outcome="won"}'], 8)
        self.assertEqual(m['exactly_commands_total{command="claim",outcome="held"}'], 3)
        # The counters go on from there.
        self.http.ok("claim", {"key": "m0", "owner": "a"})
        self.assertEqual(self.metrics()['exactly_http_requests_total{command="claim",'
                                        'outcome="again"}'], 1)


class HttpAuthTest(HttpTestCase, unittest.TestCase):
    server_kwargs = {"requirepass": "s3cret"}

    def setUp(self):
        super().setUp()
        self.assertEqual(self.resp.call("AUTH", "s3cret"), "OK")

    def test_requests_need_the_password_as_a_bearer_token(self):
        status, _, problem = self.http.post("claim", {"key": "k", "owner": "o"})
        self.assertEqual((status, problem["code"]), (401, "NOAUTH"))
        wrong = HttpClient(self.http_port, token="nope")
        self.assertEqual(wrong.post("claim", {"key": "k", "owner": "o"})[0], 401)
        wrong.close()
        self.assertEqual(self.resp.call("DBSIZE"), 0)
        right = HttpClient(self.http_port, token="s3cret")
        self.assertEqual(right.ok("claim", {"key": "k", "owner": "o"})["result"], "won")
        right.close()


class HttpIdleTimeoutTest(HttpTestCase, unittest.TestCase):
    """--timeout closes idle HTTP clients as it does RESP's."""

    def new_server(self, **kwargs):
        if not hasattr(self, "http_port"):
            self.http_port = harness.free_port()
        kwargs.setdefault("extra_args", ["--http-port", str(self.http_port), "--timeout", "1"])
        return harness.ServerTestCase.new_server(self, **kwargs)

    def test_an_idle_connection_is_closed_after_timeout(self):
        self.http.ok("claim", {"key": "k", "owner": "o"})
        sock = self.http.conn.sock
        sock.settimeout(10)
        started = time.monotonic()
        self.assertEqual(sock.recv(1), b"", "the idle connection was not closed")
        self.assertGreaterEqual(time.monotonic() - started, 0.5)


class HttpPortTest(unittest.TestCase):

    def test_a_given_port_in_use_refuses_to_start_and_the_default_only_warns(self):
        import tempfile
        import shutil
        tmp = tempfile.mkdtemp(prefix="exactly-it-")
        try:
            with harness.socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen(1)
                port = taken.getsockname()[1]
                server = harness.Server(os.path.join(tmp, "a"),
                                        extra_args=["--http-port", str(port)])
                with self.assertRaises(harness.ServerError):
                    server.start(timeout=10)
            off = harness.Server(os.path.join(tmp, "b"), extra_args=["--http-port", "0"]).start()
            self.assertNotIn("HTTP on", off.log_text())
            off.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
