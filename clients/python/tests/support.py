"""Test support: one real exactly server per test class (from the integration
harness), and the library imported from this checkout."""

import os
import shutil
import sys
import tempfile
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))  # clients/python: the `exactly` package
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402


class ServerCase(unittest.TestCase):
    """A server for the whole class; keys get a per-test prefix (`self.k('name')`)."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(harness.binary()):
            raise unittest.SkipTest("server binary not built: %s" % harness.binary())
        cls.tmp = tempfile.mkdtemp(prefix="exactly-py-")
        cls.server = harness.Server(os.path.join(cls.tmp, "data"),
                                    log_path=os.path.join(cls.tmp, "server.log")).start()
        cls.url = "redis://127.0.0.1:%d" % cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(timeout=5)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.prefix = "%s:%s:" % (self._testMethodName, uuid.uuid4().hex[:8])

    def k(self, name):
        return self.prefix + name
