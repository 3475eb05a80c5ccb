"""Test harness for Berth integration tests (stdlib only).

* ``Berth``: starts the real ``berth serve`` binary in a fresh temp dir on a unix
  socket, waits for ``GET /_ping`` and stops it again (SIGTERM, then SIGKILL of
  that one PID only).
* ``ROOTLESS``: with BERTH_ROOTLESS=1 every ``Berth`` runs as an unprivileged
  user the harness creates once (with /etc/subuid and /etc/subgid ranges) and
  removes at exit, so the same tests drive a rootless daemon.
* ``run_berth``: runs the binary once and waits for it to exit (for start-up
  failures, ``--version``, ``--help``).
* ``HTTPConn`` / ``http_request``: a tiny raw HTTP/1.1 client over a unix (or
  TCP, or an already wrapped TLS) socket.  It sends exactly the bytes it is
  given, so tests can send malformed requests, and it parses status line,
  headers and bodies (Content-Length, chunked, or until EOF).
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))
from registry import free_ports  # noqa: E402  (stdlib only, like this file)

DEFAULT_BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "release", "src", "daemon", "berth")
DOCKER_CLI = os.environ.get("DOCKER_CLI", "/usr/local/bin/docker")


ROOTLESS = os.environ.get("BERTH_ROOTLESS") == "1"
TUN = "/dev/net/tun"


class RootlessUser:
    """A throw-away user with 65536 subordinate uids and gids, made on first
    use and removed (with its /etc/subuid and /etc/subgid lines) at exit."""
    _instance = None

    def __init__(self):
        binary = os.path.realpath(berth_bin())
        d = os.path.dirname(binary)
        while d != "/":
            if not os.stat(d).st_mode & 0o001:
                raise AssertionError("BERTH_ROOTLESS=1: %s is not reachable by another user (%s is mode %o)"
                                     % (binary, d, os.stat(d).st_mode & 0o777))
            d = os.path.dirname(d)
        self.name = "berth-rl-%d" % os.getpid()
        subprocess.run(["useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin",
                        self.name], check=True, capture_output=True)
        import pwd
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        # Debian's useradd gives a new user subordinate ranges itself (login.defs SUB_UID_*);
        # where it did not, the harness adds them. userdel removes both.
        self.added = []
        for f in ("/etc/subuid", "/etc/subgid"):
            with open(f) as fh:
                if any(l.split(":")[0] == self.name for l in fh):
                    continue
            line = "%s:%d:65536\n" % (self.name, self._free_start())
            with open(f, "a") as fh:
                fh.write(line)
            self.added.append((f, line))
        # slirp4netns opens /dev/net/tun, which is 0600 on the test machine: open it up
        # for the run and put the mode back at exit.
        self.tun_mode = None
        if os.path.exists(TUN):
            self.tun_mode = os.stat(TUN).st_mode & 0o7777
            os.chmod(TUN, 0o666)
        atexit.register(self.remove)

    @staticmethod
    def _free_start():
        end = 100000
        for f in ("/etc/subuid", "/etc/subgid"):
            try:
                with open(f) as fh:
                    for line in fh:
                        parts = line.strip().split(":")
                        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                            end = max(end, int(parts[1]) + int(parts[2]))
            except FileNotFoundError:
                pass
        return (end + 65535) // 65536 * 65536

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = RootlessUser()
        return cls._instance

    def drop(self):
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)

    def own(self, path):
        """Hands `path` (a directory the test made) to the user."""
        os.chown(path, self.uid, self.gid)

    def own_temp_dirs(self, args):
        """Hands the temporary directories `args` name (sockets, data roots, config and TLS
        files a test made as root) to the user, with what is in them."""
        tmp = tempfile.gettempdir()
        for a in args:
            for part in a.replace("=", " ").replace("unix://", " ").split():
                if not part.startswith(tmp + "/"):
                    continue
                top = os.path.join(tmp, part[len(tmp) + 1:].split("/")[0])
                if os.path.isdir(top) and os.stat(top).st_uid != self.uid:
                    for root, dirs, files in os.walk(top):
                        for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                            os.lchown(n, self.uid, self.gid)

    def processes(self):
        """(pid, command line) of the user's live processes. Zombies are dead
        already (this machine's pid 1 does not reap orphans)."""
        ps = subprocess.run(["ps", "-o", "pid=,stat=", "-u", str(self.uid)], capture_output=True, text=True).stdout
        out = []
        for f in (l.split() for l in ps.splitlines()):
            if len(f) == 2 and not f[1].startswith("Z"):
                try:
                    with open("/proc/%s/cmdline" % f[0]) as fh:
                        out.append((int(f[0]), fh.read().replace("\0", " ").strip()))
                except OSError:
                    pass
        return out

    def remove(self):
        if self.tun_mode is not None:
            os.chmod(TUN, self.tun_mode)
        for f, line in self.added:
            with open(f) as fh:
                lines = fh.readlines()
            with open(f, "w") as fh:
                fh.writelines(l for l in lines if l != line)
        left = self.processes()
        # One still exiting (its memory, and so its command line, already gone)
        # is not left behind: give such processes a moment to finish.
        deadline = time.monotonic() + 2
        while any(not cmd for _, cmd in left) and time.monotonic() < deadline:
            time.sleep(0.1)
            left = self.processes()
        for pid, _ in left:  # processes our daemons started, found by pid, so userdel can go on
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2 if left else 0)
        subprocess.run(["userdel", self.name], capture_output=True)
        if left:
            # An exception in an atexit handler would not change the exit status.
            sys.stderr.write("FAILED: processes of %s left behind: %s\n"
                             % (self.name, "; ".join("%d (%s)" % p for p in left)))
            sys.stderr.flush()
            os._exit(1)


def berth_bin():
    return os.environ.get("BERTH_BIN", DEFAULT_BIN)


def free_tcp_port():
    """A free port on 127.0.0.1, from below the ephemeral range (the one
    picker every test uses: registry.free_ports)."""
    return free_ports(1)[0]


def clean_env(extra=None):
    """os.environ without any DOCKER_* variable that could redirect a client."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    if extra:
        env.update(extra)
    return env


# --------------------------------------------------------------------------
# Raw HTTP
# --------------------------------------------------------------------------

class HTTPError(Exception):
    pass


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value), in wire order
        self.body = body                # bytes (de-chunked)
        self.raw_head = raw_head        # bytes of status line + headers
        self.chunked = False

    def header(self, name, default=None):
        """First value of header `name` (case-insensitive)."""
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return default

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def json_lines(self):
        out = []
        for line in self.body.decode("utf-8").splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
        return out

    def __repr__(self):
        body = self.body if len(self.body) < 600 else self.body[:600] + b"..."
        return "<Response %d %s headers=%r body=%r>" % (
            self.status, self.reason, self.headers, body)


def _connect(address, timeout):
    """address: 'unix:///path', '/path', ('host', port) or 'tcp://host:port'."""
    if isinstance(address, tuple):
        return socket.create_connection(address, timeout=timeout)
    if address.startswith("tcp://"):
        hostport = address[len("tcp://"):]
        host, port = hostport.rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=timeout)
    if address.startswith("unix://"):
        address = address[len("unix://"):]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(address)
    except Exception:
        s.close()
        raise
    return s


class HTTPConn:
    """One client connection. Keeps unread bytes between responses."""

    def __init__(self, address=None, timeout=10.0, sock=None):
        self.sock = sock if sock is not None else _connect(address, timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False

    # -- low level ------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self):
        """Read more bytes into buf; returns False at EOF."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            # A unix socket whose peer closed with unread data reports
            # ECONNRESET after the buffered bytes: treat as EOF.
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _read_until(self, delim, limit=16 * 1024 * 1024):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out = self.buf[:i + len(delim)]
                self.buf = self.buf[i + len(delim):]
                return out
            if len(self.buf) > limit:
                raise HTTPError("no %r within %d bytes" % (delim, limit))
            if not self._fill():
                raise HTTPError("connection closed while waiting for %r; got %r"
                                % (delim, self.buf[:300]))

    def _read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise HTTPError("connection closed after %d of %d body bytes"
                                % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until_close(self):
        """All remaining bytes until the peer closes (socket timeout raises)."""
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        return out

    def wait_closed(self, timeout):
        """True if the peer closes within `timeout` s. Returns (closed, bytes)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    if not self._fill():
                        return True, self.buf
                except socket.timeout:
                    return False, self.buf
            return False, self.buf
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass

    # -- responses ------------------------------------------------------
    def read_response(self, method="GET"):
        head = self._read_until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status_line = lines[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise HTTPError("bad status line %r" % status_line)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for raw in lines[1:]:
            line = raw.decode("latin-1")
            if ":" not in line:
                raise HTTPError("bad header line %r" % line)
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
        resp = Response(version, status, reason, headers, b"", head)
        if method.upper() == "HEAD" or 100 <= status < 200 or status in (204, 304):
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if "chunked" in te:
            resp.chunked = True
            body = []
            while True:
                size_line = self._read_until(b"\r\n").decode("latin-1").strip()
                size = int(size_line.split(";", 1)[0], 16)
                if size == 0:
                    # trailers until an empty line
                    while self._read_until(b"\r\n") != b"\r\n":
                        pass
                    break
                body.append(self._read_exact(size))
                if self._read_exact(2) != b"\r\n":
                    raise HTTPError("chunk not followed by CRLF")
            resp.body = b"".join(body)
        elif cl is not None:
            resp.body = self._read_exact(int(cl))
        else:
            resp.body = self.read_until_close()
        return resp

    # -- requests -------------------------------------------------------
    def request(self, method, target, headers=None, body=None, chunked=False,
                host="localhost"):
        self.send(build_request(method, target, headers, body, chunked, host))
        return self.read_response(method)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def build_request(method, target, headers=None, body=None, chunked=False,
                  host="localhost"):
    hdrs = [("Host", host)]
    if headers:
        hdrs.extend(headers.items() if isinstance(headers, dict) else headers)
    if isinstance(body, str):
        body = body.encode("utf-8")
    names = {k.lower() for k, _ in hdrs}
    if body is not None:
        if chunked:
            if "transfer-encoding" not in names:
                hdrs.append(("Transfer-Encoding", "chunked"))
            enc = b""
            step = max(1, (len(body) + 2) // 3)   # a few chunks
            for i in range(0, len(body), step):
                part = body[i:i + step]
                enc += b"%x\r\n" % len(part) + part + b"\r\n"
            body = enc + b"0\r\n\r\n"
        elif "content-length" not in names:
            hdrs.append(("Content-Length", str(len(body))))
    req = "%s %s HTTP/1.1\r\n" % (method, target)
    req += "".join("%s: %s\r\n" % (k, v) for k, v in hdrs) + "\r\n"
    out = req.encode("latin-1")
    if body is not None:
        out += body
    return out


def http_request(address, method, target, headers=None, body=None,
                 chunked=False, timeout=10.0):
    """One request on a fresh connection; returns Response."""
    with HTTPConn(address, timeout=timeout) as c:
        return c.request(method, target, headers=headers, body=body,
                         chunked=chunked)


# --------------------------------------------------------------------------
# Daemon process
# --------------------------------------------------------------------------

class Berth:
    """A running `berth serve` on a unix socket in a fresh temp dir.

    Berth(*extra_args, data_root=None, sock=None, hosts=(), data_root_flag=True)
    extra_args are appended after the -H/--data-root flags; hosts are extra
    -H values (the unix socket is always first).  With data_root_flag=False
    no --data-root is passed (data_root then only names where the test
    expects it, e.g. from a config file).
    """

    def __init__(self, *extra_args, data_root=None, sock=None, hosts=(),
                 start_timeout=10.0, env=None, binary=None, data_root_flag=True):
        self.tmp = tempfile.mkdtemp(prefix="berth-it-")
        self.user = RootlessUser.get() if ROOTLESS else None
        self.sock = sock or os.path.join(self.tmp, "berth.sock")
        self.data_root = data_root or os.path.join(self.tmp, "data")
        self.url = "unix://" + self.sock
        if self.user:
            self.user.own(self.tmp)
            if os.path.isdir(self.data_root):
                self.user.own(self.data_root)  # a test's own data root
        self.hosts = list(hosts)
        self.binary = binary or berth_bin()
        self.args = [self.binary, "serve", "-H", self.url]
        for h in self.hosts:
            self.args += ["-H", h]
        if data_root_flag:
            self.args += ["--data-root", self.data_root]
        self.args += list(extra_args)
        self._stderr_path = os.path.join(self.tmp, "stderr.log")
        self._stdout_path = os.path.join(self.tmp, "stdout.log")
        self.returncode = None
        self.proc = None
        self.killed = False
        self._cleaned = False
        try:
            self._start(start_timeout, env)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout, env):
        if not os.access(self.binary, os.X_OK):
            raise AssertionError("berth binary not found or not executable: %s"
                                 % self.binary)
        self._err = open(self._stderr_path, "wb")
        self._out = open(self._stdout_path, "wb")
        if env is None:
            env = clean_env({"HOME": self.tmp} if self.user else None)
        if self.user:
            self.user.own_temp_dirs(self.args + [self.data_root, self.sock])
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=self._out,
            stderr=self._err, env=env, cwd=self.tmp,
            preexec_fn=self.user.drop if self.user else None)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(
                    "berth exited with %d before answering /_ping\nargs: %s\n"
                    "stderr:\n%s" % (rc, " ".join(self.args), self.stderr_text()))
            try:
                r = http_request(self.sock, "GET", "/_ping", timeout=2)
                if r.status == 200:
                    return
                last = r
            except (OSError, HTTPError) as e:
                last = e
            time.sleep(0.05)
        raise AssertionError(
            "berth did not answer GET /_ping within %.0f s (last: %r)\nargs: %s\n"
            "stderr:\n%s" % (timeout, last, " ".join(self.args), self.stderr_text()))

    @property
    def pid(self):
        return self.proc.pid

    def stderr_text(self):
        try:
            with open(self._stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_text(self):
        try:
            with open(self._stdout_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def signal(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=15.0, cleanup=True):
        """SIGTERM, wait up to `timeout` s (then SIGKILL this PID); exit code."""
        if self.proc is not None and self.returncode is None:
            if self.proc.poll() is None:
                try:
                    os.kill(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    try:
                        os.kill(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.proc.wait()
                    self.killed = True
            self.returncode = self.proc.returncode
        if cleanup:
            self.cleanup()
        return self.returncode

    def cleanup(self):
        if self._cleaned:
            return
        if self.proc is not None and self.proc.poll() is None:
            # never leave our daemon behind
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.returncode = self.proc.returncode
        for f in ("_err", "_out"):
            fh = getattr(self, f, None)
            if fh is not None:
                fh.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._cleaned = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- convenience --------------------------------------------------------
    def get(self, target, **kw):
        return http_request(self.sock, "GET", target, **kw)

    def request(self, method, target, **kw):
        return http_request(self.sock, method, target, **kw)

    def hup_for_reload(self, settle=2.1):
        """Send SIGHUP and wait until the reload event is safely in the past.

        Returns (since, until) as integer unix timestamps: since <= the
        moment before SIGHUP, until >= SIGHUP + (settle - 1) seconds and in
        the past, so an events query with these bounds terminates at once.
        """
        since = int(time.time()) - 1
        self.signal(signal.SIGHUP)
        t = time.time()
        time.sleep(settle)
        until = int(time.time())
        assert until >= t + settle - 1.0
        return since, until


class Result:
    def __init__(self, returncode, stdout, stderr, timed_out):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out

    def __repr__(self):
        return "<Result rc=%r timed_out=%r stdout=%r stderr=%r>" % (
            self.returncode, self.timed_out, self.stdout[-2000:], self.stderr[-2000:])


def run_berth(args, timeout=10.0, env=None, cwd=None):
    """Run the berth binary with `args` and wait for it to exit.

    If it is still running after `timeout` s it is sent SIGTERM (then SIGKILL,
    this PID only) and the Result has timed_out=True.
    """
    with tempfile.TemporaryDirectory(prefix="berth-run-") as d:
        out_p, err_p = os.path.join(d, "out"), os.path.join(d, "err")
        with open(out_p, "wb") as out, open(err_p, "wb") as err:
            p = subprocess.Popen([berth_bin()] + list(args), stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err,
                                 env=env if env is not None else clean_env(),
                                 cwd=cwd or d)
            timed_out = False
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()
        with open(out_p, "rb") as f:
            so = f.read().decode("utf-8", "replace")
        with open(err_p, "rb") as f:
            se = f.read().decode("utf-8", "replace")
    return Result(p.returncode, so, se, timed_out)


def run_docker(args, host, timeout=30.0, extra_env=None, check=True, config_dir=None, stdin=None):
    """Run the docker CLI against `host` with a throw-away DOCKER_CONFIG
    (or `config_dir`, to keep `docker login` credentials between calls)."""
    with tempfile.TemporaryDirectory(prefix="berth-dcfg-") as cfg:
        env = clean_env({"DOCKER_HOST": host, "DOCKER_CONFIG": config_dir or cfg})
        if extra_env:
            env.update(extra_env)
        p = subprocess.run([DOCKER_CLI] + list(args), env=env, capture_output=True,
                           timeout=timeout, input=stdin.encode() if stdin is not None else None,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
    res = Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                 p.stderr.decode("utf-8", "replace"), False)
    if check and p.returncode != 0:
        raise AssertionError("docker %s failed: %r" % (" ".join(args), res))
    return res


def meminfo_total_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                parts = line.split()
                assert parts[2] == "kB", line
                return int(parts[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def expected_ncpu():
    """Acceptable NCPU values: online CPUs and the CPUs this process may use."""
    vals = set()
    if os.cpu_count():
        vals.add(os.cpu_count())
    try:
        vals.add(len(os.sched_getaffinity(0)))
    except AttributeError:
        pass
    return vals


def assert_info_fields(tc, info, data_root, labels=()):
    """Checks shared by the docker CLI and docker-py `info` tests."""
    tc.assertIn(info["NCPU"], expected_ncpu(), "NCPU")
    tc.assertEqual(info["MemTotal"], meminfo_total_bytes(), "MemTotal")
    tc.assertEqual(info["KernelVersion"], os.uname().release, "KernelVersion")
    tc.assertEqual(info["OSType"], "linux", "OSType")
    tc.assertEqual(info["Architecture"], os.uname().machine, "Architecture")
    tc.assertEqual(info["DockerRootDir"], data_root, "DockerRootDir")
    tc.assertEqual(info["Name"], socket.gethostname(), "Name")
    tc.assertEqual(info["Containers"], 0, "Containers")
    tc.assertEqual(info["Images"], 0, "Images")
    tc.assertEqual(info["CgroupDriver"], "cgroupfs", "CgroupDriver")
    tc.assertEqual(info["IndexServerAddress"], "https://index.docker.io/v1/",
                   "IndexServerAddress")
    tc.assertIsInstance(info["ID"], str)
    tc.assertNotEqual(info["ID"], "", "ID")
    for label in labels:
        tc.assertIn(label, info["Labels"], "Labels")


def assert_reload_event(tc, ev, daemon_id):
    tc.assertEqual(ev.get("Type"), "daemon", ev)
    tc.assertEqual(ev.get("Action"), "reload", ev)
    tc.assertEqual(ev.get("Actor", {}).get("ID"), daemon_id, ev)
    tc.assertEqual(ev.get("scope"), "local", ev)
    tc.assertIsInstance(ev.get("time"), int, ev)
    tc.assertIsInstance(ev.get("timeNano"), int, ev)
    tc.assertEqual(ev["time"], ev["timeNano"] // 1_000_000_000, ev)
