"""`-H fd://`: sockets handed over by systemd socket activation (LISTEN_PID/LISTEN_FDS)."""

import os
import socket
import subprocess
import tempfile
import time
import unittest

from harness import berth_bin, http_request


class SocketActivationTest(unittest.TestCase):
    def activate(self, sockets, host_arg):
        """Starts berth as systemd would: the sockets at fds 3.., LISTEN_FDS=n and
        LISTEN_PID equal to berth's own pid (sh's $$, kept across exec)."""
        tmp = tempfile.TemporaryDirectory(prefix="berth-fd-")
        self.addCleanup(tmp.cleanup)
        fds = [s.fileno() for s in sockets]

        def place_fds():
            # Move the listening sockets to 3, 4, … in the child.
            dups = [os.dup(fd) for fd in fds]
            for i, fd in enumerate(dups):
                os.dup2(fd, 3 + i)
                os.set_inheritable(3 + i, True)

        env = dict(os.environ, LISTEN_FDS=str(len(sockets)))
        script = 'LISTEN_PID=$$ exec "$0" serve -H "$1" --data-root "$2"'
        proc = subprocess.Popen(["sh", "-c", script, berth_bin(), host_arg, os.path.join(tmp.name, "data")],
                                # Keep the originals and their new numbers open
                                # past subprocess's fd cleanup.
                                env=env, preexec_fn=place_fds,
                                pass_fds=fds + [3 + i for i in range(len(fds))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def stop():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stderr.close()
        self.addCleanup(stop)
        return proc

    def wait_ping(self, address, proc):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.assertIsNone(proc.poll(), proc.stderr.read().decode(errors="replace") if proc.poll() is not None else "")
            try:
                r = http_request(address, "GET", "/_ping", timeout=2)
                return r
            except OSError:
                time.sleep(0.05)
        self.fail("no answer on %r" % (address,))

    def test_unix_and_tcp_sockets_from_systemd(self):
        tmp = tempfile.TemporaryDirectory(prefix="berth-fd-sock-")
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "activated.sock")
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(path)
        unix.listen(16)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(16)
        port = tcp.getsockname()[1]
        self.addCleanup(unix.close)
        self.addCleanup(tcp.close)

        proc = self.activate([unix, tcp], "fd://")
        r = self.wait_ping(path, proc)
        self.assertEqual((r.status, r.body), (200, b"OK"))
        r = self.wait_ping(("127.0.0.1", port), proc)
        self.assertEqual((r.status, r.body), (200, b"OK"))
        self.assertEqual(r.header("Api-Version"), "1.51")

    def test_single_fd_selected(self):
        tmp = tempfile.TemporaryDirectory(prefix="berth-fd-sock-")
        self.addCleanup(tmp.cleanup)
        socks, paths = [], []
        for name in ("a.sock", "b.sock"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            p = os.path.join(tmp.name, name)
            s.bind(p)
            s.listen(4)
            self.addCleanup(s.close)
            socks.append(s)
            paths.append(p)
        proc = self.activate(socks, "fd://4")  # the second socket only
        r = self.wait_ping(paths[1], proc)
        self.assertEqual(r.status, 200)
        # fd 3 was passed but not chosen: nobody accepts on it.
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(1)
        probe.connect(paths[0])  # the kernel queues it in the backlog
        probe.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        with self.assertRaises(socket.timeout):
            probe.recv(1)
        probe.close()

    def test_fd_without_activation_fails(self):
        tmp = tempfile.TemporaryDirectory(prefix="berth-fd-")
        self.addCleanup(tmp.cleanup)
        env = {k: v for k, v in os.environ.items() if k not in ("LISTEN_PID", "LISTEN_FDS")}
        res = subprocess.run([berth_bin(), "serve", "-H", "fd://", "--data-root", os.path.join(tmp.name, "d")],
                             env=env, capture_output=True, timeout=10)
        self.assertEqual(res.returncode, 1)
        self.assertIn(b"socket activation", res.stderr)


if __name__ == "__main__":
    unittest.main()
