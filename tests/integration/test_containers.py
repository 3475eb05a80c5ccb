"""Container records without a runtime yet: create (dockerd's merge of the
image config, names, conflicts, HostConfig defaults and checks), inspect,
list with filters, rename, rm, prune, and images held by containers."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))

import docker  # noqa: E402

import registry  # noqa: E402
import testimages  # noqa: E402
from harness import Berth, run_docker  # noqa: E402


class Containers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = registry.Registry()
        cls.busybox = testimages.busybox()
        cls.reg.push("library/busybox", "latest", cls.busybox)
        cls.reg.push("labels/a", "1", testimages.labelled({"from": "image", "team": "img"}, note="a"))

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()

    def setUp(self):
        self.berth = Berth()
        self.addCleanup(self.berth.stop)
        self.docker("pull", "-q", "%s/library/busybox" % self.reg.address)
        self.docker("tag", "%s/library/busybox" % self.reg.address, "busybox")
        self.image_id = json.loads(self.busybox.manifest)["config"]["digest"]

    def docker(self, *args, check=True):
        return run_docker(list(args), self.berth.url, check=check)

    def create(self, body, name=None):
        target = "/containers/create" + ("?name=%s" % name if name else "")
        return self.berth.request("POST", target, body=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json"})

    def test_create_merges_the_image_config(self):
        cid = self.docker("create", "--name", "web", "-e", "X=1", "-e", "PATH=/opt/bin", "-l", "app=web",
                          "-w", "/srv", "busybox", "sleep", "100").stdout.strip()
        self.assertEqual(len(cid), 64)
        c = json.loads(self.docker("inspect", "web").stdout)[0]
        self.assertEqual(c["Id"], cid)
        self.assertEqual(c["Name"], "/web")
        self.assertEqual(c["Image"], self.image_id)
        self.assertEqual(c["Path"], "sleep")
        self.assertEqual(c["Args"], ["100"])
        self.assertEqual(c["Config"]["Image"], "busybox")
        self.assertEqual(c["Config"]["Env"], ["PATH=/opt/bin", "X=1"])
        self.assertEqual(c["Config"]["Cmd"], ["sleep", "100"])
        self.assertEqual(c["Config"]["WorkingDir"], "/srv")
        self.assertEqual(c["Config"]["Labels"], {"app": "web"})
        self.assertEqual(c["Config"]["Hostname"], cid[:12])
        self.assertEqual(c["State"], {"Status": "created", "Running": False, "Paused": False, "Restarting": False,
                                      "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
                                      "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"})
        self.assertEqual(c["HostConfig"]["RestartPolicy"], {"Name": "no", "MaximumRetryCount": 0})
        self.assertEqual(c["HostConfig"]["ShmSize"], 67108864)
        self.assertEqual(c["HostConfig"]["NetworkMode"], "bridge")
        self.assertIn("/proc/kcore", c["HostConfig"]["MaskedPaths"])
        self.assertNotIn("Berth", c)
        # The image's Cmd when none is given; an entrypoint drops the image's Cmd.
        c2 = json.loads(self.docker("inspect", self.docker("create", "busybox").stdout.strip()).stdout)[0]
        self.assertEqual((c2["Path"], c2["Args"]), ("sh", []))
        c3 = json.loads(self.docker("inspect", self.docker("create", "--entrypoint", "echo", "busybox").stdout.strip())
                        .stdout)[0]
        self.assertEqual((c3["Path"], c3["Args"], c3["Config"]["Cmd"]), ("echo", [], None))
        # Labels of the image are merged under the container's.
        self.docker("pull", "-q", "%s/labels/a:1" % self.reg.address)
        c4 = json.loads(self.docker("inspect", self.docker("create", "-l", "team=ctr", "%s/labels/a:1" % self.reg.address,
                                                           "true").stdout.strip()).stdout)[0]
        self.assertEqual(c4["Config"]["Labels"], {"from": "image", "team": "ctr"})

    def test_names_and_conflicts(self):
        self.docker("create", "--name", "db", "busybox")
        r = self.create({"Image": "busybox"}, name="db")
        self.assertEqual(r.status, 409)
        holder = json.loads(self.docker("inspect", "db").stdout)[0]["Id"]
        self.assertEqual(r.json()["message"], 'Conflict. The container name "/db" is already in use by container "%s". '
                         'You have to remove (or rename) that container to be able to reuse that name.' % holder)
        r = self.create({"Image": "busybox"}, name="bad/name")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["message"], "Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        generated = json.loads(self.docker("inspect", self.docker("create", "busybox").stdout.strip()).stdout)[0]["Name"]
        self.assertRegex(generated, r"^/[a-z]+_[a-z]+\d?$")
        # Rename, and its conflicts.
        self.docker("create", "--name", "other", "busybox")
        r = self.docker("rename", "db", "other", check=False)
        self.assertIn('The container name "/other" is already in use', r.stderr)
        r = self.docker("rename", "db", "db", check=False)
        self.assertIn("Renaming a container with the same name as its current name", r.stderr)
        self.docker("rename", "db", "db2")
        self.assertEqual(json.loads(self.docker("inspect", "db2").stdout)[0]["Name"], "/db2")
        self.assertEqual(self.berth.get("/containers/db/json").json()["message"], "No such container: db")
        # Short ids resolve.
        self.assertEqual(json.loads(self.docker("inspect", holder[:6]).stdout)[0]["Name"], "/db2")

    def test_missing_image_and_bad_values(self):
        r = self.create({"Image": "nothere:1"})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["message"], "No such image: nothere:1")
        cases = [
            ({"Memory": 1024}, "Minimum memory limit allowed is 6MB"),
            ({"Memory": 64 << 20, "MemorySwap": 32 << 20}, "Minimum memoryswap limit should be larger than memory limit"),
            ({"NanoCpus": 1000000000, "CpuPeriod": 100000}, "Conflicting options: Nano CPUs and CPU Period"),
            ({"CpuShares": -1}, "invalid CPU shares"),
            ({"OomScoreAdj": 5000}, "range for oom score adj is [-1000, 1000]"),
            ({"RestartPolicy": {"Name": "sometimes"}}, "unknown policy 'sometimes'"),
            ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}, "can only be used with 'on-failure'"),
            ({"AutoRemove": True, "RestartPolicy": {"Name": "always"}}, "AutoRemove"),
            ({"MemorySwappiness": 101}, "valid memory swappiness range is 0-100"),
        ]
        for host, text in cases:
            r = self.create({"Image": "busybox", "HostConfig": host})
            self.assertEqual(r.status, 400, (host, r.body))
            self.assertIn(text, r.json()["message"])
        r = self.create({"Image": "busybox", "Entrypoint": [], "Cmd": []})
        self.assertEqual(r.status, 201)  # the image's sh
        self.assertEqual(self.berth.get("/containers/json?all=1").json()[0]["Command"], "sh")

    def test_list_and_filters(self):
        a = self.docker("create", "--name", "alpha", "-l", "tier=web", "busybox", "echo", "a").stdout.strip()
        time.sleep(0.01)
        b = self.docker("create", "--name", "beta", "-l", "tier=db", "busybox").stdout.strip()
        time.sleep(0.01)
        c = self.docker("create", "--name", "gamma", "busybox").stdout.strip()
        self.assertEqual(self.berth.get("/containers/json").json(), [])  # none running
        rows = self.berth.get("/containers/json?all=1").json()
        self.assertEqual([r["Id"] for r in rows], [c, b, a])
        alpha = rows[2]
        self.assertEqual(alpha["Names"], ["/alpha"])
        self.assertEqual(alpha["Image"], "busybox")
        self.assertEqual(alpha["ImageID"], self.image_id)
        self.assertEqual(alpha["Command"], "echo a")
        self.assertEqual(alpha["State"], "created")
        self.assertEqual(alpha["Status"], "Created")
        self.assertEqual(alpha["Labels"], {"tier": "web"})
        self.assertEqual(alpha["HostConfig"], {"NetworkMode": "bridge"})

        def names(*flt, extra=()):
            args = ["ps", "-a", "--format", "{{.Names}}"] + list(extra)
            for f in flt:
                args += ["--filter", f]
            return self.docker(*args).stdout.split()
        self.assertEqual(names("label=tier"), ["beta", "alpha"])
        self.assertEqual(names("label=tier=db"), ["beta"])
        self.assertEqual(names("name=alp"), ["alpha"])
        self.assertEqual(names("name=^/gam"), ["gamma"])
        self.assertEqual(names("id=%s" % b[:8]), ["beta"])
        self.assertEqual(names("status=created"), ["gamma", "beta", "alpha"])
        self.assertEqual(names("status=running"), [])
        self.assertEqual(names("exited=0"), [])
        self.assertEqual(names("before=gamma"), ["beta", "alpha"])
        self.assertEqual(names("since=alpha"), ["gamma", "beta"])
        self.assertEqual(names("ancestor=busybox"), ["gamma", "beta", "alpha"])
        self.assertEqual(names("ancestor=%s" % self.image_id[7:19]), ["gamma", "beta", "alpha"])
        self.assertEqual(names("health=none"), ["gamma", "beta", "alpha"])
        self.assertEqual(names("network=bridge"), ["gamma", "beta", "alpha"])
        self.assertEqual(self.docker("ps", "-a", "-n", "1", "--format", "{{.Names}}").stdout.split(), ["gamma"])
        self.assertEqual(self.docker("ps", "-q").stdout.split(), [])
        bad = self.docker("ps", "--filter", "colour=red", check=False)
        self.assertIn("invalid filter 'colour'", bad.stderr)
        bad = self.docker("ps", "--filter", "status=sleeping", check=False)
        self.assertIn("invalid filter 'status=sleeping'", bad.stderr)

    def test_rm_prune_and_events(self):
        since = "%.3f" % time.time()
        a = self.docker("create", "--name", "one", "-l", "keep=yes", "busybox").stdout.strip()
        b = self.docker("create", "--name", "two", "busybox").stdout.strip()
        self.assertEqual(self.docker("rm", "two").stdout.strip(), "two")
        r = self.docker("rm", "two", check=False)
        self.assertIn("No such container: two", r.stderr)
        r = self.berth.request("POST", "/containers/prune?filters=%s" % '{"label!":["keep=yes"]}')
        self.assertEqual(r.json(), {"ContainersDeleted": None, "SpaceReclaimed": 0})
        r = self.berth.request("POST", "/containers/prune").json()
        self.assertEqual(r, {"ContainersDeleted": [a], "SpaceReclaimed": 0})
        events = self.berth.get("/events?since=%s&until=%.3f&filters=%s" % (
            since, time.time() + 1, '{"type":["container"]}')).json_lines()
        self.assertEqual([(e["Action"], e["Actor"]["ID"]) for e in events],
                         [("create", a), ("create", b), ("destroy", b), ("prune", ""), ("destroy", a), ("prune", "")])
        self.assertEqual(events[0]["Actor"]["Attributes"], {"image": "busybox", "keep": "yes", "name": "one"})

    def test_images_used_by_containers(self):
        cid = self.docker("create", "busybox").stdout.strip()
        df = self.berth.get("/system/df").json()
        self.assertEqual([(i["Id"], i["Containers"]) for i in df["Images"]], [(self.image_id, 1)])
        self.assertEqual([c["Id"] for c in df["Containers"]], [cid])
        ref = "%s/library/busybox" % self.reg.address
        self.docker("rmi", "busybox")  # another name remains
        r = self.berth.request("DELETE", "/images/%s" % ref)
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json()["message"], 'conflict: unable to remove repository reference "%s" (must force) - '
                         'container %s is using its referenced image %s' % (ref, cid[:12], self.image_id[7:19]))
        r = self.berth.request("DELETE", "/images/%s" % self.image_id)
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json()["message"], "conflict: unable to delete %s (must be forced) - image is being used "
                         "by stopped container %s" % (self.image_id[7:19], cid[:12]))
        # Forced: the image goes, its layers stay for the container until it goes.
        snapshots = os.path.join(self.berth.data_root, "snapshots/sha256")
        self.docker("rmi", "-f", self.image_id)
        self.assertEqual(self.docker("images", "-q").stdout.split(), [])
        self.assertEqual(len(os.listdir(snapshots)), 1)
        self.docker("rm", cid)
        self.assertEqual(os.listdir(snapshots), [])

    def test_docker_py(self):
        client = docker.DockerClient(base_url=self.berth.url, version="1.51")
        self.addCleanup(client.close)
        c = client.containers.create("busybox", ["echo", "hi"], name="py", labels={"k": "v"},
                                     environment={"A": "b"}, mem_limit="64m")
        self.assertEqual(c.name, "py")
        self.assertEqual(c.status, "created")
        self.assertEqual(c.attrs["HostConfig"]["Memory"], 64 << 20)
        self.assertEqual([x.id for x in client.containers.list(all=True, filters={"label": "k=v"})], [c.id])
        c.rename("py2")
        c.reload()
        self.assertEqual(c.name, "py2")
        c.remove()
        with self.assertRaises(docker.errors.NotFound):
            client.containers.get("py2")
        with self.assertRaises(docker.errors.ImageNotFound):
            client.containers.create("nothere:1")


if __name__ == "__main__":
    unittest.main()
