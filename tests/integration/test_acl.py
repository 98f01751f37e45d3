"""Access control against the real server (docs/acl.md): users of an --aclfile
with passwords and per-user command families and key prefixes, over RESP (raw,
redis-cli, python3-redis) and HTTP (Basic and Bearer).

- An allowed command runs; a forbidden command or key answers NOPERM (HTTP 403
  problem+json) and changes nothing, which an admin user reads back.
- A wrong password answers WRONGPASS; a connection that has not authenticated
  gets NOAUTH for anything but AUTH, HELLO and QUIT.
- HELLO 2/3 AUTH; MULTI with a forbidden command is refused at queue time and
  EXEC aborts, applying nothing.
- A bad ACL file refuses to start, naming its line; protected mode follows the
  default user of the ACL file.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ACL = """\
# exactly's ACL file for the integration test
user admin on >adminpw token>admintoken allcommands allkeys
user teller on >tellerpw +@ledger +@connection ~acct:*
user claimer on >claimpw token>claimtoken +@claims +@connection ~phone:*
user ledgeronly on >ledgerpw +@ledger ~*
user router on >routerpw +@cluster +@connection
user retired off >retiredpw allcommands allkeys
"""

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def result(reply):
    """The `result` of a business reply; an error reply fails."""
    if isinstance(reply, harness.RespError):
        raise AssertionError("error reply: %s" % reply)
    return harness.as_dict(reply)["result"]


def write_acl(directory, text):
    path = os.path.join(directory, "users.acl")
    with open(path, "w") as f:
        f.write(text)
    return path


class AclTest(harness.ServerTestCase, unittest.TestCase):
    def new_server(self, **kwargs):
        if not hasattr(self, "http_port"):
            self.http_port = harness.free_port()
        self.acl_path = write_acl(self.tmp, ACL)
        kwargs.setdefault("extra_args",
                          ["--http-port", str(self.http_port), "--aclfile", self.acl_path])
        return super().new_server(**kwargs)

    def setUp(self):
        super().setUp()
        self.assertTrue(harness.wait_until(lambda: harness.port_open(self.http_port)),
                        self.server.log_tail())
        self.admin = self.login("admin", "adminpw")
        self.admin.call("ACCOUNT", "bank", "MIN", "-inf")
        self.admin.call("ACCOUNT", "acct:1")
        self.admin.call("ACCOUNT", "acct:2")
        self.assertEqual(result(self.admin.call("TRANSFER", "t0", "bank", "acct:1", "100")), "ok")

    def tearDown(self):
        self.admin.close()
        super().tearDown()

    def login(self, user, password):
        conn = self.server.raw()
        self.assertEqual(conn.call("AUTH", user, password), "OK")
        return conn

    def balance(self, key):
        return int(harness.call_dict(self.admin, "BALANCE", key)["balance"])

    def holder(self, key):
        return result(self.admin.call("CLAIMOF", key))

    def assert_error(self, reply, text):
        self.assertIsInstance(reply, harness.RespError, reply)
        self.assertEqual(str(reply), text)

    # RESP

    def test_unauthenticated_connection_gets_noauth(self):
        with self.server.raw() as conn:
            self.assert_error(conn.call("PING"), "NOAUTH Authentication required.")
            self.assert_error(conn.call("CLAIM", "phone:1", "u1"),
                              "NOAUTH Authentication required.")
            # The file has no default user: it is off, so AUTH <password> is refused.
            self.assert_error(conn.call("AUTH", "adminpw"), WRONGPASS)
            self.assertEqual(conn.call("QUIT"), "OK")
        self.assertEqual(self.holder("phone:1"), "free")

    def test_allowed_command_runs_forbidden_command_and_key_change_nothing(self):
        with self.login("teller", "tellerpw") as teller:
            self.assertEqual(result(
                teller.call("TRANSFER", "t1", "acct:1", "acct:2", "10")), "ok")
            # A key outside ~acct:*, as source or as destination.
            self.assert_error(
                teller.call("TRANSFER", "t2", "bank", "acct:2", "50"),
                "NOPERM User teller has no permissions to access the 'bank' key")
            self.assert_error(
                teller.call("TRANSFER", "t3", "acct:1", "bank", "50"),
                "NOPERM User teller has no permissions to access the 'bank' key")
            # A command outside +@ledger.
            self.assert_error(teller.call("CLAIM", "acct:9", "u1"),
                              "NOPERM User teller has no permissions to run the 'claim' command")
            self.assert_error(teller.call("SNAPSHOT"),
                              "NOPERM User teller has no permissions to run the 'snapshot' command")
            self.assertEqual(teller.call("ACL", "WHOAMI"), "teller")
        self.assertEqual(self.balance("acct:1"), 90)
        self.assertEqual(self.balance("acct:2"), 10)
        self.assertEqual(self.balance("bank"), -100)
        self.assertEqual(self.holder("acct:9"), "free")
        # The refused transfer ids were never used: the admin can still use them.
        self.assertEqual(result(
            self.admin.call("TRANSFER", "t2", "bank", "acct:2", "1")), "ok")

    def test_cluster_topology_is_open_to_cluster_users_but_membership_needs_admin(self):
        with self.login("router", "routerpw") as router:
            self.assertEqual(router.call("CLUSTER", "MYID"), "1".zfill(40))
            for change in (["ADDNODE", "4", "127.0.0.1:1@127.0.0.1:2"], ["PROMOTE", "4"],
                           ["REMOVENODE", "4"], ["FAILOVER"]):
                self.assert_error(
                    router.call("CLUSTER", *change),
                    "NOPERM User router has no permissions to run the 'cluster|%s' command"
                    % change[0].lower())
        # The admin gets past the permission to the single node's own refusal.
        reply = self.admin.call("CLUSTER", "PROMOTE", "4")
        self.assertIsInstance(reply, harness.RespError, reply)
        self.assertNotIn("NOPERM", str(reply))

    def test_wrong_password_and_disabled_user(self):
        with self.server.raw() as conn:
            self.assert_error(conn.call("AUTH", "claimer", "nope"), WRONGPASS)
            self.assert_error(conn.call("AUTH", "nobody", "claimpw"), WRONGPASS)
            self.assert_error(conn.call("AUTH", "retired", "retiredpw"), WRONGPASS)
            self.assert_error(conn.call("PING"), "NOAUTH Authentication required.")
            self.assertEqual(conn.call("AUTH", "claimer", "claimpw"), "OK")
            # A failed AUTH afterwards keeps the user.
            self.assert_error(conn.call("AUTH", "admin", "wrong"), WRONGPASS)
            self.assertEqual(conn.call("ACL", "WHOAMI"), "claimer")

    def test_hello_auth(self):
        with self.server.raw() as conn:
            self.assert_error(conn.call("HELLO", "3", "AUTH", "claimer", "bad"), WRONGPASS)
            hello = conn.call("HELLO", "3", "AUTH", "claimer", "claimpw")
            self.assertEqual(hello["proto"], 3)
            self.assertEqual(conn.call("ACL", "WHOAMI"), "claimer")
            self.assertEqual(result(conn.call("CLAIM", "phone:7", "u7")), "won")
        with self.server.raw() as conn:
            hello = harness.as_dict(conn.call("HELLO", "2", "AUTH", "teller", "tellerpw"))
            self.assertEqual(int(hello["proto"]), 2)
            self.assertEqual(conn.call("ACL", "WHOAMI"), "teller")

    def test_multi_with_a_forbidden_command_applies_nothing(self):
        with self.login("claimer", "claimpw") as claimer:
            self.assertEqual(claimer.call("MULTI"), "OK")
            self.assertEqual(claimer.call("CLAIM", "phone:2", "u2"), "QUEUED")
            self.assert_error(
                claimer.call("TRANSFER", "t9", "acct:1", "acct:2", "5"),
                "NOPERM User claimer has no permissions to run the 'transfer' command")
            self.assert_error(
                claimer.call("CLAIM", "email:2", "u2"),
                "NOPERM User claimer has no permissions to access the 'email:2' key")
            reply = claimer.call("EXEC")
            self.assertIsInstance(reply, harness.RespError)
            self.assertTrue(str(reply).startswith("EXECABORT"), reply)
        self.assertEqual(self.holder("phone:2"), "free")
        self.assertEqual(self.holder("email:2"), "free")
        self.assertEqual(self.balance("acct:2"), 0)

    def test_acl_list_users_and_cat(self):
        users = self.admin.call("ACL", "USERS")
        self.assertEqual(users, ["default", "admin", "teller", "claimer", "ledgeronly", "router", "retired"])
        listing = "\n".join(self.admin.call("ACL", "LIST"))
        self.assertIn("user claimer on #", listing)
        self.assertNotIn("claimpw", listing)
        self.assertNotIn("claimtoken", listing)
        self.assertIn("claims", self.admin.call("ACL", "CAT"))
        self.assertIn("transfer", self.admin.call("ACL", "CAT", "ledger"))
        with self.login("claimer", "claimpw") as claimer:
            self.assert_error(claimer.call("ACL", "LIST"),
                              "NOPERM User claimer has no permissions to run the 'acl' command")

    def test_redis_py(self):
        if harness.redis is None:
            self.skipTest("python3-redis is not installed")
        claimer = self.server.client(username="claimer", password="claimpw")
        self.assertEqual(claimer.execute_command("CLAIM", "phone:3", "u3")[1], "won")
        with self.assertRaises(harness.redis.exceptions.NoPermissionError):
            claimer.execute_command("CLAIM", "email:3", "u3")
        with self.assertRaises(harness.redis.exceptions.NoPermissionError):
            claimer.execute_command("BALANCE", "acct:1")
        wrong = self.server.client(username="claimer", password="bad")
        # redis-py 4.3 raises WRONGPASS as a ResponseError, later versions as
        # AuthenticationError (a subclass of ConnectionError).
        with self.assertRaises((harness.redis.exceptions.AuthenticationError,
                                harness.redis.exceptions.ResponseError)) as raised:
            wrong.ping()
        self.assertIn("WRONGPASS", str(raised.exception))
        self.assertEqual(self.holder("email:3"), "free")
        self.assertEqual(self.holder("phone:3"), "held")

    def redis_cli(self, *args):
        done = subprocess.run(["redis-cli", "-p", str(self.server.port), "--no-auth-warning"] +
                              list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=30, stdin=subprocess.DEVNULL)
        return done.stdout.decode()

    def test_redis_cli(self):
        out = self.redis_cli("--user", "claimer", "--pass", "claimpw", "CLAIM", "phone:4", "u4")
        self.assertIn("won", out)
        out = self.redis_cli("--user", "claimer", "--pass", "claimpw", "CLAIM", "email:4", "u4")
        self.assertIn("NOPERM User claimer has no permissions to access the 'email:4' key", out)
        out = self.redis_cli("--user", "claimer", "--pass", "nope", "CLAIM", "phone:5", "u5")
        self.assertIn("WRONGPASS", out)
        self.assertEqual(self.holder("email:4"), "free")
        self.assertEqual(self.holder("phone:5"), "free")

    # HTTP

    def http(self, method, path, body=None, auth=None):
        """(status, headers, parsed body or text)."""
        headers = {}
        if auth is not None:
            headers["Authorization"] = auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http_port, path),
                                         data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, got, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, text = error.code, error.headers, error.read()
        if (got.get("Content-Type") or "").startswith("application/"):
            return status, got, json.loads(text)
        return status, got, text.decode()

    @staticmethod
    def basic(user, password):
        return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

    def test_http_needs_credentials_and_answers_401(self):
        status, headers, problem = self.http("POST", "/v1/claim", {"key": "phone:6", "owner": "u"})
        self.assertEqual(status, 401)
        self.assertEqual(headers["Content-Type"], "application/problem+json")
        self.assertIn("Basic", headers["WWW-Authenticate"])
        self.assertIn("Bearer", headers["WWW-Authenticate"])
        self.assertEqual(problem["code"], "NOAUTH")
        for auth in [self.basic("claimer", "bad"), "Bearer wrong", self.basic("retired",
                                                                               "retiredpw")]:
            status, headers, problem = self.http("POST", "/v1/claim",
                                                 {"key": "phone:6", "owner": "u"}, auth)
            self.assertEqual(status, 401, auth)
            self.assertEqual(problem["code"], "WRONGPASS")
        self.assertEqual(self.holder("phone:6"), "free")
        # The API's description needs no credentials.
        status, _, document = self.http("GET", "/v1/openapi.json")
        self.assertEqual(status, 200)
        self.assertIn("basic", document["components"]["securitySchemes"])

    def test_http_basic_and_bearer_map_to_the_users(self):
        status, _, reply = self.http("POST", "/v1/claim", {"key": "phone:6", "owner": "u6"},
                                     self.basic("claimer", "claimpw"))
        self.assertEqual((status, reply["result"]), (200, "won"))
        status, _, reply = self.http("POST", "/v1/claim", {"key": "phone:6", "owner": "u6"},
                                     "Bearer claimtoken")
        self.assertEqual((status, reply["result"]), (200, "again"))
        self.assertEqual(self.holder("phone:6"), "held")

    def test_http_forbidden_answers_403_and_changes_nothing(self):
        auth = "Bearer claimtoken"
        status, headers, problem = self.http("POST", "/v1/claim",
                                             {"key": "email:6", "owner": "u6"}, auth)
        self.assertEqual(status, 403)
        self.assertEqual(headers["Content-Type"], "application/problem+json")
        self.assertEqual(problem["code"], "NOPERM")
        self.assertEqual(problem["detail"],
                         "User claimer has no permissions to access the 'email:6' key")
        status, _, problem = self.http(
            "POST", "/v1/transfer", {"id": "h1", "from": "acct:1", "to": "acct:2",
                                     "amount": "5"}, auth)
        self.assertEqual(status, 403)
        self.assertEqual(problem["detail"],
                         "User claimer has no permissions to run the 'transfer' command")
        # A group with one forbidden element runs none of them.
        status, _, problem = self.http(
            "POST", "/v1/multi", {"commands": [
                {"command": "claim", "key": "phone:8", "owner": "u8"},
                {"command": "transfer", "id": "h2", "from": "acct:1", "to": "acct:2",
                 "amount": "5"}]}, auth)
        self.assertEqual(status, 403)
        self.assertEqual(problem["code"], "NOPERM")
        self.assertEqual(self.holder("email:6"), "free")
        self.assertEqual(self.holder("phone:8"), "free")
        self.assertEqual(self.balance("acct:2"), 0)
        # The admin may: the same group applies.
        status, _, reply = self.http(
            "POST", "/v1/multi", {"commands": [
                {"command": "claim", "key": "phone:8", "owner": "u8"},
                {"command": "transfer", "id": "h2", "from": "acct:1", "to": "acct:2",
                 "amount": "5"}]}, "Bearer admintoken")
        self.assertEqual((status, reply["result"]), (200, "executed"))
        self.assertEqual(self.balance("acct:2"), 5)

    def test_http_metrics_needs_info(self):
        status, _, text = self.http("GET", "/metrics", auth=self.basic("admin", "adminpw"))
        self.assertEqual(status, 200)
        self.assertIn("exactly_", text)
        status, _, problem = self.http("GET", "/metrics", auth=self.basic("ledgeronly", "ledgerpw"))
        self.assertEqual(status, 403)
        self.assertEqual(problem["detail"],
                         "User ledgeronly has no permissions to run the 'info' command")
        status, _, _ = self.http("GET", "/metrics")
        self.assertEqual(status, 401)


class AclStartTest(unittest.TestCase):
    """What the server makes of its ACL file at start."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="exactly-acl-")
        self.server = None

    def tearDown(self):
        if self.server is not None:
            self.server.stop()
        subprocess.run(["rm", "-rf", self.tmp])

    def start_fails(self, *args):
        done = subprocess.run([harness.binary(), "serve", "--dir", os.path.join(self.tmp, "d"),
                               "--port", str(harness.free_port()), "--http-port", "0"] +
                              list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(done.returncode, 0)
        return done.stdout.decode()

    def test_bad_acl_file_refuses_to_start_naming_the_line(self):
        path = write_acl(self.tmp, "user a on >pw +@claims\n\nuser b on +@claimz ~x:*\n")
        out = self.start_fails("--aclfile", path)
        self.assertIn("ACL file %s: line 3: user b: unknown category '@claimz'" % path, out)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "d")))
        out = self.start_fails("--aclfile", os.path.join(self.tmp, "missing.acl"))
        self.assertIn("cannot read the ACL file", out)
        good = write_acl(self.tmp, "user a on >pw +@claims\n")
        out = self.start_fails("--aclfile", good, "--requirepass", "pw")
        self.assertIn("--requirepass and --aclfile together", out)

    def serve_everywhere(self, acl_text):
        port = harness.free_port()
        path = write_acl(self.tmp, acl_text)
        self.server = harness.Server(os.path.join(self.tmp, "data"), port=port)
        self.server.command_line = lambda: [harness.binary(), "serve", "--dir",
                                            self.server.data_dir, "--port", str(port),
                                            "--bind", "0.0.0.0", "--http-port", "0",
                                            "--aclfile", path]
        return self.server.start()

    def protected_mode(self, conn):
        _, info = harness.parse_info(conn.call("INFO", "server"))
        return info["protected_mode"]

    def test_protected_mode_follows_the_default_user(self):
        # Default with a password, or absent (off): clients must AUTH, so no protection.
        self.serve_everywhere("user admin on >pw allcommands allkeys\n")
        with self.server.raw() as conn:
            self.assertEqual(conn.call("AUTH", "admin", "pw"), "OK")
            self.assertEqual(self.protected_mode(conn), "no")
        self.server.stop()
        # Control: a default user that needs no password keeps protected mode on.
        self.serve_everywhere("user default on nopass +@all ~*\nuser admin on >pw +@all ~*\n")
        with self.server.raw() as conn:
            self.assertEqual(self.protected_mode(conn), "yes")
        self.assertIn("protected mode", self.server.log_text())


if __name__ == "__main__":
    unittest.main()
