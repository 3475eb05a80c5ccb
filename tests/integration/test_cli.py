"""The real docker CLI (28.x) against Berth on a unix socket."""

import json
import unittest

from harness import Berth, run_docker, assert_info_fields, assert_reload_event


class DockerCLITest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.berth = Berth("--label", "foo=bar")
        cls._window = None

    @classmethod
    def tearDownClass(cls):
        cls.berth.stop()

    def docker(self, *args, **kw):
        return run_docker(list(args), self.berth.url, **kw)

    def reload_window(self):
        """SIGHUP the daemon once per class; (since, until) around the event."""
        cls = type(self)
        if cls._window is None:
            cls._window = self.berth.hup_for_reload()
        return cls._window

    def daemon_id(self):
        info = json.loads(self.docker("info", "--format", "{{json .}}").stdout)
        return info["ID"]

    def test_version_json(self):
        out = json.loads(self.docker("version", "--format", "{{json .}}").stdout)
        server = out["Server"]
        self.assertIsNotNone(server, out)
        self.assertEqual(server["ApiVersion"], "1.51")
        self.assertEqual(server["MinAPIVersion"], "1.24")
        self.assertEqual(server["Os"], "linux")
        self.assertEqual(server["Components"][0]["Name"], "Engine")
        # CLI 28.2 speaks at most API 1.50; it negotiates min(1.50, server's 1.51)
        self.assertEqual(out["Client"]["ApiVersion"], "1.50")

    def test_version_plain_has_server_section(self):
        out = self.docker("version").stdout
        lines = out.splitlines()
        self.assertTrue(any(l.startswith("Server:") for l in lines), out)
        self.assertTrue(any(l.startswith("Client:") for l in lines), out)

    def test_info_json(self):
        res = self.docker("info", "--format", "{{json .}}")
        info = json.loads(res.stdout)
        self.assertFalse(info.get("ServerErrors"), info.get("ServerErrors"))
        assert_info_fields(self, info, self.berth.data_root, labels=["foo=bar"])

    def test_system_df(self):
        out = self.docker("system", "df").stdout
        lines = [l for l in out.splitlines() if l.strip()]
        self.assertEqual(lines[0].split(),
                         ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], out)
        rows = {}
        for l in lines[1:]:
            for name in ("Images", "Containers", "Local Volumes", "Build Cache"):
                if l.startswith(name):
                    rows[name] = l[len(name):].split()
        self.assertEqual(sorted(rows),
                         sorted(["Images", "Containers", "Local Volumes", "Build Cache"]),
                         out)
        self.assertEqual(len(lines), 5, out)
        # a fresh data root: nothing in use
        for name, cols in rows.items():
            self.assertEqual(cols[:2], ["0", "0"], "%s row: %s" % (name, out))
            self.assertEqual(cols[2], "0B", "%s row: %s" % (name, out))

    def test_events_reload(self):
        since, until = self.reload_window()
        res = self.docker("events", "--since", str(since), "--until", str(until),
                          "--format", "{{json .}}", timeout=20)
        events = [json.loads(l) for l in res.stdout.splitlines() if l.strip()]
        reloads = [e for e in events
                   if e.get("Type") == "daemon" and e.get("Action") == "reload"]
        self.assertEqual(len(reloads), 1, res.stdout)
        assert_reload_event(self, reloads[0], self.daemon_id())
        self.assertTrue(since <= reloads[0]["time"] <= until, (since, until, reloads))

    def test_events_filter_type_container_empty(self):
        since, until = self.reload_window()
        res = self.docker("events", "--since", str(since), "--until", str(until),
                          "--filter", "type=container", "--format", "{{json .}}",
                          timeout=20)
        self.assertEqual(res.stdout.strip(), "", res)
        # ... while the unfiltered query over the same window is not empty
        res = self.docker("events", "--since", str(since), "--until", str(until),
                          "--filter", "type=daemon", "--format", "{{json .}}",
                          timeout=20)
        self.assertNotEqual(res.stdout.strip(), "", res)


if __name__ == "__main__":
    unittest.main()
