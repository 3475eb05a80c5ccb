"""A scriptable Distribution API v2 server for hostile-input tests: it
serves whatever it is given — blobs whose bytes do not match their digest,
truncated blobs, malformed manifests — optionally throttled, with HTTP
ranges, and logs every request. Anonymous, plain HTTP on 127.0.0.1.

    with FakeRegistry() as reg:
        reg.add_image("evil", "latest", image)         # a testimages.Image
        reg.blob_override[digest] = b"other bytes"      # serve wrong content
        reg.throttle = 4 << 20                          # bytes per second
        reg.requests                                    # [(method, path, headers)]
        reg.fail_blob[digest] = 2                       # next 2 GETs answer 503
        reg.bearer = ("user", "pass")                   # Bearer token auth via /token
"""

import http.server
import socket
import threading
import time


class FakeRegistry:
    def __init__(self):
        self.manifests = {}      # (repo, reference) -> (body, media type)
        self.blobs = {}          # digest -> bytes
        self.blob_override = {}  # digest -> bytes served instead
        self.throttle = None     # bytes per second for blob bodies
        self.requests = []
        self.fail_blob = {}      # digest -> how many more GETs answer 503
        self.bearer = None       # (user, password): token auth with a /token realm
        self.token_requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.handle_any(head=True)

            def do_GET(self):
                self.handle_any(head=False)

            def error(self, status, code, message):
                body = ('{"errors":[{"code":"%s","message":"%s"}]}' % (code, message)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def challenge(self):
                realm = "http://%s/token" % outer.address
                body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Bearer realm="%s",service="fake-registry"' % realm)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def token(self):
                import base64
                import urllib.parse
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                auth = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(("%s:%s" % outer.bearer).encode()).decode()
                with outer.lock:
                    outer.token_requests.append((query, auth))
                if auth != expected:
                    return self.error(401, "UNAUTHORIZED", "invalid credentials")
                body = b'{"token":"t0ken-%d","expires_in":300}' % len(outer.token_requests)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def handle_any(self, head):
                with outer.lock:
                    outer.requests.append((self.command, self.path, dict(self.headers)))
                path = self.path.split("?")[0]
                if outer.bearer and path == "/token":
                    return self.token()
                if outer.bearer and not self.headers.get("Authorization", "").startswith("Bearer t0ken-"):
                    return self.challenge()
                if path == "/v2/":
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    if not head:
                        self.wfile.write(b"{}")
                    return
                if not path.startswith("/v2/"):
                    return self.error(404, "NOT_FOUND", "not found")
                rest = path[4:]
                if "/manifests/" in rest:
                    repo, ref = rest.rsplit("/manifests/", 1)
                    m = outer.manifests.get((repo, ref))
                    if m is None:
                        return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
                    body, media_type = m
                    self.send_response(200)
                    self.send_header("Content-Type", media_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(body)
                    return
                if "/blobs/" in rest:
                    repo, dgst = rest.rsplit("/blobs/", 1)
                    data = outer.blob_override.get(dgst, outer.blobs.get(dgst))
                    with outer.lock:
                        failing = outer.fail_blob.get(dgst, 0)
                        if failing and not head:
                            outer.fail_blob[dgst] = failing - 1
                    if failing and not head:
                        return self.error(503, "UNAVAILABLE", "try again")
                    if data is None:
                        return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
                    start = 0
                    rng = self.headers.get("Range")
                    if rng and rng.startswith("bytes=") and rng.endswith("-"):
                        start = int(rng[6:-1])
                    self.send_response(206 if start else 200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data) - start))
                    if start:
                        self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
                    self.end_headers()
                    if head:
                        return
                    self.send_body(data[start:])
                    return
                return self.error(404, "NAME_UNKNOWN", "repository name not known to registry")

            def send_body(self, data):
                chunk = 64 * 1024
                try:
                    for i in range(0, len(data), chunk):
                        self.wfile.write(data[i:i + chunk])
                        if outer.throttle:
                            time.sleep(chunk / outer.throttle)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add_image(self, repo, tag, image):
        """Serves a testimages.Image (and an index's children) under repo:tag."""
        self.manifests[(repo, tag)] = (image.manifest, image.media_type)
        self.manifests[(repo, image.digest)] = (image.manifest, image.media_type)
        self.blobs.update(image.blobs)
        for child in image.children:
            self.manifests[(repo, child.digest)] = (child.manifest, child.media_type)
            self.blobs.update(child.blobs)

    def add_manifest(self, repo, ref, body, media_type):
        self.manifests[(repo, ref)] = (body, media_type)

    def blob_requests(self, dgst):
        with self.lock:
            return [(m, h) for m, p, h in self.requests if p.endswith("/blobs/" + dgst)]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
