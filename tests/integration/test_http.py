"""Raw HTTP/1.1 over Berth's unix socket: exact status codes, headers, bodies."""

import concurrent.futures
import json
import threading
import time
import unittest
import urllib.parse

from harness import Berth, HTTPConn, http_request, build_request

JSON_CT = {"Content-Type": "application/json"}
SWARM_MANAGER_MSG = "This node is not a swarm manager."


class HTTPTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.berth = Berth()
        cls.sock = cls.berth.sock

    @classmethod
    def tearDownClass(cls):
        cls.berth.stop()

    def req(self, method, target, **kw):
        return http_request(self.sock, method, target, **kw)

    def conn(self, timeout=10.0):
        c = HTTPConn(self.sock, timeout=timeout)
        self.addCleanup(c.close)
        return c

    def assertPingHeaders(self, r):
        self.assertEqual(r.header("Api-Version"), "1.51", r)
        self.assertEqual(r.header("OSType"), "linux", r)
        self.assertEqual(r.header("Docker-Experimental"), "false", r)
        self.assertIn(r.header("Builder-Version"), ("1", "2"), r)
        self.assertTrue((r.header("Server") or "").startswith("Berth/"), r)

    def assertJSONError(self, r, status, message=None, prefix=None):
        self.assertEqual(r.status, status, r)
        ct = r.header("Content-Type") or ""
        self.assertTrue(ct.startswith("application/json"), r)
        try:
            body = r.json()
        except ValueError:
            self.fail("error body is not JSON: %r" % r)
        self.assertIsInstance(body, dict, r)
        self.assertIsInstance(body.get("message"), str, r)
        if message is not None:
            self.assertEqual(body["message"], message, r)
        if prefix is not None:
            self.assertTrue(body["message"].startswith(prefix), r)
        return body

    def assertAlive(self):
        r = self.req("GET", "/_ping", timeout=5)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"OK")

    # ---------------------------------------------------------------- ping
    def test_ping_every_version_prefix(self):
        targets = ["/_ping"] + ["/v1.%d/_ping" % v for v in range(24, 52)]
        self.assertEqual(len(targets), 29)
        for t in targets:
            with self.subTest(target=t):
                r = self.req("GET", t)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, b"OK")
                self.assertPingHeaders(r)

    def test_ping_cache_and_swarm_headers(self):
        r = self.req("GET", "/_ping")
        self.assertEqual(r.header("Cache-Control"), "no-cache, no-store, must-revalidate", r)
        self.assertEqual(r.header("Pragma"), "no-cache", r)
        self.assertEqual(r.header("Swarm"), "inactive", r)

    def test_head_ping(self):
        c = self.conn()
        r = c.request("HEAD", "/_ping")
        self.assertEqual(r.status, 200, r)
        self.assertPingHeaders(r)
        # no body bytes: the next response on the same connection parses cleanly
        r2 = c.request("GET", "/_ping")
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.body, b"OK")
        self.assertEqual(c.buf, b"")

    def test_head_ping_versioned(self):
        c = self.conn()
        r = c.request("HEAD", "/v1.44/_ping")
        self.assertEqual(r.status, 200, r)
        self.assertPingHeaders(r)
        self.assertEqual(c.request("GET", "/v1.32/_ping").body, b"OK")

    # ------------------------------------------------------------- version
    def test_version_too_new(self):
        r = self.req("GET", "/v1.52/version")
        self.assertJSONError(r, 400, "client version 1.52 is too new. Maximum "
                                     "supported API version is 1.51")

    def test_version_too_old(self):
        r = self.req("GET", "/v1.23/version")
        self.assertJSONError(r, 400, "client version 1.23 is too old. Minimum "
                                     "supported API version is 1.24, please "
                                     "upgrade your client to a newer version")

    def test_version_body(self):
        for t in ("/version", "/v1.51/version", "/v1.24/version"):
            with self.subTest(target=t):
                r = self.req("GET", t)
                self.assertEqual(r.status, 200, r)
                self.assertTrue(r.header("Content-Type", "").startswith("application/json"), r)
                v = r.json()
                self.assertEqual(v["ApiVersion"], "1.51")
                self.assertEqual(v["MinAPIVersion"], "1.24")
                self.assertEqual(v["Os"], "linux")
                self.assertEqual(v["Components"][0]["Name"], "Engine")

    def test_api_version_header_on_errors(self):
        # CLIENTS.md: API-Version: 1.51 on every response
        cases = [("GET", "/nope", None, None), ("GET", "/v1.52/version", None, None),
                 ("POST", "/swarm/leave?force=true", None, None),
                 ("POST", "/v1.51/containers/create", JSON_CT, b"{bad")]
        for method, target, hdrs, body in cases:
            with self.subTest(target=target):
                r = self.req(method, target, headers=hdrs, body=body)
                self.assertGreaterEqual(r.status, 400, r)
                self.assertEqual(r.header("Api-Version"), "1.51", r)

    # -------------------------------------------------------------- routing
    def test_unknown_route_404(self):
        for t in ("/nope", "/v1.51/nope", "/v1.24/nope"):
            with self.subTest(target=t):
                self.assertJSONError(self.req("GET", t), 404, "page not found")

    def test_wrong_method_404(self):
        self.assertJSONError(self.req("DELETE", "/_ping"), 404, "page not found")
        self.assertJSONError(self.req("PUT", "/v1.51/version"), 404, "page not found")

    # --------------------------------------------------------- request body
    def test_create_invalid_json(self):
        r = self.req("POST", "/v1.51/containers/create", headers=JSON_CT, body=b"{bad")
        self.assertJSONError(r, 400, prefix="invalid JSON")

    def test_wrong_field_type_400(self):
        # dockerd decodes the body first: a field of the wrong type is 400,
        # before the image or the container is looked up.
        cases = [
            ("/v1.51/containers/create", b'{"Image":5}',
             "CreateRequest.Image of type string"),
            ("/v1.51/containers/create", b'{"Image":"busybox","Cmd":{"a":1}}',
             "CreateRequest.Cmd of type strslice.StrSlice"),
            ("/v1.51/containers/create", b'{"Image":"busybox","HostConfig":{"Memory":"lots"}}',
             "CreateRequest.HostConfig.Memory of type int64"),
            ("/v1.51/containers/nosuch/update", b'{"CpuShares":"x"}',
             "UpdateConfig.CpuShares of type int64"),
            ("/v1.51/containers/nosuch/exec", b'{"Cmd":"ls"}',
             "ExecOptions.Cmd of type []string"),
        ]
        for path, body, field in cases:
            r = self.req("POST", path, headers=JSON_CT, body=body)
            msg = self.assertJSONError(r, 400)["message"]
            self.assertTrue(msg.startswith("invalid JSON: json: cannot unmarshal "), msg)
            self.assertTrue(msg.endswith(" into Go struct field " + field), msg)
        # Elsewhere the handler's own decoding stops at the first wrong type.
        for path, body in (("/v1.51/volumes/create", b'{"Name":5}'),
                           ("/v1.51/networks/create", b'{"Name":"n","Labels":[1]}')):
            r = self.req("POST", path, headers=JSON_CT, body=body)
            self.assertJSONError(r, 400, prefix="invalid JSON: ")
        self.assertAlive()

    def test_create_wrong_content_type(self):
        r = self.req("POST", "/v1.51/containers/create",
                     headers={"Content-Type": "text/plain"}, body=b'{"Image":"busybox"}')
        self.assertJSONError(r, 400, "unsupported Content-Type header (text/plain): "
                                     "must be 'application/json'")

    def test_create_missing_image(self):
        r = self.req("POST", "/v1.51/containers/create", headers=JSON_CT,
                     body=b'{"Image":"busybox"}')
        self.assertJSONError(r, 404, "No such image: busybox:latest")

    def test_json_body_endpoint_not_implemented(self):
        r = self.req("POST", "/v1.51/commit?container=c", headers=JSON_CT, body=b'{"Cmd":["sh"]}')
        body = self.assertJSONError(r, 501)
        self.assertIn("POST /commit", body["message"], r)
        r = self.req("POST", "/v1.51/commit?container=c", headers=JSON_CT, body=b"{bad")
        self.assertJSONError(r, 400, prefix="invalid JSON")

    def test_content_length_zero_accepted(self):
        # clients (docker-java, requests) send "Content-Length: 0" on body-less calls
        c = self.conn()
        r = c.request("GET", "/_ping", headers={"Content-Length": "0"})
        self.assertEqual((r.status, r.body), (200, b"OK"), r)
        r = c.request("POST", "/swarm/leave?force=true", headers={"Content-Length": "0"})
        self.assertJSONError(r, 503, "This node is not part of a swarm")

    def test_chunked_body(self):
        c = self.conn()
        r = c.request("POST", "/v1.51/containers/create", headers=JSON_CT,
                      body=b'{"Image":"busybox","Cmd":["true"]}', chunked=True)
        self.assertJSONError(r, 404, "No such image: busybox:latest")
        # the body was really read and parsed: a broken chunked JSON body is a 400
        r = c.request("POST", "/v1.51/containers/create", headers=JSON_CT,
                      body=b'{"Image": "busybox", bad', chunked=True)
        self.assertJSONError(r, 400, prefix="invalid JSON")
        # and the chunk framing was consumed exactly: the connection still works
        r = c.request("GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)

    def test_oversized_json_body_413(self):
        # 16 MiB is the cap for bodies decoded into memory; one byte more is refused
        # with a JSON 413 and the connection is closed (the rest is not read).
        body = b'{"Image":"' + b"a" * (16 * 1024 * 1024) + b'"}'
        c = self.conn(timeout=30)
        r = c.request("POST", "/v1.51/containers/create", headers=JSON_CT, body=body)
        err = self.assertJSONError(r, 413)
        self.assertEqual(err["message"], "request body is larger than 16777216 bytes")
        self.assertEqual(r.header("Connection", "").lower(), "close", r)
        # the daemon is fine afterwards
        r = self.req("GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)

    def test_oversized_chunked_json_body_413(self):
        body = b'{"Image":"' + b"a" * (16 * 1024 * 1024) + b'"}'
        c = self.conn(timeout=30)
        r = c.request("POST", "/v1.51/containers/create", headers=JSON_CT, body=body, chunked=True)
        err = self.assertJSONError(r, 413)
        self.assertEqual(err["message"], "request body is larger than 16777216 bytes")
        r = self.req("GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)

    def test_http10_keepalive(self):
        c = self.conn()
        c.send(b"GET /_ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"OK"), r)
        self.assertEqual(r.header("Connection", "").lower(), "keep-alive", r)
        c.send(b"GET /_ping HTTP/1.0\r\n\r\n")  # no keep-alive: answered, then closed
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"OK"), r)
        closed, _ = c.wait_closed(5)
        self.assertTrue(closed)

    # ----------------------------------------------------------------- swarm
    def test_swarm_leave(self):
        r = self.req("POST", "/swarm/leave?force=true")
        self.assertJSONError(r, 503, "This node is not part of a swarm")

    def test_swarm_manager_endpoints(self):
        for t in ("/services", "/v1.51/services", "/nodes", "/tasks", "/secrets",
                  "/configs"):
            with self.subTest(target=t):
                self.assertJSONError(self.req("GET", t), 503, prefix=SWARM_MANAGER_MSG)

    # ---------------------------------------------------------- robustness
    def test_oversized_header_431(self):
        c = self.conn(timeout=10)
        head = (b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nX-Big: "
                + b"a" * (1024 * 1024) + b"\r\n\r\n")
        send_err = []

        def sender():
            try:
                c.sock.sendall(head)
            except OSError as e:       # the server may close before reading it all
                send_err.append(e)
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        r = c.read_response()
        self.assertEqual(r.status, 431, r)
        closed, rest = c.wait_closed(5)
        self.assertTrue(closed, "connection not closed after 431; extra=%r" % rest[:200])
        t.join(10)
        self.assertAlive()

    def test_malformed_request_line_400(self):
        c = self.conn()
        c.send(b"THIS IS NOT HTTP\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 400, r)
        self.assertAlive()

    def test_keepalive_three_requests(self):
        c = self.conn()
        for t in ("/_ping", "/version", "/v1.51/_ping"):
            r = c.request("GET", t)
            self.assertEqual(r.status, 200, r)
        self.assertEqual(c.request("GET", "/_ping").body, b"OK")

    def test_pipelined_requests(self):
        c = self.conn()
        c.send(build_request("GET", "/_ping") + build_request("GET", "/nope")
               + build_request("GET", "/v1.51/version"))
        r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
        self.assertEqual((r1.status, r1.body), (200, b"OK"), r1)
        self.assertEqual(r2.status, 404, r2)
        self.assertEqual(r3.status, 200, r3)
        self.assertEqual(r3.json()["ApiVersion"], "1.51")

    def test_idle_keepalive_8s(self):
        used = self.conn(timeout=20)
        self.assertEqual(used.request("GET", "/_ping").status, 200)
        fresh = self.conn(timeout=20)      # connected, never sent a byte
        time.sleep(8)
        r = used.request("GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)
        r = fresh.request("GET", "/_ping")
        self.assertEqual((r.status, r.body), (200, b"OK"), r)

    def test_stalled_client_does_not_block_200_others(self):
        stalled = self.conn(timeout=30)
        stalled.send(b"GET /_pi")          # half a request line, then nothing

        def one(_):
            with HTTPConn(self.sock, timeout=10) as c:
                r = c.request("GET", "/_ping")
                return r.status, r.body

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=200) as ex:
            results = list(ex.map(one, range(200)))
        elapsed = time.monotonic() - start
        self.assertEqual(results, [(200, b"OK")] * 200)
        self.assertLess(elapsed, 10.0)
        # the stalled connection is still open (default timeout is 60 s) and
        # completing its request is answered
        stalled.send(b"ng HTTP/1.1\r\nHost: x\r\n\r\n")
        r = stalled.read_response()
        self.assertEqual((r.status, r.body), (200, b"OK"), r)

    # ---------------------------------------------------------------- events
    def test_events_reload(self):
        daemon_id = self.req("GET", "/info").json()["ID"]
        since, until = self.berth.hup_for_reload()
        q = urllib.parse.urlencode({"since": since, "until": until,
                                    "filters": json.dumps({"type": ["daemon"]})})
        r = self.req("GET", "/v1.51/events?" + q, timeout=15)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type", "").startswith("application/json"), r)
        events = r.json_lines()
        reloads = [e for e in events if e.get("Action") == "reload"]
        self.assertEqual(len(reloads), 1, r)
        self.assertEqual(len(events), 1, r)
        ev = reloads[0]
        self.assertEqual(ev["Type"], "daemon")
        self.assertEqual(ev["Actor"]["ID"], daemon_id)
        self.assertTrue(since <= ev["time"] <= until, ev)
        # the same window filtered on containers is empty
        q = urllib.parse.urlencode({"since": since, "until": until,
                                    "filters": json.dumps({"type": ["container"]})})
        r = self.req("GET", "/v1.51/events?" + q, timeout=15)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json_lines(), [], r)

    def test_events_bad_filters(self):
        now = int(time.time())
        q = urllib.parse.urlencode({"since": now - 5, "until": now - 1,
                                    "filters": "{not json"})
        r = self.req("GET", "/events?" + q)
        self.assertJSONError(r, 400)

    # -------------------------------------------------------------------- df
    def test_system_df(self):
        r = self.req("GET", "/v1.51/system/df")
        self.assertEqual(r.status, 200, r)
        df = r.json()
        for key in ("LayersSize", "Images", "Containers", "Volumes", "BuildCache"):
            self.assertIn(key, df, r)
        self.assertEqual(df["LayersSize"], 0)
        self.assertEqual(df["Images"], [])
        self.assertEqual(df["Containers"], [])
        self.assertEqual(df["Volumes"], [])


class ReadTimeoutTest(unittest.TestCase):
    """--request-read-timeout 2: stalled requests are cut, idle ones are not."""

    @classmethod
    def setUpClass(cls):
        cls.berth = Berth("--request-read-timeout", "2")

    @classmethod
    def tearDownClass(cls):
        cls.berth.stop()

    def conn(self, timeout=15.0):
        c = HTTPConn(self.berth.sock, timeout=timeout)
        self.addCleanup(c.close)
        return c

    def test_stalled_header_closed_idle_kept(self):
        idle = self.conn()                  # never sends a byte
        used = self.conn()
        self.assertEqual(used.request("GET", "/_ping").status, 200)
        stalled = self.conn()
        stalled.send(b"GET /_pi")
        start = time.monotonic()
        closed, data = stalled.wait_closed(6)
        elapsed = time.monotonic() - start
        self.assertTrue(closed, "half request still open after 6 s; got %r" % data)
        self.assertLess(elapsed, 5.0)
        self.assertGreater(elapsed, 1.0)
        self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 408"), data)
        # idle keep-alive connections are never timed out
        time.sleep(max(0.0, 4.0 - (time.monotonic() - start)))
        for c in (idle, used):
            r = c.request("GET", "/_ping")
            self.assertEqual((r.status, r.body), (200, b"OK"), r)

    def test_stalled_body_closed(self):
        c = self.conn()
        c.send(b"POST /v1.51/containers/create HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Ima")
        start = time.monotonic()
        closed, data = c.wait_closed(8)
        elapsed = time.monotonic() - start
        self.assertTrue(closed, "stalled body still open after 8 s; got %r" % data)
        self.assertLess(elapsed, 5.0)
        # closed by the read timeout, not refused at once for another reason
        self.assertGreater(elapsed, 1.0, "closed after %.2f s with %r" % (elapsed, data))
        self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 408"), data)

    def test_stalled_chunked_body_closed(self):
        c = self.conn()
        c.send(b"POST /v1.51/containers/create HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\n{\"Ima\r\n")
        start = time.monotonic()
        closed, data = c.wait_closed(8)
        elapsed = time.monotonic() - start
        self.assertTrue(closed, "stalled chunked body still open after 8 s; got %r" % data)
        self.assertLess(elapsed, 5.0)
        self.assertGreater(elapsed, 1.0, "closed after %.2f s with %r" % (elapsed, data))
        self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 408"), data)


if __name__ == "__main__":
    unittest.main()
