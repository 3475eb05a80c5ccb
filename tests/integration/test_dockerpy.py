"""docker-py (>= 7) against Berth on a unix socket."""

import unittest

import docker

from harness import Berth, assert_info_fields, assert_reload_event


class DockerPyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.berth = Berth("--label", "foo=bar")

    @classmethod
    def tearDownClass(cls):
        cls.berth.stop()

    def client(self):
        c = docker.DockerClient(base_url=self.berth.url, timeout=20)
        self.addCleanup(c.close)
        return c

    def test_ping(self):
        self.assertIs(self.client().ping(), True)

    def test_version(self):
        v = self.client().version()
        self.assertEqual(v["ApiVersion"], "1.51")
        self.assertEqual(v["MinAPIVersion"], "1.24")
        self.assertEqual(v["Os"], "linux")
        self.assertEqual(v["Components"][0]["Name"], "Engine")

    def test_info(self):
        info = self.client().info()
        assert_info_fields(self, info, self.berth.data_root, labels=["foo=bar"])

    def test_events_reload(self):
        c = self.client()
        daemon_id = c.info()["ID"]
        since, until = self.berth.hup_for_reload()
        events = list(c.events(since=since, until=until, decode=True))
        reloads = [e for e in events
                   if e.get("Type") == "daemon" and e.get("Action") == "reload"]
        self.assertEqual(len(reloads), 1, events)
        assert_reload_event(self, reloads[0], daemon_id)
        # a filtered query over the same window
        none = list(c.events(since=since, until=until, decode=True,
                             filters={"type": "container"}))
        self.assertEqual(none, [])

    def test_apiclient_auto_negotiates(self):
        api = docker.APIClient(base_url=self.berth.url, version="auto", timeout=20)
        self.addCleanup(api.close)
        self.assertEqual(api.api_version, "1.51")
        self.assertEqual(api.version()["ApiVersion"], "1.51")

    def test_df(self):
        df = self.client().df()
        for key in ("LayersSize", "Images", "Containers", "Volumes", "BuildCache"):
            self.assertIn(key, df)
        self.assertEqual(df["Images"], [])
        self.assertEqual(df["Containers"], [])
        self.assertEqual(df["Volumes"], [])


if __name__ == "__main__":
    unittest.main()
