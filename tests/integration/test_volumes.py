"""Volumes with the local driver: the /volumes API, names and their rules,
filters, prune (anonymous only unless all), volumes held by containers
(-v, --mount, the image's VOLUME), rm -v, docker-py."""

import io
import json
import os
import sys
import tarfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))

import docker  # noqa: E402

from harness import Berth, run_docker  # noqa: E402


def rootfs_tar():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"x"
        ti = tarfile.TarInfo("file")
        ti.size = 1
        tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class Volumes(unittest.TestCase):
    def setUp(self):
        self.berth = Berth()
        self.addCleanup(self.berth.stop)
        # A small image with a VOLUME, made by docker import.
        r = self.berth.request("POST", "/images/create?fromSrc=-&repo=vol/img&tag=1&changes=VOLUME%20/anon&changes=CMD%20true",
                               body=rootfs_tar(), headers={"Content-Type": "application/x-tar"})
        self.assertEqual(r.status, 200, r.body)

    def docker(self, *args, check=True):
        return run_docker(list(args), self.berth.url, check=check)

    def test_create_inspect_list_remove(self):
        since = "%.3f" % time.time()
        self.assertEqual(self.docker("volume", "create", "--label", "team=db", "data").stdout.strip(), "data")
        v = json.loads(self.docker("volume", "inspect", "data").stdout)[0]
        self.assertEqual(v["Name"], "data")
        self.assertEqual(v["Driver"], "local")
        self.assertEqual(v["Scope"], "local")
        self.assertEqual(v["Labels"], {"team": "db"})
        self.assertEqual(v["Mountpoint"], os.path.join(self.berth.data_root, "volumes/data/_data"))
        self.assertTrue(os.path.isdir(v["Mountpoint"]))
        self.assertRegex(v["CreatedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # Creating it again returns the same volume.
        again = self.berth.request("POST", "/volumes/create", body=b'{"Name":"data"}',
                                   headers={"Content-Type": "application/json"})
        self.assertEqual(again.status, 201)
        self.assertEqual(again.json()["CreatedAt"], v["CreatedAt"])
        anon = self.docker("volume", "create").stdout.strip()
        self.assertEqual(len(anon), 64)
        self.assertEqual(sorted(self.docker("volume", "ls", "-q").stdout.split()), sorted(["data", anon]))
        self.assertEqual(self.docker("volume", "ls", "-q", "--filter", "label=team=db").stdout.split(), ["data"])
        self.assertEqual(self.docker("volume", "ls", "-q", "--filter", "name=dat").stdout.split(), ["data"])
        self.assertEqual(self.docker("volume", "ls", "-q", "--filter", "driver=local").stdout.split(), sorted(["data", anon]))
        bad = self.docker("volume", "ls", "--filter", "colour=red", check=False)
        self.assertIn("invalid filter 'colour'", bad.stderr)
        self.assertEqual(self.docker("volume", "rm", "data").stdout.strip(), "data")
        self.assertFalse(os.path.exists(v["Mountpoint"]))
        r = self.docker("volume", "rm", "data", check=False)
        self.assertIn("get data: no such volume", r.stderr)
        self.assertEqual(self.berth.request("DELETE", "/volumes/data?force=1").status, 204)
        self.assertEqual(self.berth.get("/volumes/data").status, 404)
        events = self.berth.get("/events?since=%s&until=%.3f&filters=%s" % (
            since, time.time() + 1, '{"type":["volume"]}')).json_lines()
        self.assertEqual([(e["Action"], e["Actor"]["ID"]) for e in events],
                         [("create", "data"), ("create", anon), ("destroy", "data")])

    def test_bad_names_and_drivers(self):
        def create(body):
            return self.berth.request("POST", "/volumes/create", body=json.dumps(body).encode(),
                                      headers={"Content-Type": "application/json"})
        r = create({"Name": "a"})
        self.assertEqual(r.status, 400)
        self.assertIn("volume name is too short", r.json()["message"])
        r = create({"Name": "a/b"})
        self.assertEqual(r.status, 400)
        self.assertIn("includes invalid characters for a local volume name", r.json()["message"])
        r = create({"Name": "ok", "Driver": "nfs-plugin"})
        self.assertEqual(r.status, 404)
        self.assertIn('plugin "nfs-plugin" not found', r.json()["message"])
        r = create({"Name": "ok", "DriverOpts": {"colour": "red"}})
        self.assertEqual(r.status, 400)
        self.assertIn('invalid option: "colour"', r.json()["message"])

    def test_containers_hold_volumes(self):
        self.docker("volume", "create", "named")
        cid = self.docker("create", "-v", "named:/data", "-v", "/tmp:/host:ro", "--mount", "type=tmpfs,target=/scratch",
                          "--mount", "type=volume,source=viamount,target=/m", "vol/img:1").stdout.strip()
        c = json.loads(self.docker("inspect", cid).stdout)[0]
        mounts = {m["Destination"]: m for m in c["Mounts"]}
        self.assertEqual(sorted(mounts), ["/anon", "/data", "/host", "/m", "/scratch"])
        self.assertEqual(mounts["/data"]["Type"], "volume")
        self.assertEqual(mounts["/data"]["Name"], "named")
        self.assertEqual(mounts["/data"]["Source"], os.path.join(self.berth.data_root, "volumes/named/_data"))
        self.assertEqual((mounts["/host"]["Type"], mounts["/host"]["Source"], mounts["/host"]["RW"]), ("bind", "/tmp", False))
        self.assertEqual(mounts["/scratch"]["Type"], "tmpfs")
        self.assertEqual(mounts["/m"]["Name"], "viamount")
        anon = mounts["/anon"]["Name"]
        self.assertEqual(len(anon), 64)
        self.assertIn("com.docker.volume.anonymous", json.loads(self.docker("volume", "inspect", anon).stdout)[0]["Labels"])
        # In use: refused; dangling filter; prune keeps them.
        r = self.docker("volume", "rm", "named", check=False)
        self.assertIn("remove named: volume is in use - [%s]" % cid, r.stderr)
        self.assertEqual(self.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split(), [])
        self.assertEqual(self.berth.request("POST", "/volumes/prune?filters=%s" % '{"all":["true"]}').json(),
                         {"VolumesDeleted": None, "SpaceReclaimed": 0})
        self.assertEqual(self.docker("ps", "-a", "-q", "--filter", "volume=named").stdout.split(), [cid[:12]])
        # rm -v takes the anonymous volume, not the named ones.
        self.docker("rm", "-v", cid)
        self.assertEqual(sorted(self.docker("volume", "ls", "-q").stdout.split()), ["named", "viamount"])
        # Anonymous only by default; all=true takes named ones too.
        anon2 = self.docker("volume", "create").stdout.strip()
        with open(os.path.join(self.berth.data_root, "volumes", anon2, "_data", "f"), "wb") as f:
            f.write(b"12345")
        r = self.berth.request("POST", "/volumes/prune").json()
        self.assertEqual(r, {"VolumesDeleted": [anon2], "SpaceReclaimed": 5})
        out = self.docker("volume", "prune", "-a", "-f").stdout
        self.assertIn("named", out)
        self.assertIn("viamount", out)
        self.assertEqual(self.docker("volume", "ls", "-q").stdout.split(), [])

    def test_bad_mounts(self):
        def create(host):
            return self.berth.request("POST", "/containers/create", body=json.dumps({"Image": "vol/img:1", "HostConfig": host}).encode(),
                                      headers={"Content-Type": "application/json"})
        r = create({"Binds": ["onlyone"]})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["message"], "invalid volume specification: 'onlyone'")
        r = create({"Binds": ["v1:relative"]})
        self.assertEqual(r.status, 400)
        r = create({"Mounts": [{"Type": "bind", "Source": "/does/not/exist", "Target": "/x"}]})
        self.assertEqual(r.status, 400)
        self.assertIn("bind source path does not exist: /does/not/exist", r.json()["message"])
        r = create({"Binds": ["a1:/x", "a2:/x"]})
        self.assertEqual(r.status, 400)
        self.assertIn("Duplicate mount point: /x", r.json()["message"])

    def test_docker_py(self):
        client = docker.DockerClient(base_url=self.berth.url, version="1.51")
        self.addCleanup(client.close)
        v = client.volumes.create("pyvol", labels={"k": "v"})
        self.assertEqual(v.name, "pyvol")
        self.assertEqual(client.volumes.get("pyvol").attrs["Labels"], {"k": "v"})
        self.assertEqual([x.name for x in client.volumes.list(filters={"label": "k"})], ["pyvol"])
        v.remove()
        with self.assertRaises(docker.errors.NotFound):
            client.volumes.get("pyvol")
        df = client.df()
        self.assertEqual(df["Volumes"], [])


if __name__ == "__main__":
    unittest.main()
