"""TLS against the real server: RESP over TLS on --tls-port, HTTPS on the HTTP
port, through the clients people use (docs/tls.md).

- redis-cli --tls, redis-py ssl=True and curl --cacert reach the same engine as
  the plain port, with certificates made here by the openssl CLI (a CA and a
  server certificate for 127.0.0.1).
- A pipelined burst and replies larger than one TLS record arrive whole.
- Plain text to the TLS port, or a handshake that never finishes, costs only
  that client its connection; the others keep working.
- A write acknowledged over TLS survives kill -9.
- Unusable certificate or key files refuse the start with the file named.
- With --tls-ca-cert a client without a certificate is refused.
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path

d = harness.as_dict


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_certificates(directory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all
    signed by the CA: ca.pem, server.pem/server.key, client.pem/client.key."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=exactly test CA", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, extra in (("server", ["-extfile", "server.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                name + ".csr", "-subj", "/CN=exactly test " + name, cwd=directory)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", *extra, cwd=directory)


def closed_by_peer(sock, timeout):
    """True if the peer closes (EOF or reset) within `timeout` seconds without
    sending a byte; False if it sends bytes or leaves the socket open."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    return data == b""


class TlsRawConnection(harness.RawConnection):
    """harness.RawConnection over an already connected TLS socket."""

    def __init__(self, sock):  # noqa: super().__init__ would dial a plain socket
        self.sock = sock
        self.buf = bytearray()


class TlsTestCase(harness.ServerTestCase):
    """A server with a plain port, a TLS port and HTTPS, on free ports."""

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="exactly-tls-")
        make_certificates(cls.certs)
        cls.ca = os.path.join(cls.certs, "ca.pem")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def cert(self, name):
        return os.path.join(self.certs, name)

    def tls_args(self, **overrides):
        files = {"--tls-cert": self.cert("server.pem"), "--tls-key": self.cert("server.key")}
        files.update(overrides)
        args = ["--tls-port", str(self.tls_port), "--http-port", str(self.http_port)]
        for flag, path in files.items():
            args += [flag, path]
        return args

    def new_server(self, **kwargs):
        if not hasattr(self, "tls_port"):
            self.tls_port = harness.free_port()
            self.http_port = harness.free_port()
        kwargs.setdefault("extra_args", self.tls_args())
        return super().new_server(**kwargs)

    def setUp(self):
        super().setUp()
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.tls_port)),
                        self.server.log_tail())

    def tls_client(self, **kwargs):
        """redis-py over TLS, verifying the server against the test CA."""
        if harness.redis is None:
            self.skipTest("python3-redis is not installed")
        return harness.redis.Redis(host="127.0.0.1", port=self.tls_port, ssl=True,
                                   ssl_ca_certs=self.ca, decode_responses=True,
                                   socket_timeout=30, **kwargs)

    def tls_socket(self):
        """A raw TLS socket to the TLS port (Python's ssl module)."""
        context = ssl.create_default_context(cafile=self.ca)
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=30)
        return context.wrap_socket(raw, server_hostname="127.0.0.1")

    def redis_cli(self, *args, port=None, extra=()):
        if shutil.which("redis-cli") is None:
            self.skipTest("redis-cli is not installed")
        cmd = ["redis-cli", "--tls", "--cacert", self.ca, "-h", "127.0.0.1", "-p",
               str(port or self.tls_port)] + list(extra) + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30)

    def curl(self, path, body=None, extra=()):
        cmd = ["curl", "-sS", "--cacert", self.ca, "https://127.0.0.1:%d%s" % (self.http_port, path)]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
        return subprocess.run(cmd + list(extra), capture_output=True, text=True, timeout=30)


@unittest.skipIf(shutil.which("openssl") is None, "the openssl CLI is not installed")
class RespOverTls(TlsTestCase, unittest.TestCase):
    def test_redis_cli_claims_over_tls_and_plain_port_sees_it(self):
        out = self.redis_cli("PING")
        self.assertEqual(out.stdout.strip(), "PONG", out.stderr)
        out = self.redis_cli("CLAIM", "tls:cli", "alice")
        self.assertIn("won", out.stdout, out.stderr)
        # The same engine behind both ports.
        with self.server.raw() as plain:
            reply = d(plain.call("CLAIMOF", "tls:cli"))
        self.assertEqual(reply["result"], "held")
        self.assertEqual(reply["owner"], "alice")

    def test_redis_cli_without_the_ca_refuses_the_server(self):
        # Negative control for the verification above: a client that does not
        # trust the CA fails its handshake (the certificate really is checked).
        out = subprocess.run(["redis-cli", "--tls", "-h", "127.0.0.1", "-p", str(self.tls_port),
                              "PING"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.stdout.strip(), "PONG")

    def test_redis_py_ssl_claims_and_pipelines(self):
        client = self.tls_client()
        self.assertTrue(client.ping())
        first = client.execute_command("CLAIM", "tls:py", "bob")
        self.assertEqual(first[1], "won")
        second = client.execute_command("CLAIM", "tls:py", "carol")
        self.assertEqual(second[1], "held")
        # A pipelined burst: 2,000 claims in one write, replies in order.
        pipe = client.pipeline(transaction=False)
        for i in range(2000):
            pipe.execute_command("CLAIM", "tls:burst:%d" % (i // 2), "owner-%d" % i)
        replies = pipe.execute()
        self.assertEqual(len(replies), 2000)
        for i, reply in enumerate(replies):
            self.assertEqual(reply[1], "won" if i % 2 == 0 else "held", (i, reply))
            self.assertEqual(reply[5], "owner-%d" % (i - i % 2), (i, reply))
        client.close()

    def test_large_replies_arrive_whole(self):
        # One reply far past a TLS record (16 KiB): EXEC of 300 claims.
        with TlsRawConnection(self.tls_socket()) as conn:
            self.assertEqual(conn.call("MULTI"), "OK")
            key = "tls:exec:" + "k" * 60 + ":%d"
            for i in range(300):
                self.assertEqual(conn.call("CLAIM", key % i, "owner-%d" % i), "QUEUED")
            executed = conn.call("EXEC")
        self.assertGreater(len(json.dumps(executed, default=str)), 2 * 16 * 1024)
        self.assertEqual(len(executed), 300)
        for i, reply in enumerate(executed):
            self.assertEqual(d(reply)["result"], "won", i)
            self.assertEqual(d(reply)["key"], key % i)
        # A long pipeline written in one go while its replies stream back, so
        # both directions fill their socket buffers (WANT_WRITE on the server).
        sock = self.tls_socket()
        count = 20000
        payload = "x" * 200
        request = harness.encode("PING", payload) * count
        expected = ("$%d\r\n%s\r\n" % (len(payload), payload)).encode() * count
        sender = threading.Thread(target=sock.sendall, args=(request,))
        sender.start()
        received = bytearray()
        while len(received) < len(expected):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        sender.join()
        sock.close()
        self.assertEqual(len(received), len(expected))
        self.assertTrue(bytes(received) == expected)

    def test_plain_text_to_the_tls_port_is_refused_and_others_keep_working(self):
        client = self.tls_client()
        self.assertTrue(client.ping())
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as bad:
            bad.sendall(harness.encode("PING"))
            self.assertTrue(closed_by_peer(bad, 10))
        # Negative control: the same bytes to the plain port are answered.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as good:
            good.sendall(harness.encode("PING"))
            self.assertEqual(good.recv(64), b"+PONG\r\n")
        # The TLS client connected before it, and a new one, still work.
        self.assertTrue(client.ping())
        self.assertEqual(client.execute_command("CLAIM", "tls:after", "dave")[1], "won")
        self.assertTrue(self.tls_client().ping())
        self.assertTrue(self.server.running())

    def test_a_stalled_handshake_is_closed(self):
        # One client opens TCP to the TLS port and sends nothing, another sends
        # half a TLS record header. Without --timeout both are still closed once
        # the handshake bound passes; a plain client idle as long stays open
        # (the negative control: it is the handshake bound, not idleness).
        silent = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        partial = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        partial.sendall(b"\x16\x03\x01")
        plain = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            self.assertTrue(closed_by_peer(silent, 25))
            self.assertTrue(closed_by_peer(partial, 5))
            self.assertFalse(closed_by_peer(plain, 0.5))
            plain.sendall(harness.encode("PING"))
            plain.settimeout(10)
            self.assertEqual(plain.recv(64), b"+PONG\r\n")
        finally:
            for s in (silent, partial, plain):
                s.close()
        self.assertTrue(self.tls_client().ping())

    def test_a_write_acknowledged_over_tls_survives_kill_9(self):
        client = self.tls_client()
        self.assertEqual(client.execute_command("CLAIM", "tls:durable", "erin")[1], "won")
        client.close()
        self.restart(kill=True)
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.tls_port)))
        reply = self.tls_client().execute_command("CLAIMOF", "tls:durable")
        self.assertEqual(reply[1], "held")
        self.assertEqual(reply[3], "erin")

    def test_quit_closes_cleanly(self):
        out = self.redis_cli("QUIT")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(self.server.running())


@unittest.skipIf(shutil.which("openssl") is None, "the openssl CLI is not installed")
class HttpsPort(TlsTestCase, unittest.TestCase):
    def test_curl_claims_over_https(self):
        out = self.curl("/v1/claim", {"key": "tls:http", "owner": "frank"})
        self.assertEqual(out.returncode, 0, out.stderr)
        reply = json.loads(out.stdout)
        self.assertEqual(next(iter(reply)), "result")
        self.assertEqual(reply["result"], "won")
        out = self.curl("/v1/claim", {"key": "tls:http", "owner": "grace"})
        self.assertEqual(json.loads(out.stdout)["result"], "held")
        # Seen over RESP too.
        self.assertEqual(self.tls_client().execute_command("CLAIMOF", "tls:http")[3], "frank")

    def test_a_large_response_over_https_is_whole(self):
        out = self.curl("/v1/openapi.json")
        self.assertEqual(out.returncode, 0, out.stderr)
        expected = subprocess.run([harness.binary(), "openapi"], capture_output=True,
                                  text=True, timeout=30).stdout
        self.assertGreater(len(expected), 16 * 1024)
        self.assertEqual(json.loads(out.stdout), json.loads(expected))

    def test_plain_http_on_the_https_port_is_refused(self):
        with socket.create_connection(("127.0.0.1", self.http_port), timeout=10) as s:
            s.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(closed_by_peer(s, 10))
        out = self.curl("/v1/claim", {"key": "tls:http:after", "owner": "heidi"})
        self.assertEqual(json.loads(out.stdout)["result"], "won")


@unittest.skipIf(shutil.which("openssl") is None, "the openssl CLI is not installed")
class TlsOnly(TlsTestCase, unittest.TestCase):
    def new_server(self, **kwargs):
        server = super().new_server(**kwargs)
        # --port 0: no plain port; the harness waits for the TLS port instead.
        server.port = self.tls_port
        base_line = server.command_line

        def command_line():
            cmd = base_line()
            at = cmd.index("--port")
            cmd[at + 1] = "0"
            return cmd

        server.command_line = command_line
        return server

    def test_port_zero_serves_tls_only(self):
        self.assertTrue(self.tls_client().ping())
        self.assertIn("ready on 127.0.0.1:%d over TLS only" % self.tls_port,
                      self.server.log_text())


@unittest.skipIf(shutil.which("openssl") is None, "the openssl CLI is not installed")
class MutualTls(TlsTestCase, unittest.TestCase):
    def new_server(self, **kwargs):
        if not hasattr(self, "tls_port"):
            self.tls_port = harness.free_port()
            self.http_port = harness.free_port()
        kwargs.setdefault("extra_args",
                          self.tls_args(**{"--tls-ca-cert": self.cert("ca.pem")}))
        return super().new_server(**kwargs)

    def test_client_certificate_is_required(self):
        out = self.redis_cli("PING")
        self.assertNotEqual(out.stdout.strip(), "PONG")
        out = self.redis_cli("PING", extra=["--cert", self.cert("client.pem"), "--key",
                                            self.cert("client.key")])
        self.assertEqual(out.stdout.strip(), "PONG", out.stderr)
        out = self.curl("/v1/claim", {"key": "tls:mutual", "owner": "ivan"},
                        extra=["--cert", self.cert("client.pem"), "--key",
                               self.cert("client.key")])
        self.assertEqual(json.loads(out.stdout)["result"], "won", out.stderr)


@unittest.skipIf(shutil.which("openssl") is None, "the openssl CLI is not installed")
class IdleTls(TlsTestCase, unittest.TestCase):
    def new_server(self, **kwargs):
        if not hasattr(self, "tls_port"):
            self.tls_port = harness.free_port()
            self.http_port = harness.free_port()
        kwargs.setdefault("extra_args", self.tls_args() + ["--timeout", "1"])
        return super().new_server(**kwargs)

    def test_timeout_closes_an_idle_tls_client(self):
        with TlsRawConnection(self.tls_socket()) as conn:
            self.assertEqual(conn.call("PING"), "PONG")
            # Idle past --timeout 1 (the sweep runs once a second): closed.
            conn.settimeout(10)
            with self.assertRaises((harness.ConnectionClosed, ConnectionResetError,
                                    ssl.SSLError)):
                conn.read_reply()
        self.assertTrue(self.tls_client().ping())


@unittest.skipIf(shutil.which("openssl") is None, "the openssl CLI is not installed")
class BadTlsFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="exactly-tls-")
        make_certificates(cls.certs)
        with open(os.path.join(cls.certs, "garbage.pem"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def start(self, *args, port=None):
        """Runs `exactly serve` with `args`; (exit code, output). It must exit."""
        data = tempfile.mkdtemp(prefix="exactly-it-")
        try:
            port = harness.free_port() if port is None else port
            out = subprocess.run([harness.binary(), "serve", "--dir", os.path.join(data, "d"),
                                  "--port", str(port), "--http-port", "0"] + list(args),
                                 capture_output=True, text=True, timeout=30)
            return out.returncode, out.stderr
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.certs, name)

    def test_unusable_files_refuse_the_start(self):
        port = str(harness.free_port())
        cases = [
            (["--tls-cert", self.path("garbage.pem"), "--tls-key", self.path("server.key")],
             "--tls-cert"),
            (["--tls-cert", self.path("missing.pem"), "--tls-key", self.path("server.key")],
             "--tls-cert"),
            (["--tls-cert", self.path("server.pem"), "--tls-key", self.path("client.key")],
             "does not match"),
            (["--tls-cert", self.path("server.pem"), "--tls-key", self.path("garbage.pem")],
             "--tls-key"),
            (["--tls-cert", self.path("server.pem"), "--tls-key", self.path("server.key"),
              "--tls-ca-cert", self.path("garbage.pem")], "--tls-ca-cert"),
            ([], "--tls-cert"),
            (["--tls-cert", self.path("server.pem")], "--tls-key"),
        ]
        for args, named in cases:
            code, output = self.start("--tls-port", port, *args)
            self.assertEqual(code, 2, (args, output))
            self.assertIn(named, output, args)
            self.assertNotIn("ready on", output, args)

    def test_port_zero_without_tls_port_is_refused(self):
        code, output = self.start(port=0)
        self.assertEqual(code, 2, output)
        self.assertIn("--tls-port", output)


if __name__ == "__main__":
    unittest.main()
