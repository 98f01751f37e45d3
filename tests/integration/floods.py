"""Hostile load on raw sockets, shared by the RESP and HTTP hostile-client tests
(test_hostile_clients.py, test_http_hostile_clients.py): many connections, a
flood written to each without ever reading, and whether the server closed one.
The protocol is the caller's: these only move bytes.
"""

import select
import socket
import time


def connect_many(port, n, keep, timeout=10):
    """Opens `n` connections to 127.0.0.1:`port`, appends each to `keep` (the
    caller closes them) and returns them."""
    out = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        out.append(s)
        keep.append(s)
    return out


def flood_without_reading(conns, chunk, stop, deadline_s=None):
    """Writes `chunk` to every connection the kernel will take bytes for, never
    reading a reply, until `stop()` is true, `deadline_s` seconds have passed (no
    deadline when None) or the server closed every one. `conns` is left holding
    the connections still open. Returns the bytes sent."""
    for s in conns:
        s.setblocking(False)
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    sent = 0
    while conns and not stop() and (deadline is None or time.monotonic() < deadline):
        _, writable, _ = select.select([], conns, [], 0.1)
        for s in writable:
            try:
                sent += s.send(chunk)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                conns.remove(s)  # closed by the server: allowed
    return sent


def closed_by_server(sock, timeout=5):
    """Whether the server has closed `sock` (EOF or a reset), waiting up to
    `timeout` seconds; what it sends before that is read and dropped."""
    sock.setblocking(True)
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
