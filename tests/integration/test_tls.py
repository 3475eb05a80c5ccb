"""Mutual TLS on a loopback TCP listener (--tlsverify)."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest
from unittest import mock

import docker
from docker.tls import TLSConfig

from harness import Berth, HTTPConn, run_docker, free_tcp_port


def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args),
                                                       p.stderr.decode()))


EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def make_ca(d, name):
    openssl("req", "-x509", *EC, "-keyout", name + "-key.pem", "-out", name + ".pem",
            "-days", "2", "-subj", "/CN=%s" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_cert(d, ca, name, cn, ext):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    openssl("req", *EC, "-keyout", name + "-key.pem", "-out", name + ".csr",
            "-subj", "/CN=%s" % cn, cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
            "-CAkey", ca + "-key.pem", "-CAcreateserial", "-out", name + "-cert.pem",
            "-days", "2", "-extfile", name + ".ext", cwd=d)


class TLSTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="berth-tls-")
        d = cls.dir
        try:
            make_ca(d, "ca")
            make_cert(d, "ca", "server", "localhost",
                      "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                      "extendedKeyUsage=serverAuth\n")
            make_cert(d, "ca", "client", "client", "extendedKeyUsage=clientAuth\n")
            make_ca(d, "rogue-ca")
            make_cert(d, "rogue-ca", "rogue", "rogue", "extendedKeyUsage=clientAuth\n")
            # DOCKER_CERT_PATH layout for the CLI
            cls.certpath = os.path.join(d, "client")
            os.mkdir(cls.certpath)
            shutil.copy(os.path.join(d, "ca.pem"), os.path.join(cls.certpath, "ca.pem"))
            shutil.copy(os.path.join(d, "client-cert.pem"),
                        os.path.join(cls.certpath, "cert.pem"))
            shutil.copy(os.path.join(d, "client-key.pem"),
                        os.path.join(cls.certpath, "key.pem"))
            cls.port = free_tcp_port()
            cls.tcp = "tcp://127.0.0.1:%d" % cls.port
            cls.berth = Berth("--tlsverify",
                              "--tlscacert", os.path.join(d, "ca.pem"),
                              "--tlscert", os.path.join(d, "server-cert.pem"),
                              "--tlskey", os.path.join(d, "server-key.pem"),
                              hosts=[cls.tcp])
        except BaseException:
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.berth.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def tls_conn(self, cert=None, key=None):
        ctx = ssl.create_default_context(cafile=self.path("ca.pem"))
        if cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.addCleanup(raw.close)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(s.close)
        return s

    def assertRefused(self, cert=None, key=None):
        got = b""
        try:
            s = self.tls_conn(cert, key)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass
        self.assertNotIn(b"HTTP/", got)

    def test_docker_cli_version(self):
        res = run_docker(["version", "--format", "{{json .}}"], self.tcp,
                         extra_env={"DOCKER_TLS_VERIFY": "1",
                                    "DOCKER_CERT_PATH": self.certpath})
        out = json.loads(res.stdout)
        self.assertEqual(out["Server"]["ApiVersion"], "1.51")
        self.assertEqual(out["Server"]["Os"], "linux")

    def test_dockerpy(self):
        # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's
        # `verify` (psf/requests#3829), which would replace our CA bundle.
        env = mock.patch.dict(os.environ)
        env.start()
        self.addCleanup(env.stop)
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            os.environ.pop(var, None)
        tls = TLSConfig(
            client_cert=(self.path("client-cert.pem"), self.path("client-key.pem")),
            ca_cert=self.path("ca.pem"), verify=True)
        c = docker.DockerClient(base_url="https://127.0.0.1:%d" % self.port, tls=tls,
                                timeout=20)
        self.addCleanup(c.close)
        self.assertIs(c.ping(), True)
        self.assertEqual(c.version()["ApiVersion"], "1.51")
        self.assertEqual(c.info()["OSType"], "linux")

    def test_python_ssl_with_client_cert(self):
        s = self.tls_conn(self.path("client-cert.pem"), self.path("client-key.pem"))
        c = HTTPConn(sock=s)
        r = c.request("GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)
        self.assertEqual(r.header("Api-Version"), "1.51")

    def test_no_client_cert_refused(self):
        self.assertRefused()

    def test_client_cert_from_other_ca_refused(self):
        self.assertRefused(self.path("rogue-cert.pem"), self.path("rogue-key.pem"))

    def test_plain_http_on_tls_port_not_served(self):
        c = HTTPConn(("127.0.0.1", self.port), timeout=10)
        self.addCleanup(c.close)
        try:
            c.send(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
            closed, data = c.wait_closed(8)
        except (ConnectionResetError, BrokenPipeError):
            closed, data = True, b""
        self.assertTrue(closed, data)
        self.assertNotIn(b"HTTP/1.1 200", data)

    def test_unix_socket_still_plain(self):
        c = HTTPConn(self.berth.sock)
        self.addCleanup(c.close)
        r = c.request("GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)


class ServerTLSTest(unittest.TestCase):
    """--tls without --tlsverify: TLS, but no client certificate required."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="berth-tls-")
        try:
            make_ca(cls.dir, "ca")
            make_cert(cls.dir, "ca", "server", "localhost",
                      "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                      "extendedKeyUsage=serverAuth\n")
            cls.port = free_tcp_port()
            cls.berth = Berth("--tls",
                              "--tlscert", os.path.join(cls.dir, "server-cert.pem"),
                              "--tlskey", os.path.join(cls.dir, "server-key.pem"),
                              hosts=["tcp://127.0.0.1:%d" % cls.port])
        except BaseException:
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.berth.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_python_ssl_without_client_cert(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "ca.pem"))
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.addCleanup(raw.close)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.addCleanup(s.close)
        r = HTTPConn(sock=s).request("GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)


if __name__ == "__main__":
    unittest.main()
