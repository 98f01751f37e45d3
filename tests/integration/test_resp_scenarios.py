"""SCENARIOS S1-S5 over RESP: the bodies of scenarios.py (which
test_http_scenarios.py runs over HTTP), each client on its own RESP connection
(pipelined where the body pipelines), all released by one barrier.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402 - found through the line above when run by path
import scenarios  # noqa: E402


class RespScenariosTest(scenarios.ScenarioTests, harness.ServerTestCase, unittest.TestCase):

    def make_transport(self):
        return scenarios.RespTransport(self.server)


if __name__ == "__main__":
    unittest.main()
