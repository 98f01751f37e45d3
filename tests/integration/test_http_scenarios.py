"""SCENARIOS S1-S5 over HTTP: the bodies of scenarios.py (which
test_resp_scenarios.py runs over RESP), each request a POST /v1/<command> on its
own keep-alive connection (pipelined where the body pipelines), all released by
one barrier. Amounts, balances and tokens come back as JSON strings
(docs/http.md), and the bodies assert them so.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenarios  # noqa: E402 - found through the line above when run by path
from test_http import HttpTestCase  # noqa: E402


class HttpScenariosTest(scenarios.ScenarioTests, HttpTestCase, unittest.TestCase):

    def make_transport(self):
        return scenarios.HttpTransport(self.http_port)


if __name__ == "__main__":
    unittest.main()
