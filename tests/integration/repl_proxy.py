"""A fault-injecting TCP proxy between the raft ports of a replicated group.

Every node's raft address in --peers is a port of this proxy on 127.0.0.1; the node
itself listens (--raft-bind) on the same port of 127.0.0.2, and the proxy forwards
each connection there. C-Raft opens one connection per (sender, receiver) and the
sender's first bytes are a handshake (u64 protocol version, u64 server id, both
little endian, then the sender's address), so the proxy knows both ends of every
connection and can cut a direction without touching the others.

Two kinds of cut, per direction (src -> dst):
- `stall`: bytes stop moving (the proxy stops reading, so TCP pushes back on the
  sender); on heal they flow again, intact and late: a partition that heals.
- `reset`: open connections are closed and new ones are closed as soon as their
  handshake names a cut direction: a network that refuses the path.

Runs on its own asyncio loop in a daemon thread; every method is thread-safe.
"""

import asyncio
import struct
import threading

BIND_HOST = "127.0.0.2"  # where the nodes listen; the proxy owns 127.0.0.1:<raft port>
_HANDSHAKE_HEAD = 16  # u64 version, u64 server id
_CHUNK = 1 << 16


class RaftProxy:
    def __init__(self, raft_ports):
        """raft_ports: {node id: port}; the proxy listens on 127.0.0.1:port for each."""
        self.raft_ports = dict(raft_ports)
        self._loop = asyncio.new_event_loop()
        self._cuts = {}  # (src, dst) -> "stall" | "reset"
        self._gates = {}  # (src, dst) -> asyncio.Event, set while the direction flows
        self._conns = set()  # (src, dst, writer_a, writer_b)
        self._servers = []
        self._thread = threading.Thread(target=self._run, name="raft-proxy", daemon=True)
        self.forwarded = 0  # connections forwarded, for the test's own sanity checks
        ready = threading.Event()
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(ready), self._loop).result(10)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    async def _listen(self, ready):
        for dst, port in self.raft_ports.items():
            server = await asyncio.start_server(
                lambda r, w, dst=dst: self._serve(dst, r, w), "127.0.0.1", port)
            self._servers.append(server)
        ready.set()

    def _gate(self, src, dst):
        gate = self._gates.get((src, dst))
        if gate is None:
            gate = self._gates[(src, dst)] = asyncio.Event()
            if (src, dst) not in self._cuts:
                gate.set()
        return gate

    async def _serve(self, dst, reader, writer):
        upstream_writer = None
        try:
            head = await reader.readexactly(_HANDSHAKE_HEAD)
            src = struct.unpack("<QQ", head)[1]
            if self._cuts.get((src, dst)) == "reset":
                return
            up_reader, upstream_writer = await asyncio.open_connection(
                BIND_HOST, self.raft_ports[dst])
            upstream_writer.write(head)
            self.forwarded += 1
            entry = (src, dst, writer, upstream_writer)
            self._conns.add(entry)
            try:
                await asyncio.gather(self._pump(reader, upstream_writer, src, dst),
                                     self._pump(up_reader, writer, dst, src))
            finally:
                self._conns.discard(entry)
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    w.close()

    async def _pump(self, reader, writer, src, dst):
        try:
            while True:
                await self._gate(src, dst).wait()
                data = await reader.read(_CHUNK)
                if not data:
                    break
                # A cut that began while this chunk was being read holds it too.
                await self._gate(src, dst).wait()
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            writer.close()

    def _call(self, fn, *args):
        async def run():
            fn(*args)
        asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def _cut(self, pairs, kind):
        for pair in pairs:
            self._cuts[pair] = kind
            self._gate(*pair).clear()
        if kind == "reset":
            for src, dst, a, b in list(self._conns):
                if (src, dst) in pairs or (dst, src) in pairs:
                    a.close()
                    b.close()

    def _heal(self):
        self._cuts.clear()
        for gate in self._gates.values():
            gate.set()

    def isolate(self, node, kind="stall", direction="both"):
        """Cuts `node` from every other node: `out` its messages to them, `in` theirs
        to it, `both`."""
        others = [i for i in self.raft_ports if i != node]
        pairs = set()
        if direction in ("both", "out"):
            pairs |= {(node, o) for o in others}
        if direction in ("both", "in"):
            pairs |= {(o, node) for o in others}
        self._call(self._cut, pairs, kind)

    def heal(self):
        self._call(self._heal)

    def close(self):
        async def stop():
            for server in self._servers:
                server.close()
            for _, _, a, b in list(self._conns):
                a.close()
                b.close()
        try:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
