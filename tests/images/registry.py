"""A real registry for tests: Debian's docker-registry (distribution 2.8) on
127.0.0.1 and a free port, in a temporary directory, anonymous or with
htpasswd Basic auth; and a small Distribution API v2 client to push the
project's test images (`testimages.py`) into it.

    with Registry() as reg:                     # or Registry(auth=("user", "pass"))
        reg.push("library/busybox", "latest", testimages.busybox())
        reg.address                             # "127.0.0.1:PORT"
"""

import base64
import http.client
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

REGISTRY_BIN = os.environ.get("BERTH_REGISTRY_BIN", "/usr/bin/docker-registry")


def _bindable(port):
    s = socket.socket()
    try:
        s.bind(("", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(n, consecutive=False):
    """n free ports below the ephemeral range (a run of n consecutive ones if
    asked). A port the kernel hands out for bind(0) is an ephemeral one, which
    any outgoing connection (the API server's own to etcd, say) may take as
    its source port between this choice and the server's bind; below the range
    only a listener can."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    rng = random.Random()
    ports = []
    while len(ports) < n:
        if consecutive:
            first = rng.randint(10000, ephemeral_low - n)
            run = list(range(first, first + n))
            if all(_bindable(p) for p in run):
                ports = run
            continue
        port = rng.randint(10000, ephemeral_low - 1)
        if port not in ports and _bindable(port):
            ports.append(port)
    return ports


class RegistryError(Exception):
    pass


class Registry:
    def __init__(self, auth=None):
        self.auth = auth  # (user, password) or None
        self.dir = tempfile.mkdtemp(prefix="berth-registry-")
        self.port = free_ports(1)[0]
        self.address = "127.0.0.1:%d" % self.port
        self.proc = None
        self.log = open(os.path.join(self.dir, "registry.log"), "wb")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    @classmethod
    def client(cls, address, auth=None):
        """A client of a registry that runs already (no process of its own)."""
        r = cls.__new__(cls)
        r.auth, r.dir, r.proc, r.log = auth, None, None, None
        r.address = address
        r.port = int(address.rsplit(":", 1)[1])
        return r

    def _start(self):
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s" % os.path.join(self.dir, "storage"),
            "  delete:",
            "    enabled: true",
            "http:",
            "  addr: %s" % self.address,
            "  secret: %s" % base64.b32encode(os.urandom(20)).decode(),
        ]
        if self.auth:
            htpasswd = os.path.join(self.dir, "htpasswd")
            # The registry only accepts bcrypt entries.
            entry = subprocess.run(["htpasswd", "-Bbn", self.auth[0], self.auth[1]], check=True,
                                   capture_output=True, text=True).stdout.strip()
            with open(htpasswd, "w") as f:
                f.write(entry + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: berth-test", "    path: %s" % htpasswd]
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", config], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RegistryError("docker-registry exited: " + self.log_text())
            try:
                status, _, _ = self.request("GET", "/v2/")
                if status in (200, 401):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RegistryError("docker-registry did not answer: " + self.log_text())

    def log_text(self):
        self.log.flush()
        with open(os.path.join(self.dir, "registry.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---------------------------------------------------------------- client
    def request(self, method, path, body=None, headers=None, auth=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            h = dict(headers or {})
            if auth and self.auth:
                token = base64.b64encode(("%s:%s" % self.auth).encode()).decode()
                h["Authorization"] = "Basic " + token
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def push_blob(self, repo, dgst, data):
        status, _, _ = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, dgst))
        if status == 200:
            return
        status, headers, body = self.request("POST", "/v2/%s/blobs/uploads/" % repo)
        if status != 202:
            raise RegistryError("start upload: %d %s" % (status, body[:200]))
        location = urllib.parse.urlsplit(headers["Location"])
        query = (location.query + "&" if location.query else "") + urllib.parse.urlencode({"digest": dgst})
        status, _, body = self.request("PUT", location.path + "?" + query, body=data,
                                       headers={"Content-Type": "application/octet-stream",
                                                "Content-Length": str(len(data))})
        if status != 201:
            raise RegistryError("upload %s: %d %s" % (dgst, status, body[:200]))

    def push_manifest(self, repo, reference, image):
        status, headers, body = self.request("PUT", "/v2/%s/manifests/%s" % (repo, reference), body=image.manifest,
                                             headers={"Content-Type": image.media_type})
        if status != 201:
            raise RegistryError("put manifest %s:%s: %d %s" % (repo, reference, status, body[:300]))
        return headers.get("Docker-Content-Digest")

    def push(self, repo, tag, image):
        """Pushes blobs, child manifests (of an index) and the manifest; returns its digest."""
        for child in image.children:
            for dgst, data in child.blobs.items():
                self.push_blob(repo, dgst, data)
            self.push_manifest(repo, child.digest, child)
        for dgst, data in image.blobs.items():
            self.push_blob(repo, dgst, data)
        got = self.push_manifest(repo, tag, image)
        if got != image.digest:
            raise RegistryError("registry stored %s as %s, expected %s" % (tag, got, image.digest))
        return got
