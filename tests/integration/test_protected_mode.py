"""Protected mode: a server on a non-loopback address whose default user needs
no password (no --requirepass, no ACL file or one with `default on nopass`)
serves loopback clients only, and tells the others how to set a password.

A non-loopback client needs a second address: the test makes a network
namespace joined to this one by a veth pair with link-local addresses, runs a
one-line client inside it, and removes the namespace (and with it the pair)
afterwards. It skips when namespaces cannot be made (not root, no iproute2).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HOST_ADDRESS = "169.254.213.1"
NS_ADDRESS = "169.254.213.2"

# Connects to argv[1]:argv[2], sends PING and prints the first reply line.
CLIENT = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"PING\\r\\n")
print(s.recv(4096).decode().splitlines()[0])
"""


def _run(*args):
    return subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=20, stdin=subprocess.DEVNULL)


class ProtectedModeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns = "exq-pm-%d" % os.getpid()
        cls.veth = "exqh%d" % (os.getpid() % 100000)
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise unittest.SkipTest("needs root and iproute2 to make a network namespace")
        steps = [
            ["ip", "netns", "add", cls.ns],
            ["ip", "link", "add", cls.veth, "type", "veth", "peer", "name", "exqn0",
             "netns", cls.ns],
            ["ip", "addr", "add", HOST_ADDRESS + "/30", "dev", cls.veth],
            ["ip", "link", "set", cls.veth, "up"],
            ["ip", "netns", "exec", cls.ns, "ip", "addr", "add", NS_ADDRESS + "/30", "dev",
             "exqn0"],
            ["ip", "netns", "exec", cls.ns, "ip", "link", "set", "exqn0", "up"],
            ["ip", "netns", "exec", cls.ns, "ip", "link", "set", "lo", "up"],
        ]
        for step in steps:
            done = _run(*step)
            if done.returncode != 0:
                cls.tearDownClass()
                raise unittest.SkipTest("cannot make a network namespace: %s: %s" %
                                        (" ".join(step), done.stdout.decode().strip()))

    @classmethod
    def tearDownClass(cls):
        _run("ip", "netns", "del", cls.ns)
        _run("ip", "link", "del", cls.veth)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="exactly-protected-")
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve(self, *extra):
        port = harness.free_port()
        self.server = harness.Server(os.path.join(self.tmp, "data"), port=port,
                                     extra_args=list(extra))
        # The harness binds 127.0.0.1; these tests need every address.
        self.server.command_line = lambda: [harness.binary(), "serve", "--dir",
                                            self.server.data_dir, "--port", str(port),
                                            "--bind", "0.0.0.0"] + list(extra)
        return self.server.start()

    def remote_ping(self):
        done = _run("ip", "netns", "exec", self.ns, sys.executable, "-c", CLIENT, HOST_ADDRESS,
                    str(self.server.port))
        self.assertEqual(done.returncode, 0, done.stdout.decode())
        return done.stdout.decode().strip()

    def test_non_loopback_client_is_refused_without_a_password(self):
        self.serve()
        reply = self.remote_ping()
        self.assertTrue(reply.startswith("-DENIED"), reply)
        self.assertIn("--requirepass", reply)
        with self.server.raw() as conn:
            self.assertEqual(conn.call("PING"), "PONG")
            info = conn.call("INFO", "server")
            self.assertIn("protected_mode:yes", info)
        self.assertIn("protected mode", self.server.log_text())

    def test_password_lifts_protected_mode(self):
        # Control: the same client is served once a password is set.
        self.serve("--requirepass", "s3cret")
        self.assertTrue(self.remote_ping().startswith("-NOAUTH"))

    def acl(self, text):
        path = os.path.join(self.tmp, "users.acl")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_acl_file_without_an_open_default_user_lifts_protected_mode(self):
        # No default line: default is off, every client must log in (docs/acl.md).
        self.serve("--aclfile", self.acl("user admin on >s3cret allcommands allkeys\n"))
        self.assertTrue(self.remote_ping().startswith("-NOAUTH"))

    def test_acl_file_with_an_open_default_user_keeps_protected_mode(self):
        # Control for the test above: the same file with default on nopass.
        self.serve("--aclfile", self.acl("user default on nopass +@read ~*\n"
                                         "user admin on >s3cret allcommands allkeys\n"))
        self.assertTrue(self.remote_ping().startswith("-DENIED"))

    def test_protected_mode_no_serves_everyone(self):
        self.serve("--protected-mode", "no")
        self.assertEqual(self.remote_ping(), "+PONG")


if __name__ == "__main__":
    unittest.main()
