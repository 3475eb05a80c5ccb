"""`berth serve` start-up checks, flags, config file and signals (docs/daemon.md)."""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (Berth, HTTPConn, build_request, run_berth, http_request,
                     free_tcp_port)

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                    "daemon.md")


class DaemonTest(unittest.TestCase):
    def tmpdir(self):
        d = tempfile.TemporaryDirectory(prefix="berth-it-")
        self.addCleanup(d.cleanup)
        return d.name

    def start(self, *args, **kw):
        b = Berth(*args, **kw)
        self.addCleanup(b.stop)
        return b

    def serve_expect_fail(self, args, timeout=10.0):
        """Run `berth serve args`; it must exit (non-zero) on its own."""
        res = run_berth(["serve"] + list(args), timeout=timeout)
        self.assertFalse(res.timed_out, "berth kept running: %r" % res)
        self.assertNotEqual(res.returncode, 0, res)
        self.assertGreater(res.returncode, 0, "killed by a signal? %r" % res)
        return res

    # ------------------------------------------------------------ data root
    def test_second_daemon_same_data_root(self):
        a = self.start()
        d = self.tmpdir()
        res = self.serve_expect_fail(["-H", "unix://" + os.path.join(d, "b.sock"),
                                      "--data-root", a.data_root])
        self.assertIn("in use", res.stderr, res)
        self.assertIn("(pid %d)" % a.pid, res.stderr, res)
        self.assertFalse(os.path.exists(os.path.join(d, "b.sock")))
        self.assertEqual(a.get("/_ping").status, 200)

    # --------------------------------------------------------------- sockets
    def test_live_socket_refused(self):
        a = self.start()
        d = self.tmpdir()
        res = self.serve_expect_fail(["-H", a.url, "--data-root", os.path.join(d, "data")])
        self.assertIn("in use", res.stderr, res)
        # the first daemon's socket is untouched and still answers
        self.assertTrue(os.path.exists(a.sock))
        r = a.get("/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"))

    def test_stale_socket_replaced(self):
        d = self.tmpdir()
        path = os.path.join(d, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()                                   # file stays, nobody listens
        self.assertTrue(os.path.exists(path))
        b = self.start(sock=path)
        self.assertEqual(b.get("/_ping").status, 200)

    def test_socket_mode_0660(self):
        b = self.start()
        self.assertEqual(os.stat(b.sock).st_mode & 0o777, 0o660)

    def test_tcp_port_in_use(self):
        taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        d = self.tmpdir()
        res = self.serve_expect_fail(["-H", "unix://" + os.path.join(d, "s.sock"),
                                      "-H", "tcp://127.0.0.1:%d" % port,
                                      "--data-root", os.path.join(d, "data")])
        self.assertIn("address already in use", res.stderr, res)
        # the unix socket it may have opened first is gone again
        self.assertFalse(os.path.exists(os.path.join(d, "s.sock")), res)

    def test_plain_tcp_non_loopback_refused(self):
        d = self.tmpdir()
        port = free_tcp_port()
        res = self.serve_expect_fail(["-H", "tcp://0.0.0.0:%d" % port,
                                      "--data-root", os.path.join(d, "data")])
        self.assertIn("tls", res.stderr.lower(), res)

    def test_plain_tcp_loopback_allowed(self):
        port = free_tcp_port()
        b = self.start(hosts=["tcp://127.0.0.1:%d" % port])
        r = http_request(("127.0.0.1", port), "GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)
        self.assertEqual(r.header("Api-Version"), "1.51")
        r = http_request(("127.0.0.1", port), "GET", "/v1.51/version")
        self.assertEqual(r.json()["ApiVersion"], "1.51")

    def test_tlsverify_without_files(self):
        d = self.tmpdir()
        port = free_tcp_port()
        self.serve_expect_fail(["-H", "tcp://127.0.0.1:%d" % port, "--tlsverify",
                                "--data-root", os.path.join(d, "data")])

    # ----------------------------------------------------------- config file
    def write_config(self, obj):
        d = self.tmpdir()
        p = os.path.join(d, "daemon.json")
        with open(p, "w") as f:
            json.dump(obj, f)
        return p

    def test_config_file_labels(self):
        cfg = self.write_config({"labels": ["a=b"], "log-level": "debug"})
        b = self.start("--config-file", cfg)
        info = b.get("/info").json()
        self.assertEqual(info["Labels"], ["a=b"])

    def test_config_file_unknown_key(self):
        cfg = self.write_config({"labels": ["a=b"], "no-such-key-xyz": True})
        d = self.tmpdir()
        res = self.serve_expect_fail(["-H", "unix://" + os.path.join(d, "s.sock"),
                                      "--data-root", os.path.join(d, "data"),
                                      "--config-file", cfg])
        self.assertIn("no-such-key-xyz", res.stderr, res)

    def test_config_file_invalid_json(self):
        d = self.tmpdir()
        cfg = os.path.join(d, "daemon.json")
        with open(cfg, "w") as f:
            f.write('{"labels": [')
        self.serve_expect_fail(["-H", "unix://" + os.path.join(d, "s.sock"),
                                "--data-root", os.path.join(d, "data"),
                                "--config-file", cfg])

    def test_flags_win_over_file(self):
        other = os.path.join(self.tmpdir(), "file-data-root")
        cfg = self.write_config({"labels": ["a=b"], "data-root": other})
        b = self.start("--config-file", cfg, "--label", "c=d")
        info = b.get("/info").json()
        self.assertEqual(info["DockerRootDir"], b.data_root)
        self.assertEqual(info["Labels"], ["c=d"])
        self.assertFalse(os.path.exists(other))

    def test_config_file_data_root_used(self):
        root = os.path.join(self.tmpdir(), "from-file")
        cfg = self.write_config({"data-root": root})
        d = self.tmpdir()
        sock = os.path.join(d, "s.sock")
        b = Berth("--config-file", cfg, sock=sock, data_root=root, data_root_flag=False)
        self.addCleanup(b.stop)
        self.assertEqual(b.get("/info").json()["DockerRootDir"], root)
        self.assertTrue(os.path.exists(os.path.join(root, "berth.lock")))

    def test_sighup_reloads_labels(self):
        d = self.tmpdir()
        cfg = os.path.join(d, "daemon.json")
        with open(cfg, "w") as f:
            json.dump({"labels": ["gen=1"]}, f)
        b = self.start("--config-file", cfg)
        self.assertEqual(b.get("/info").json()["Labels"], ["gen=1"])
        with open(cfg, "w") as f:
            json.dump({"labels": ["gen=2"]}, f)
        b.signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        labels = None
        while time.monotonic() < deadline:
            labels = b.get("/info").json()["Labels"]
            if labels == ["gen=2"]:
                break
            time.sleep(0.1)
        self.assertEqual(labels, ["gen=2"])

    # --------------------------------------------------------------- signals
    def test_sigterm_clean_and_restart(self):
        d = self.tmpdir()
        sock = os.path.join(d, "berth.sock")
        root = os.path.join(d, "data")
        a = Berth(sock=sock, data_root=root)
        self.addCleanup(a.stop)
        first_id = a.get("/info").json()["ID"]
        rc = a.stop()
        self.assertEqual(rc, 0, a.stderr_text())
        self.assertFalse(a.killed)
        self.assertFalse(os.path.exists(sock), "socket file left behind")
        b = Berth(sock=sock, data_root=root)
        self.addCleanup(b.stop)
        r = b.get("/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"))
        # the state database was reopened: the daemon ID is persistent
        self.assertEqual(b.get("/info").json()["ID"], first_id)
        self.assertEqual(b.stop(), 0)

    def test_sigterm_with_open_event_stream(self):
        b = self.start("--shutdown-timeout", "2")
        c = HTTPConn(b.sock, timeout=20)
        self.addCleanup(c.close)
        c.send(build_request("GET", "/v1.51/events"))   # streams until closed
        head = c._read_until(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        start = time.monotonic()
        b.signal(signal.SIGTERM)
        try:
            b.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("berth still running 10 s after SIGTERM with an open "
                      "/events stream and --shutdown-timeout 2")
        elapsed = time.monotonic() - start
        self.assertEqual(b.proc.returncode, 0, b.stderr_text())
        self.assertLess(elapsed, 6.0)
        closed, _ = c.wait_closed(2)
        self.assertTrue(closed, "event stream not closed at shutdown")
        self.assertFalse(os.path.exists(b.sock))

    def test_sigint_clean(self):
        b = self.start()
        b.signal(signal.SIGINT)
        b.proc.wait(15)
        self.assertEqual(b.proc.returncode, 0, b.stderr_text())
        self.assertFalse(os.path.exists(b.sock))

    # ------------------------------------------------------------ misc flags
    def test_backend_kube_needs_a_helper_image_and_a_cluster(self):
        d = self.tmpdir()
        res = self.serve_expect_fail(["-H", "unix://" + os.path.join(d, "s.sock"),
                                      "--data-root", os.path.join(d, "data"),
                                      "--backend", "kube"])
        self.assertIn("berth: the kube backend needs --helper-image", res.stderr, res)
        res = self.serve_expect_fail(["-H", "unix://" + os.path.join(d, "s.sock"),
                                      "--data-root", os.path.join(d, "data"), "--backend", "kube",
                                      "--helper-image", "127.0.0.1:1/berth/helper:x",
                                      "--kubeconfig", os.path.join(d, "missing-kubeconfig")])
        self.assertIn("missing-kubeconfig", res.stderr, res)

    def test_backend_unknown(self):
        d = self.tmpdir()
        self.serve_expect_fail(["-H", "unix://" + os.path.join(d, "s.sock"),
                                "--data-root", os.path.join(d, "data"),
                                "--backend", "nonsense"])

    def test_unknown_flag(self):
        d = self.tmpdir()
        res = self.serve_expect_fail(["-H", "unix://" + os.path.join(d, "s.sock"),
                                      "--data-root", os.path.join(d, "data"),
                                      "--no-such-flag"])
        self.assertIn("--no-such-flag", res.stderr + res.stdout, res)

    def test_version_flag(self):
        res = run_berth(["--version"])
        self.assertEqual(res.returncode, 0, res)
        self.assertTrue(res.stdout.startswith("berth version "), res)
        self.assertRegex(res.stdout.strip(),
                         r"^berth version \d+\.\d+\.\d+\S*, build \S+$")

    def test_serve_help_lists_every_flag(self):
        res = run_berth(["serve", "--help"])
        self.assertEqual(res.returncode, 0, res)
        text = res.stdout + res.stderr
        with open(DOCS) as f:
            doc = f.read()
        flags = set()
        for line in doc.splitlines():
            if line.startswith("| `-"):
                first_cell = line.split("|")[1]
                flags.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", first_cell))
        self.assertGreaterEqual(len(flags), 17, flags)
        for flag in sorted(flags):
            with self.subTest(flag=flag):
                self.assertRegex(text, r"(?<![\w-])%s(?![\w-])" % re.escape(flag))

    def test_log_format_json(self):
        b = self.start("--log-format", "json", "--log-level", "debug")
        b.get("/_ping")
        rc = b.stop(cleanup=False)
        self.addCleanup(b.cleanup)
        self.assertEqual(rc, 0)
        lines = [l for l in b.stderr_text().splitlines() if l.strip()]
        self.assertTrue(lines, "no log output on stderr")
        for l in lines:
            obj = json.loads(l)
            self.assertIsInstance(obj, dict, l)
            self.assertIn("level", obj, l)
            self.assertIn("msg", obj, l)

    def test_log_format_text(self):
        b = self.start("--log-level", "debug")
        rc = b.stop(cleanup=False)
        self.addCleanup(b.cleanup)
        self.assertEqual(rc, 0)
        lines = [l for l in b.stderr_text().splitlines() if l.strip()]
        self.assertTrue(lines, "no log output on stderr")
        for l in lines:
            self.assertRegex(l, r'^time=\S+ level=(debug|info|warning|error|fatal) msg=')


if __name__ == "__main__":
    unittest.main()
