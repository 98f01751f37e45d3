"""Shared helpers for the integration tests: run the real `exactly` binary.

Every test starts its own server on a free 127.0.0.1 port in its own temporary
directory and stops it by PID (SIGTERM, then SIGKILL after a timeout), so tests
never share state and never leave processes behind. The helpers here know the
wire (a small RESP2/RESP3 client on raw sockets, because Debian's python3-redis
4.3 has no RESP3) but nothing about business rules: those are asserted in the
test modules against docs of the contract.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _import_redis():
    """Returns the redis module (Debian's python3-redis), or None if missing.

    The python3 on PATH may be another interpreter than Debian's; the library is
    pure Python, so its dist-packages directory is added as a fallback.
    """
    try:
        import redis  # noqa: F401
        return redis
    except ImportError:
        pass
    debian = "/usr/lib/python3/dist-packages"
    if os.path.isdir(os.path.join(debian, "redis")) and debian not in sys.path:
        sys.path.append(debian)
        try:
            import redis  # noqa: F401
            return redis
        except ImportError:
            return None
    return None


redis = _import_redis()


def binary():
    """Path of the server binary: $EXACTLY_BINARY or build/exactly."""
    return os.environ.get("EXACTLY_BINARY") or os.path.join(REPO_ROOT, "build", "exactly")


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class ServerError(Exception):
    """The server did not start, or exited when it should not have."""


class Server:
    """One `exactly serve` process on a data dir.

    `wrapper` (a list) is put in front of the command line, e.g. strace; `env`
    (a dict) is added to the environment, e.g. LD_PRELOAD for a test layer. The
    process runs in its own session so that a wrapper's child can be found and
    signalled by id; the output goes to a log file next to (not inside) the
    data dir, so `exactly check` sees only the server's own files.
    """

    def __init__(self, data_dir, port=None, fsync=None, requirepass=None, wrapper=None,
                 extra_args=None, log_path=None, env=None, make_dir=True):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.fsync = fsync
        self.requirepass = requirepass
        self.wrapper = list(wrapper or [])
        self.extra_args = list(extra_args or [])
        self.env = dict(env or {})
        self.make_dir = make_dir  # False: the server itself must create its data dir
        self.log_path = log_path or (data_dir.rstrip("/") + ".log")
        self.proc = None
        self._log = None

    def command_line(self):
        cmd = self.wrapper + [binary(), "serve", "--dir", self.data_dir, "--port", str(self.port),
                              "--bind", "127.0.0.1"]
        if self.fsync:
            cmd += ["--fsync", self.fsync]
        if self.requirepass is not None:
            cmd += ["--requirepass", self.requirepass]
        return cmd + self.extra_args

    def start(self, timeout=20.0):
        """Starts the server and waits until its port accepts connections."""
        if not os.path.exists(binary()):
            raise ServerError("server binary not found: %s" % binary())
        if self.make_dir:
            os.makedirs(self.data_dir, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self._log.write(("\n=== start %s\n" % " ".join(self.command_line())).encode())
        self._log.flush()
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen(self.command_line(), stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self._close_log()
                raise ServerError("server exited with %s before listening:\n%s" %
                                  (rc, self.log_tail()))
            if port_open(self.port):
                return self
            time.sleep(0.05)
        self.kill()
        raise ServerError("server did not listen on port %d within %.0fs:\n%s" %
                          (self.port, timeout, self.log_tail()))

    def target_pid(self):
        """PID of the exactly process itself (the wrapper's child when wrapped)."""
        if not self.wrapper:
            return self.proc.pid
        exe = os.path.realpath(binary())
        for pid in _descendants(self.proc.pid):
            try:
                if os.path.realpath("/proc/%d/exe" % pid) == exe:
                    return pid
            except OSError:
                continue
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code, or None."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.target_pid(), signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._sigkill_all()
                self.proc.wait(10)
        rc = self.proc.returncode
        self._close_log()
        return rc

    def kill(self):
        """kill -9 of the server process (and of its wrapper, if any)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._sigkill_all()
            self.proc.wait(10)
        self._close_log()

    def power_off(self, timeout=10.0):
        """SIGKILL of the server's whole process group at once (the server and any
        snapshot child it forked), then waits until none of them is left: what a
        power cut does to the processes. Only for unwrapped servers."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.01)
        else:
            raise ServerError("processes of group %d outlived SIGKILL" % self.proc.pid)
        self._close_log()

    def _sigkill_all(self):
        pids = [self.target_pid()] if self.wrapper else []
        pids.append(self.proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    # Clients.
    def client(self, **kwargs):
        """A python3-redis client (RESP2), decoding replies as str."""
        if redis is None:
            raise ServerError("python3-redis is not installed")
        kwargs.setdefault("decode_responses", True)
        kwargs.setdefault("socket_timeout", 30)
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def raw(self, timeout=30.0, hello3=False):
        """A raw RESP connection; with hello3, switched to RESP3 by HELLO 3."""
        conn = RawConnection(self.port, timeout=timeout)
        if hello3:
            reply = conn.call("HELLO", "3")
            if isinstance(reply, RespError):
                raise ServerError("HELLO 3 failed: %s" % reply)
        return conn


def _descendants(pid):
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, task)) as f:
                    for c in f.read().split():
                        out.append(int(c))
                        todo.append(int(c))
        except OSError:
            continue
    return out


def check(data_dir, timeout=60):
    """Runs `exactly check --dir D`; returns (exit code, output)."""
    p = subprocess.run([binary(), "check", "--dir", data_dir], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace")


# RESP on raw sockets.

class RespError(Exception):
    """An error reply (-ERR ...). Returned, not raised, so pipelines keep going."""

    @property
    def code(self):
        return str(self).split(" ", 1)[0]


class Push(list):
    """A RESP3 push message (>)."""


class Attribute(dict):
    """A RESP3 attribute (|), kept only to be skipped."""


def encode(*args):
    """Encodes one command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class ConnectionClosed(Exception):
    pass


class RawConnection:
    """A blocking RESP2/RESP3 connection; strings are decoded as UTF-8 (replace)."""

    def __init__(self, port, host="127.0.0.1", timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        self.sock.sendall(data)

    def send_command(self, *args):
        self.sock.sendall(encode(*args))

    def call(self, *args):
        self.send_command(*args)
        return self.read_reply()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionClosed("connection closed by server")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n + 2]
        return data

    def read_reply(self):
        """Reads one reply; error replies come back as RespError instances."""
        while True:
            value = self._read_value()
            if isinstance(value, Attribute):
                continue
            return value

    def closed_by_peer(self, timeout=2.0):
        """True if the server closes the connection within `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def _read_value(self):
        line = self._line()
        if not line:
            raise ValueError("empty reply line")
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode("utf-8", "replace")
        if t == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            return self._exact(n).decode("utf-8", "replace")
        if t == b"*" or t == b"~" or t == b">":
            n = int(rest)
            if n < 0:
                return None
            items = [self.read_reply() for _ in range(n)]
            return Push(items) if t == b">" else items
        if t == b"%" or t == b"|":
            n = int(rest)
            d = Attribute() if t == b"|" else {}
            for _ in range(n):
                k = self.read_reply()
                if isinstance(k, list):
                    k = tuple(k)
                d[k] = self.read_reply()
            return d
        if t == b"_":
            return None
        if t == b",":
            return float(rest)
        if t == b"#":
            return rest == b"t"
        if t == b"(":
            return int(rest)
        if t == b"!":
            return RespError(self._exact(int(rest)).decode("utf-8", "replace"))
        if t == b"=":
            return self._exact(int(rest))[4:].decode("utf-8", "replace")
        raise ValueError("unknown RESP type %r in %r" % (t, line))


def as_dict(reply):
    """A business reply as a dict: RESP3 maps as they are, RESP2 flat arrays paired.

    Nested lists of replies (HISTORY entries, EXEC results) are converted too.
    """
    if isinstance(reply, dict):
        return {k: _nested(v) for k, v in reply.items()}
    if isinstance(reply, list):
        if len(reply) % 2:
            raise ValueError("odd-length reply cannot be a field/value array: %r" % (reply,))
        return {k: _nested(v) for k, v in zip(reply[::2], reply[1::2])}
    raise ValueError("not a field/value reply: %r" % (reply,))


def exec_dicts(reply):
    """EXEC's reply (one element per queued command) as a list of dicts; an error
    element stays a RespError. Raises ValueError for an error reply as a whole."""
    if isinstance(reply, RespError):
        raise ValueError("EXEC answered an error: %s" % reply)
    if not isinstance(reply, list):
        raise ValueError("EXEC reply is not an array: %r" % (reply,))
    return [e if isinstance(e, RespError) else as_dict(e) for e in reply]


def exec_executed(elements):
    """Whether a group executed (no element refused, rolled back or skipped)."""
    return not any(isinstance(e, RespError) or e.get("failed") == 1 or
                   e["result"] in ("rolled_back", "skipped") for e in elements)


def _nested(v):
    if isinstance(v, list) and v and all(isinstance(x, (list, dict)) for x in v):
        try:
            return [as_dict(x) for x in v]
        except ValueError:
            return v
    return v


def first_field(reply):
    """The first field name of a reply (must be `result` per the contract)."""
    if isinstance(reply, dict):
        return next(iter(reply), None)
    if isinstance(reply, list) and reply:
        return reply[0]
    return None


def parse_info(text):
    """INFO text -> (sections, {field: value})."""
    sections, fields = [], {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            sections.append(line.lstrip("# ").strip())
        elif ":" in line:
            k, v = line.split(":", 1)
            fields[k] = v
    return sections, fields


class ServerTestCase:
    """Mixin for unittest.TestCase: a temp dir and a started server per test.

    Subclasses set `server_kwargs` (dict) and may call self.restart().
    """

    server_kwargs = {}

    def setUp(self):
        if not os.path.exists(binary()):
            self.skipTest("server binary not built: %s" % binary())
        self.tmp = tempfile.mkdtemp(prefix="exactly-it-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.servers = []
        self.server = self.new_server().start()

    def new_server(self, **kwargs):
        args = dict(self.server_kwargs)
        args.update(kwargs)
        s = Server(self.data_dir, log_path=os.path.join(self.tmp, "server.log"), **args)
        self.servers.append(s)
        return s

    def restart(self, kill=False, **kwargs):
        """Stops (SIGTERM, or kill -9) and starts a new server on the same dir/port."""
        port = self.server.port
        if kill:
            self.server.kill()
        else:
            self.server.stop()
        self.server = self.new_server(port=port, **kwargs).start()
        return self.server

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(t is self for t, _ in result.failures + result.errors)

    def tearDown(self):
        for s in getattr(self, "servers", []):
            try:
                s.stop(timeout=5)
            except Exception:  # noqa: BLE001 - teardown must not mask the test's failure
                s.kill()
        failed = self._failed()
        if getattr(self, "tmp", None):
            if failed or os.environ.get("EXACTLY_KEEP_TMP"):
                print("\n[kept %s]\n%s" % (self.tmp, self.servers[-1].log_tail()
                                           if self.servers else ""), file=sys.stderr)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)


# Helpers for the lock, idempotency and limit tests.

def call_dict(conn, *args):
    """One command on a RawConnection; its reply as a dict, or AssertionError
    naming the command when the server answered an error."""
    reply = conn.call(*args)
    if isinstance(reply, RespError):
        raise AssertionError("%s -> %s" % (" ".join(map(str, args)), reply))
    return as_dict(reply)


def wait_until(predicate, timeout=10.0, interval=0.01):
    """Polls `predicate` until it is true; returns its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def info_field(server, name):
    """One INFO field of a running server, as an int when it is one."""
    with server.raw(timeout=10) as c:
        _, fields = parse_info(c.call("INFO"))
    value = fields.get(name)
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def has_pending_reply(conn):
    """True if bytes of a reply are already buffered or readable on a RawConnection."""
    import select
    if conn.buf:
        return True
    readable, _, _ = select.select([conn.sock], [], [], 0)
    return bool(readable)


# PostgreSQL: a throwaway cluster for tests that guard a real row with a fencing token.

PG_BIN = os.environ.get("EXACTLY_PG_BIN", "/usr/lib/postgresql/15/bin")


class PostgresError(Exception):
    """PostgreSQL is missing or did not start."""


class Postgres:
    """A PostgreSQL cluster in its own temp dir, on a free port, stopped by PID.

    As root, initdb and the server run as the `postgres` user (PostgreSQL refuses
    root); the temp dir is handed to that user. Queries go through `psql`, so the
    tests need no driver that matches the interpreter's ABI.
    """

    def __init__(self):
        self.dir = None
        self.port = None
        self.pid = None

    @staticmethod
    def available():
        return os.path.exists(os.path.join(PG_BIN, "initdb"))

    def _as_pg(self):
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, args, timeout=60):
        return subprocess.run(self._as_pg() + args, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout)

    def start(self):
        if not self.available():
            raise PostgresError("PostgreSQL not found in %s" % PG_BIN)
        self.dir = tempfile.mkdtemp(prefix="exactly-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres")
        data = os.path.join(self.dir, "data")
        p = self._run([os.path.join(PG_BIN, "initdb"), "-D", data, "-U", "postgres",
                       "--auth=trust", "-E", "UTF8"], timeout=120)
        if p.returncode != 0:
            raise PostgresError("initdb failed:\n%s" % p.stdout.decode("utf-8", "replace"))
        self.port = free_port()
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.dir))
        p = self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-w", "-t", "60",
                       "-l", os.path.join(self.dir, "log"), "-o", opts, "start"], timeout=90)
        if p.returncode != 0:
            raise PostgresError("pg_ctl start failed:\n%s" % p.stdout.decode("utf-8", "replace"))
        with open(os.path.join(data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        return self

    def psql(self, sql):
        """Runs SQL with psql; returns its output (tuples only, unaligned)."""
        p = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", "postgres", "-d", "postgres", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=60)
        out = p.stdout.decode("utf-8", "replace").strip()
        if p.returncode != 0:
            raise PostgresError("psql failed (%s): %s" % (sql, out))
        return out

    def stop(self):
        """pg_ctl stop -m immediate; SIGKILL by PID if that fails. Removes the dir."""
        if self.dir is None:
            return
        data = os.path.join(self.dir, "data")
        if self.pid is not None:
            try:
                self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", data, "-m", "immediate",
                           "-w", "stop"], timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.kill(self.pid, 0)
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
