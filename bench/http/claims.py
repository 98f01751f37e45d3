#!/usr/bin/env python3
"""HTTP W1's helpers for bench/run.sh (standard library only).

  claims.py smoke PORT KEY  -> nothing, or the problem: POST /v1/claim with KEY twice
                               must answer `won`, then `again`
  claims.py won PORT        -> exactly_http_requests_total{command="claim",outcome="won"}
                               from GET /metrics: the claims the server answered `won`,
                               which divides the server's CPU (wrk counts only the
                               responses that came back before it stopped)
"""
import http.client
import json
import re
import sys


def post_claim(conn, key):
    conn.request("POST", "/v1/claim", body=json.dumps({"key": key, "owner": "o1"}),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def smoke(port, key):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    replies = [post_claim(conn, key), post_claim(conn, key)]
    conn.close()
    want = [(200, "won"), (200, "again")]
    got = [(status, body.get("result")) for status, body in replies]
    if got != want:
        print(f"SMOKE: two claims of one key answered {got}, not {want}; ")


def won(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    m = re.search(r'^exactly_http_requests_total\{command="claim",outcome="won"\} (\d+)$', text,
                  re.M)
    print(m.group(1) if m else 0)


def main(argv):
    if len(argv) == 4 and argv[1] == "smoke":
        smoke(int(argv[2]), argv[3])
    elif len(argv) == 3 and argv[1] == "won":
        won(int(argv[2]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
