"""Images against a real registry (Debian's docker-registry) and a scriptable
one (tests/images/fakeregistry.py): pull, list, inspect, tag, rmi, history,
prune, login, docker-py's images API, hostile registries and layers, and a
kill -9 in the middle of a pull."""

import base64
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))

import docker  # noqa: E402

import fakeregistry  # noqa: E402
import registry  # noqa: E402
import testimages  # noqa: E402
from harness import DOCKER_CLI, ROOTLESS, Berth, run_docker  # noqa: E402


def config_digest(image):
    return json.loads(image.manifest)["config"]["digest"]


def diff_ids(image):
    cfg = json.loads(image.blobs[config_digest(image)])
    return cfg["rootfs"]["diff_ids"]


def layer_digests(image):
    return [l["digest"] for l in json.loads(image.manifest)["layers"]]


def walk(path):
    out = []
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(root, n), path))
    return sorted(out)


class Images(unittest.TestCase):
    """One registry for the class; a fresh daemon per test."""

    @classmethod
    def setUpClass(cls):
        cls.reg = registry.Registry()
        cls.busybox = testimages.busybox()
        cls.index = testimages.index()
        cls.layered = testimages.layered(size_mb=16)
        cls.reg.push("library/busybox", "latest", cls.busybox)
        cls.reg.push("multi", "latest", cls.index)
        cls.reg.push("layered", "v1", cls.layered)
        cls.labelled_a = testimages.labelled({"team": "a", "tier": "db"}, note="a")
        cls.labelled_b = testimages.labelled({"team": "b"}, note="b")
        cls.reg.push("labels/a", "1", cls.labelled_a)
        cls.reg.push("labels/b", "1", cls.labelled_b)
        cls.addr = cls.reg.address

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()

    def setUp(self):
        self.berth = Berth()
        self.addCleanup(self.berth.stop)

    def docker(self, *args, check=True, **kw):
        return run_docker(list(args), self.berth.url, check=check, **kw)

    def inspect(self, name):
        r = self.berth.get("/images/%s/json" % name)
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def test_pull_by_tag_and_inspect(self):
        ref = "%s/library/busybox" % self.addr
        since = "%.3f" % time.time()
        out = self.docker("pull", ref).stdout.splitlines()
        self.assertEqual(out[0], "Using default tag: latest")
        self.assertEqual(out[1], "latest: Pulling from library/busybox")
        short = layer_digests(self.busybox)[0][7:19]
        self.assertIn("%s: Pull complete" % short, out)
        self.assertIn("Digest: %s" % self.busybox.digest, out)
        self.assertIn("Status: Downloaded newer image for %s:latest" % ref, out)
        self.assertEqual(out[-1], "%s:latest" % ref)

        img = self.inspect(ref)
        self.assertEqual(img["Id"], config_digest(self.busybox))
        self.assertEqual(img["RepoTags"], ["%s:latest" % ref])
        self.assertEqual(img["RepoDigests"], ["%s@%s" % (ref, self.busybox.digest)])
        self.assertEqual(img["Architecture"], "amd64")
        self.assertEqual(img["Os"], "linux")
        self.assertEqual(img["Created"], "2023-11-14T22:13:20Z")
        self.assertEqual(img["Config"]["Cmd"], ["sh"])
        self.assertEqual(img["RootFS"], {"Type": "layers", "Layers": diff_ids(self.busybox)})
        self.assertEqual(img["Descriptor"]["digest"], self.busybox.digest)
        self.assertEqual(img["Descriptor"]["size"], len(self.busybox.manifest))
        # The snapshot holds the unpacked layer.
        lower = img["GraphDriver"]["Data"]["LowerDir"]
        self.assertTrue(os.path.isfile(os.path.join(lower, "bin/busybox")))
        self.assertEqual(os.readlink(os.path.join(lower, "bin/sh")), "busybox")
        self.assertEqual(img["Size"], os.path.getsize("/bin/busybox") + len(
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n") + len(
            b"root:x:0:\nnogroup:x:65534:\n"))

        events = self.berth.get("/events?since=%s&until=%.3f&filters=%s" % (
            since, time.time() + 1, '{"type":["image"]}')).json_lines()
        self.assertEqual([(e["Action"], e["Actor"]["ID"]) for e in events], [("pull", "%s:latest" % ref)])

        again = self.docker("pull", ref).stdout
        self.assertIn("%s: Already exists" % short, again)
        self.assertIn("Status: Image is up to date for %s:latest" % ref, again)

    def test_pull_by_digest(self):
        ref = "%s/library/busybox@%s" % (self.addr, self.busybox.digest)
        out = self.docker("pull", ref).stdout
        self.assertIn("Status: Downloaded newer image for %s" % ref, out)
        img = self.inspect(ref)
        self.assertEqual(img["RepoTags"], [])
        self.assertEqual(img["RepoDigests"], ["%s/library/busybox@%s" % (self.addr, self.busybox.digest)])

    def test_index_resolves_to_the_host_platform(self):
        self.docker("pull", "%s/multi" % self.addr)
        img = self.inspect("%s/multi" % self.addr)
        amd64 = self.index.children[0]
        self.assertEqual(img["Architecture"], "amd64")
        self.assertEqual(img["Id"], config_digest(amd64))
        self.assertEqual(img["RepoDigests"], ["%s/multi@%s" % (self.addr, self.index.digest)])
        self.assertEqual(img["Descriptor"]["digest"], amd64.digest)
        # --platform picks the other entry.
        self.docker("pull", "--platform", "linux/arm64", "%s/multi" % self.addr)
        img = self.inspect("%s/multi" % self.addr)
        self.assertEqual(img["Architecture"], "arm64")
        self.assertEqual(img["Variant"], "v8")
        self.assertEqual(img["Id"], config_digest(self.index.children[1]))
        bad = self.docker("pull", "--platform", "linux/s390x", "%s/multi" % self.addr, check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("no matching manifest for linux/s390x in the manifest list entries", bad.stderr)

    def test_unknown_tag_and_repository(self):
        r = self.docker("pull", "%s/library/busybox:nope" % self.addr, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Error response from daemon: manifest for %s/library/busybox:nope not found: "
                      "manifest unknown: manifest unknown" % self.addr, r.stderr)
        r = self.berth.request("POST", "/images/create?fromImage=%s/nothing&tag=1" % self.addr)
        self.assertEqual(r.status, 404)
        self.assertIn("not found", r.json()["message"])
        r = self.berth.request("POST", "/images/create?fromImage=library/UPPER&tag=1")
        self.assertEqual(r.status, 400)
        self.assertIn("invalid reference format", r.json()["message"])

    def test_progress_lines_all_have_status(self):
        r = self.berth.request("POST", "/images/create?fromImage=%s/layered&tag=v1" % self.addr)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        lines = r.json_lines()
        self.assertTrue(all("status" in l for l in lines), lines)
        statuses = [l["status"] for l in lines]
        self.assertEqual(statuses[0], "Pulling from layered")
        self.assertEqual(lines[0]["id"], "v1")
        for d in layer_digests(self.layered):
            mine = [l["status"] for l in lines if l.get("id") == d[7:19]]
            self.assertEqual(mine[0], "Pulling fs layer")
            self.assertEqual(mine[-1], "Pull complete")
            self.assertIn("Download complete", mine)
        downloading = [l for l in lines if l["status"] == "Downloading"]
        for l in downloading:
            self.assertLessEqual(l["progressDetail"]["current"], l["progressDetail"]["total"])
            self.assertTrue(l["progress"].startswith("["), l)
        self.assertEqual(statuses[-1], "Status: Downloaded newer image for %s/layered:v1" % self.addr)

    def test_whiteouts_and_opaque_dirs_in_snapshots(self):
        self.docker("pull", "%s/layered:v1" % self.addr)
        img = self.inspect("%s/layered:v1" % self.addr)
        lowers = img["GraphDriver"]["Data"]["LowerDir"].split(":")
        self.assertEqual(len(lowers), 3)
        top, middle, base = lowers
        self.assertTrue(os.path.isfile(os.path.join(base, "data/delete-me")))
        st = os.lstat(os.path.join(middle, "data/delete-me"))
        import stat as st_mod
        self.assertTrue(st_mod.S_ISCHR(st.st_mode))
        self.assertEqual(st.st_rdev, 0)
        self.assertFalse(os.path.exists(os.path.join(middle, "data/.wh.delete-me")))
        attr = "user.overlay.opaque" if ROOTLESS else "trusted.overlay.opaque"
        self.assertEqual(os.getxattr(os.path.join(top, "data/opaque"), attr), b"y")
        self.assertEqual(walk(os.path.join(top, "data/opaque")), ["new.txt"])

    def test_images_list_and_filters(self):
        for ref in ("library/busybox", "labels/a:1", "labels/b:1"):
            self.docker("pull", "%s/%s" % (self.addr, ref))
        def names(*flt):
            args = ["images", "--format", "{{.Repository}}:{{.Tag}}"]
            for f in flt:
                args += ["--filter", f]
            return sorted(self.docker(*args).stdout.split())
        a, b, bb = ("%s/labels/a:1" % self.addr, "%s/labels/b:1" % self.addr,
                    "%s/library/busybox:latest" % self.addr)
        self.assertEqual(names(), sorted([a, b, bb]))
        self.assertEqual(names("label=team"), sorted([a, b]))
        self.assertEqual(names("label=team=a"), [a])
        self.assertEqual(names("label=team=a", "label=tier=db"), [a])
        self.assertEqual(names("reference=%s/labels/*" % self.addr), sorted([a, b]))
        self.assertEqual(names("reference=%s/library/busybox:latest" % self.addr), [bb])
        self.assertEqual(names("dangling=true"), [])
        self.assertEqual(names("dangling=false"), sorted([a, b, bb]))
        bad = self.docker("images", "--filter", "nope=1", check=False)
        self.assertIn("invalid filter 'nope'", bad.stderr)
        # -q and --digests
        ids = self.docker("images", "-q").stdout.split()
        self.assertEqual(len(ids), 3)
        self.assertTrue(all(len(i) == 12 for i in ids))

    def test_tag_rmi_and_garbage_collection(self):
        ref = "%s/library/busybox" % self.addr
        self.docker("pull", ref)
        image_id = config_digest(self.busybox)
        self.docker("tag", ref, "mine/box:1")
        self.docker("tag", image_id[7:19], "mine/box:2")
        self.assertEqual(self.inspect("mine/box:1")["Id"], image_id)
        self.assertEqual(sorted(self.inspect(image_id)["RepoTags"]), sorted(
            ["%s:latest" % ref, "mine/box:1", "mine/box:2"]))
        self.assertTrue(self.inspect(image_id)["Metadata"]["LastTagTime"].endswith("Z"))
        # By id with names in several repositories: refused without -f.
        r = self.berth.request("DELETE", "/images/%s" % image_id)
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json()["message"], "conflict: unable to delete %s (must be forced) - "
                         "image is referenced in multiple repositories" % image_id[7:19])
        self.assertEqual(self.docker("rmi", "mine/box:1").stdout.strip(), "Untagged: mine/box:1")
        self.assertEqual(self.docker("rmi", "mine/box:2").stdout.strip(), "Untagged: mine/box:2")
        snapshots = os.path.join(self.berth.data_root, "snapshots/sha256")
        blobs = os.path.join(self.berth.data_root, "content/blobs/sha256")
        self.assertEqual(len(os.listdir(snapshots)), 1)
        out = self.docker("rmi", ref).stdout.splitlines()
        self.assertEqual(out, ["Untagged: %s:latest" % ref,
                               "Untagged: %s@%s" % (ref, self.busybox.digest),
                               "Deleted: %s" % image_id,
                               "Deleted: %s" % diff_ids(self.busybox)[0]])
        self.assertEqual(os.listdir(snapshots), [])
        self.assertEqual(os.listdir(blobs), [])
        r = self.docker("rmi", ref, check=False)
        self.assertIn("No such image: %s:latest" % ref, r.stderr)
        self.assertEqual(self.berth.get("/images/nope/json").json()["message"], "No such image: nope:latest")

    def test_history(self):
        self.docker("pull", "%s/layered:v1" % self.addr)
        rows = self.berth.get("/images/%s/layered:v1/history" % self.addr).json()
        self.assertEqual(len(rows), 3)
        self.assertEqual(rows[0]["Id"], config_digest(self.layered))
        self.assertEqual(rows[0]["Tags"], ["%s/layered:v1" % self.addr])
        self.assertEqual([r["Id"] for r in rows[1:]], ["<missing>", "<missing>"])
        self.assertEqual([r["CreatedBy"] for r in rows], ["berth test image"] * 3)
        self.assertEqual([r["Created"] for r in rows], [1700000000] * 3)
        self.assertGreater(rows[2]["Size"], 16 * 1000 * 1000)
        out = self.docker("history", "--format", "{{.ID}} {{.CreatedBy}}", "%s/layered:v1" % self.addr).stdout
        self.assertEqual(out.splitlines()[0], "%s berth test image" % config_digest(self.layered)[7:19])

    def test_prune_removes_dangling_images(self):
        self.docker("pull", "%s/labels/a:1" % self.addr)
        self.docker("tag", "%s/labels/a:1" % self.addr, "moving:tag")
        self.docker("rmi", "%s/labels/a:1" % self.addr)
        self.docker("pull", "%s/labels/b:1" % self.addr)
        self.docker("tag", "%s/labels/b:1" % self.addr, "moving:tag")  # a is now dangling
        dangling = self.docker("images", "-q", "--filter", "dangling=true").stdout.split()
        self.assertEqual(dangling, [config_digest(self.labelled_a)[7:19]])
        r = self.berth.request("POST", "/images/prune")
        self.assertEqual(r.status, 200)
        body = r.json()
        self.assertIn({"Deleted": config_digest(self.labelled_a)}, body["ImagesDeleted"])
        self.assertGreater(body["SpaceReclaimed"], 0)
        self.assertEqual(self.docker("images", "-q", "--filter", "dangling=true").stdout.split(), [])
        r = self.berth.request("POST", "/images/prune").json()
        self.assertEqual(r, {"ImagesDeleted": None, "SpaceReclaimed": 0})
        # dangling=false removes every unused image.
        out = self.docker("image", "prune", "-a", "-f").stdout
        self.assertIn("deleted: %s" % config_digest(self.labelled_b), out)
        self.assertEqual(self.docker("images", "-q").stdout.split(), [])

    def test_push_then_pull_on_a_fresh_daemon(self):
        src = "%s/layered:v1" % self.addr
        self.docker("pull", src)
        with registry.Registry() as other:
            dest = "%s/team/copy:v9" % other.address
            self.docker("tag", src, dest)
            out = self.docker("push", dest).stdout.splitlines()
            self.assertEqual(out[0], "The push refers to repository [%s/team/copy]" % other.address)
            for d in layer_digests(self.layered):
                self.assertIn("%s: Pushed" % d[7:19], out)
            self.assertEqual(out[-1], "v9: digest: %s size: %d" % (self.layered.digest, len(self.layered.manifest)))
            again = self.docker("push", dest).stdout
            self.assertIn("%s: Layer already exists" % layer_digests(self.layered)[0][7:19], again)
            self.assertIn("%s/team/copy@%s" % (other.address, self.layered.digest), self.inspect(dest)["RepoDigests"])
            # A second repository of the same registry mounts instead of uploading.
            self.docker("tag", src, "%s/team/mounted:1" % other.address)
            mounted = self.docker("push", "%s/team/mounted:1" % other.address).stdout
            self.assertIn("%s: Mounted from team/copy" % layer_digests(self.layered)[0][7:19], mounted)
            with Berth() as fresh:
                out = run_docker(["pull", dest], fresh.url).stdout
                self.assertIn("Digest: %s" % self.layered.digest, out)
                img = json.loads(run_docker(["image", "inspect", dest], fresh.url).stdout)[0]
                self.assertEqual(img["Id"], config_digest(self.layered))
        r = self.docker("push", "nothere/x:1", check=False)
        self.assertIn("An image does not exist locally with the tag: nothere/x", r.stderr)

    def test_distribution_inspect(self):
        r = self.berth.get("/distribution/%s/multi/json" % self.addr)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), {
            "Descriptor": {"mediaType": testimages.OCI_INDEX, "digest": self.index.digest,
                           "size": len(self.index.manifest)},
            "Platforms": [{"architecture": "amd64", "os": "linux"},
                          {"architecture": "arm64", "os": "linux", "variant": "v8"}]})
        r = self.berth.get("/distribution/%s/library/busybox:latest/json" % self.addr).json()
        self.assertEqual(r["Descriptor"]["digest"], self.busybox.digest)
        self.assertEqual(r["Platforms"], [{"architecture": "amd64", "os": "linux"}])
        self.assertEqual(self.berth.get("/images/json").json(), [])  # nothing pulled
        r = self.berth.get("/distribution/%s/library/busybox:gone/json" % self.addr)
        self.assertEqual(r.status, 404)

    def test_save_load_round_trip_keeps_ids(self):
        for ref in ("library/busybox", "layered:v1"):
            self.docker("pull", "%s/%s" % (self.addr, ref))
        bb, lay = "%s/library/busybox:latest" % self.addr, "%s/layered:v1" % self.addr
        tmp = tempfile.mkdtemp(prefix="berth-save-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", tmp]))
        archive = os.path.join(tmp, "images.tar")
        self.docker("save", "-o", archive, bb, lay)
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            manifest = json.load(tar.extractfile("manifest.json"))
            index = json.load(tar.extractfile("index.json"))
            layout = json.load(tar.extractfile("oci-layout"))
        self.assertEqual(layout, {"imageLayoutVersion": "1.0.0"})
        self.assertEqual(sorted(m["RepoTags"][0] for m in manifest), sorted([bb, lay]))
        for m in manifest:
            self.assertIn(m["Config"], names)
            self.assertTrue(all(l in names for l in m["Layers"]))
        self.assertEqual(sorted(d["digest"] for d in index["manifests"]),
                         sorted([self.busybox.digest, self.layered.digest]))
        self.assertEqual(sorted(d["annotations"]["io.containerd.image.name"] for d in index["manifests"]),
                         sorted([bb, lay]))

        with Berth() as fresh:
            out = run_docker(["load", "-i", archive], fresh.url).stdout.splitlines()
            self.assertEqual(sorted(out), sorted(["Loaded image: %s" % bb, "Loaded image: %s" % lay]))
            for ref, image in ((bb, self.busybox), (lay, self.layered)):
                img = json.loads(run_docker(["image", "inspect", ref], fresh.url).stdout)[0]
                self.assertEqual(img["Id"], config_digest(image))
                self.assertEqual(img["RootFS"]["Layers"], diff_ids(image))
            lower = json.loads(run_docker(["image", "inspect", lay], fresh.url).stdout)[0]["GraphDriver"]["Data"]["LowerDir"]
            self.assertEqual(walk(os.path.join(lower.split(":")[0], "data/opaque")), ["new.txt"])
            # Loading again (gzip-compressed this time) changes nothing.
            with open(archive, "rb") as f:
                gz = gzip.compress(f.read(), compresslevel=1)
            r = fresh.request("POST", "/images/load?quiet=1", body=gz,
                              headers={"Content-Type": "application/x-tar"})
            self.assertEqual(r.status, 200)
            self.assertEqual(sorted(l["stream"] for l in r.json_lines()),
                             sorted(["Loaded image: %s\n" % bb, "Loaded image: %s\n" % lay]))
            self.assertEqual(len(fresh.get("/images/json").json()), 2)
            # Saved by id: no names recorded; loading gives the bare id.
            one = os.path.join(tmp, "one.tar")
            run_docker(["save", "-o", one, config_digest(self.busybox)], fresh.url)
            run_docker(["rmi", "-f", bb], fresh.url)
            out = run_docker(["load", "-i", one], fresh.url).stdout.strip()
            self.assertEqual(out, "Loaded image ID: %s" % config_digest(self.busybox))

    def test_load_oci_layout_and_legacy_archives(self):
        self.docker("pull", "%s/library/busybox" % self.addr)
        ref = "%s/library/busybox:latest" % self.addr
        r = self.berth.get("/images/%s/get" % ref)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/x-tar")
        saved = tarfile.open(fileobj=io.BytesIO(r.body))
        # An OCI layout alone (what podman save --format oci-archive writes): names from annotations.
        oci = io.BytesIO()
        with tarfile.open(fileobj=oci, mode="w") as out:
            for m in saved.getmembers():
                if m.name != "manifest.json":
                    out.addfile(m, saved.extractfile(m) if m.isfile() else None)
        # The legacy docker-archive: <id>/layer.tar (uncompressed), <id>.json config, a
        # symlinked duplicate, repositories.
        cfg = self.busybox.blobs[config_digest(self.busybox)]
        layer_tar = gzip.decompress(self.busybox.blobs[layer_digests(self.busybox)[0]])
        legacy = io.BytesIO()
        with tarfile.open(fileobj=legacy, mode="w") as out:
            def add(name, data):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                out.addfile(ti, io.BytesIO(data))
            ti = tarfile.TarInfo("aaa")
            ti.type = tarfile.DIRTYPE
            out.addfile(ti)
            add("aaa/layer.tar", layer_tar)
            ti = tarfile.TarInfo("bbb/layer.tar")
            ti.type = tarfile.SYMTYPE
            ti.linkname = "../aaa/layer.tar"
            out.addfile(ti)
            add(config_digest(self.busybox)[7:] + ".json", cfg)
            add("manifest.json", json.dumps([{"Config": config_digest(self.busybox)[7:] + ".json",
                                              "RepoTags": ["legacy/box:old"], "Layers": ["bbb/layer.tar"]}]).encode())
            add("repositories", b'{"legacy/box":{"old":"aaa"}}')
        for archive, expected in ((oci.getvalue(), "Loaded image: %s" % ref),
                                  (legacy.getvalue(), "Loaded image: legacy/box:old")):
            with Berth() as fresh:
                r = fresh.request("POST", "/images/load", body=archive, headers={"Content-Type": "application/x-tar"})
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual([l["stream"] for l in r.json_lines()], [expected + "\n"])
                img = fresh.get("/images/json").json()
                self.assertEqual(len(img), 1)
                self.assertEqual(img[0]["Id"], config_digest(self.busybox))

    def test_load_keeps_nothing_the_images_do_not_use(self):
        self.docker("pull", "%s/library/busybox" % self.addr)
        saved = self.berth.get("/images/%s/library/busybox:latest/get" % self.addr).body
        # Two extra files with the same bytes: stored once, leased once, collected after the load.
        buf = io.BytesIO()
        with tarfile.open(fileobj=io.BytesIO(saved)) as src, tarfile.open(fileobj=buf, mode="w") as tar:
            for m in src.getmembers():
                tar.addfile(m, src.extractfile(m) if m.isfile() else None)
            for name in ("extra1", "extra2"):
                ti = tarfile.TarInfo(name)
                ti.size = 4
                tar.addfile(ti, io.BytesIO(b"same"))
        with Berth() as fresh:
            r = fresh.request("POST", "/images/load", body=buf.getvalue(), headers={"Content-Type": "application/x-tar"})
            self.assertEqual(r.status, 200, r.body)
            blobs = os.listdir(os.path.join(fresh.data_root, "content/blobs/sha256"))
            self.assertNotIn(testimages.digest(b"same")[7:], blobs)
            self.assertEqual(sorted(blobs), sorted(d[7:] for d in [config_digest(self.busybox), self.busybox.digest]
                                                   + layer_digests(self.busybox)))
            run_docker(["rmi", "%s/library/busybox" % self.addr], fresh.url)
            self.assertEqual(os.listdir(os.path.join(fresh.data_root, "content/blobs/sha256")), [])

    def test_load_rejects_bad_archives(self):
        r = self.berth.request("POST", "/images/load", body=b"not a tar at all" * 100,
                               headers={"Content-Type": "application/x-tar"})
        self.assertEqual(r.status, 400)
        self.assertIn("invalid archive", r.json()["message"])
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = b"{}"
            ti = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
        r = self.berth.request("POST", "/images/load", body=buf.getvalue(),
                               headers={"Content-Type": "application/x-tar"})
        self.assertEqual(r.status, 400)
        self.assertIn("does not match its digest", r.json()["message"])
        self.assertEqual(os.listdir(os.path.join(self.berth.data_root, "content/blobs/sha256")), [])
        self.assertEqual(os.listdir(os.path.join(self.berth.data_root, "tmp")), [])

    def test_import_rootfs_with_changes(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name, data in (("etc/hello", b"hi\n"), ("bin/tool", b"#!/bin/sh\n")):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                ti.mode = 0o755
                tar.addfile(ti, io.BytesIO(data))
        tmp = tempfile.mkdtemp(prefix="berth-import-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", tmp]))
        path = os.path.join(tmp, "rootfs.tgz")
        with open(path, "wb") as f:
            f.write(buf.getvalue())
        out = self.docker("import", "-c", 'CMD ["cat", "/etc/hello"]', "-c", "ENV A=1 B=\"two words\"",
                          "-c", "EXPOSE 8080/udp 80", "-c", "WORKDIR /srv", "-c", "LABEL team=infra",
                          "-m", "from a tarball", path, "imported/root:v1").stdout.strip()
        img = self.inspect("imported/root:v1")
        self.assertEqual(out, img["Id"])
        self.assertEqual(img["RepoTags"], ["imported/root:v1"])
        self.assertEqual(img["Config"]["Cmd"], ["cat", "/etc/hello"])
        self.assertEqual(img["Config"]["Env"], ["A=1", "B=two words"])
        self.assertEqual(img["Config"]["ExposedPorts"], {"8080/udp": {}, "80/tcp": {}})
        self.assertEqual(img["Config"]["WorkingDir"], "/srv")
        self.assertEqual(img["Config"]["Labels"], {"team": "infra"})
        self.assertEqual(img["Comment"], "from a tarball")
        self.assertEqual(img["Architecture"], "amd64")
        lower = img["GraphDriver"]["Data"]["LowerDir"]
        with open(os.path.join(lower, "etc/hello"), "rb") as f:
            self.assertEqual(f.read(), b"hi\n")
        hist = self.berth.get("/images/imported/root:v1/history").json()
        self.assertEqual(hist[0]["Comment"], "from a tarball")
        self.assertEqual(hist[0]["Size"], 3 + 10)
        bad = self.docker("import", "-c", "RUN rm -rf /", path, check=False)
        self.assertIn("RUN is not a valid change command", bad.stderr)
        # From stdin, no repository: an untagged image.
        r = self.berth.request("POST", "/images/create?fromSrc=-", body=buf.getvalue(),
                               headers={"Content-Type": "application/x-tar"})
        self.assertEqual(r.status, 200)
        new_id = r.json()["status"]
        self.assertTrue(new_id.startswith("sha256:"))
        self.assertEqual(self.inspect(new_id)["RepoTags"], [])

    def test_disk_usage_counts_shared_layers(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            ti = tarfile.TarInfo("data")
            ti.size = 1000
            tar.addfile(ti, io.BytesIO(b"d" * 1000))
        ids = []
        for cmd in ("CMD%20a", "CMD%20b"):  # one layer, two configs: two images sharing it
            r = self.berth.request("POST", "/images/create?fromSrc=-&changes=" + cmd, body=buf.getvalue(),
                                   headers={"Content-Type": "application/x-tar"})
            ids.append(r.json()["status"])
        self.docker("pull", "%s/labels/a:1" % self.addr)
        df = {i["Id"]: i for i in self.berth.get("/system/df").json()["Images"]}
        self.assertEqual([(df[i]["SharedSize"], df[i]["Size"], df[i]["Containers"]) for i in ids], [(1000, 1000, 0)] * 2)
        self.assertEqual(df[config_digest(self.labelled_a)]["SharedSize"], 0)
        self.assertEqual(self.berth.get("/images/json").json()[0]["SharedSize"], -1)

    def test_docker_py_images_api(self):
        client = docker.DockerClient(base_url=self.berth.url, version="1.51")
        self.addCleanup(client.close)
        img = client.images.pull("%s/library/busybox" % self.addr, tag="latest")
        self.assertEqual(img.id, config_digest(self.busybox))
        self.assertEqual(img.tags, ["%s/library/busybox:latest" % self.addr])
        self.assertTrue(img.tag("pyrepo/box", "x"))
        self.assertEqual(client.images.get("pyrepo/box:x").id, img.id)
        self.assertEqual(sorted(i.id for i in client.images.list()), [img.id])
        self.assertEqual(client.images.list(name="pyrepo/box")[0].id, img.id)
        hist = img.history()
        self.assertEqual(hist[0]["Id"], img.id)
        stream = client.api.pull("%s/multi" % self.addr, tag="latest", stream=True, decode=True)
        lines = list(stream)
        self.assertTrue(all("status" in l for l in lines))
        client.images.remove("pyrepo/box:x")
        with self.assertRaises(docker.errors.ImageNotFound):
            client.images.get("pyrepo/box:x")
        with self.assertRaises(docker.errors.NotFound):
            client.images.pull("%s/library/busybox" % self.addr, tag="missing")
        report = client.images.prune(filters={"dangling": False})
        self.assertEqual(report["SpaceReclaimed"] > 0, True)
        self.assertEqual(client.images.list(), [])
        # save and load through docker-py; registry data without pulling
        img = client.images.pull("%s/library/busybox" % self.addr, tag="latest")
        img.tag("pyrepo/box", "x")
        archive = b"".join(client.images.get("pyrepo/box:x").save(named="pyrepo/box:x"))
        client.images.remove(img.id, force=True)
        self.assertEqual(client.images.list(), [])
        loaded = client.images.load(archive)
        self.assertEqual([i.id for i in loaded], [config_digest(self.busybox)])
        self.assertEqual(client.images.get("pyrepo/box:x").id, img.id)
        self.assertEqual(client.images.get_registry_data("%s/library/busybox" % self.addr).id,
                         self.busybox.digest)


class Login(unittest.TestCase):
    def test_login_and_authenticated_pull(self):
        with registry.Registry(auth=("alice", "wonder")) as reg:
            image = testimages.busybox()
            reg.push("private/box", "1", image)
            with Berth() as berth, tempfile.TemporaryDirectory() as cfg:
                ref = "%s/private/box:1" % reg.address
                r = run_docker(["pull", ref], berth.url, check=False, config_dir=cfg)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("no basic auth credentials", r.stderr)
                bad = run_docker(["login", "-u", "alice", "--password-stdin", reg.address], berth.url,
                                 check=False, config_dir=cfg, stdin="wrong")
                self.assertNotEqual(bad.returncode, 0)
                self.assertIn("401 Unauthorized", bad.stderr)
                ok = run_docker(["login", "-u", "alice", "--password-stdin", reg.address], berth.url,
                                config_dir=cfg, stdin="wonder")
                self.assertIn("Login Succeeded", ok.stdout)
                out = run_docker(["pull", ref], berth.url, config_dir=cfg).stdout
                self.assertIn("Status: Downloaded newer image for %s" % ref, out)
                r = berth.request("POST", "/auth", headers={"Content-Type": "application/json"},
                                  body=json.dumps({"username": "alice", "password": "wonder",
                                                   "serveraddress": reg.address}).encode())
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json(), {"IdentityToken": "", "Status": "Login Succeeded"})
                r = berth.request("POST", "/auth", headers={"Content-Type": "application/json"},
                                  body=json.dumps({"username": "alice", "password": "x",
                                                   "serveraddress": reg.address}).encode())
                self.assertEqual(r.status, 401)


def tar_layer(entries):
    """A gzip layer from (kind, name, payload) entries; returns (blob, diff id)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, payload in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = testimages.EPOCH
            if kind == "file":
                ti.size = len(payload)
                tar.addfile(ti, io.BytesIO(payload))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                       "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                ti.linkname = payload
            if kind in ("chr", "blk"):
                ti.devmajor, ti.devminor = payload
            tar.addfile(ti)
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), testimages.digest(raw)


class Hostile(unittest.TestCase):
    """Registries and layers that lie or attack: each pull fails cleanly (or
    is contained), nothing partial becomes visible, nothing lands outside."""

    def setUp(self):
        self.reg = fakeregistry.FakeRegistry()
        self.addCleanup(self.reg.stop)
        self.berth = Berth("--max-layer-bytes", str(8 << 20))
        self.addCleanup(self.berth.stop)

    def pull(self, repo, tag="latest"):
        return run_docker(["pull", "%s/%s:%s" % (self.reg.address, repo, tag)], self.berth.url, check=False)

    def assert_store_clean(self):
        self.assertEqual(self.berth.get("/images/json").json(), [])
        root = self.berth.data_root
        self.assertEqual(os.listdir(os.path.join(root, "snapshots/sha256")), [])
        self.assertEqual(os.listdir(os.path.join(root, "snapshots/ingest")), [])
        for b in os.listdir(os.path.join(root, "content/blobs/sha256")):
            with open(os.path.join(root, "content/blobs/sha256", b), "rb") as f:
                self.assertEqual(testimages.digest(f.read()), "sha256:" + b)

    def test_wrong_blob_digest(self):
        image = testimages.busybox()
        layer = layer_digests(image)[0]
        data = bytearray(image.blobs[layer])
        data[len(data) // 2] ^= 0xff
        self.reg.add_image("bad", "latest", image)
        self.reg.blob_override[layer] = bytes(data)
        r = self.pull("bad")
        self.assertEqual(r.returncode, 1)
        self.assertIn("filesystem layer verification failed for digest %s" % layer, r.stderr)
        self.assert_store_clean()
        self.assertEqual(os.listdir(os.path.join(self.berth.data_root, "content/ingest")), [])

    def test_truncated_layer(self):
        image = testimages.busybox()
        layer = layer_digests(image)[0]
        self.reg.add_image("short", "latest", image)
        self.reg.blob_override[layer] = image.blobs[layer][: len(image.blobs[layer]) // 3]
        r = self.pull("short")
        self.assertEqual(r.returncode, 1)
        self.assertIn("filesystem layer verification failed for digest %s" % layer, r.stderr)
        self.assert_store_clean()

    def test_malformed_manifest(self):
        self.reg.add_manifest("junk", "latest", b'{"schemaVersion": 2, "layers": 7', testimages.DOCKER_MANIFEST)
        r = self.pull("junk")
        self.assertEqual(r.returncode, 1)
        self.assertIn("manifest", r.stderr)
        resp = self.berth.request("POST", "/images/create?fromImage=%s/junk&tag=latest" % self.reg.address)
        self.assertEqual(resp.status, 400)
        self.assert_store_clean()

    def test_manifest_digest_mismatch(self):
        image = testimages.busybox()
        self.reg.add_image("lying", "latest", image)
        other = testimages.labelled({"x": "y"})
        self.reg.add_manifest("lying", image.digest, other.manifest, other.media_type)
        r = run_docker(["pull", "%s/lying@%s" % (self.reg.address, image.digest)], self.berth.url, check=False)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("manifest verification failed for digest %s" % image.digest, r.stderr)
        self.assert_store_clean()

    def hostile(self, repo, entries):
        blob, diff = tar_layer(entries)
        self.reg.add_image(repo, "latest", testimages.custom([(blob, diff)]))
        return self.pull(repo)

    def test_dotdot_member(self):
        r = self.hostile("dotdot", [("file", "../../../../../../tmp/berth-evil-dotdot", b"x")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("escapes the root", r.stderr)
        self.assertFalse(os.path.exists("/tmp/berth-evil-dotdot"))
        self.assert_store_clean()

    def test_absolute_and_symlinked_parent_stay_inside(self):
        name = "berth-evil-%d" % os.getpid()
        r = self.hostile("abs", [("dir", "tmp", None), ("file", "/tmp/%s-abs" % name, b"x"),
                                 ("symlink", "escape", "../../../../../../../tmp"),
                                 ("file", "escape/%s-link" % name, b"y")])
        self.assertEqual(r.returncode, 0, r)
        self.assertFalse(os.path.exists("/tmp/%s-abs" % name))
        self.assertFalse(os.path.exists("/tmp/%s-link" % name))
        lower = self.berth.get("/images/%s/abs/json" % self.reg.address).json()["GraphDriver"]["Data"]["LowerDir"]
        self.assertEqual(sorted(os.listdir(os.path.join(lower, "tmp"))), ["%s-abs" % name, "%s-link" % name])

    def test_hardlink_to_outside(self):
        r = self.hostile("hard", [("hardlink", "passwd", "../../../../../../../etc/passwd")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("escapes the root", r.stderr)
        r = self.hostile("hard2", [("hardlink", "passwd", "/etc/passwd")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("to missing", r.stderr)
        self.assert_store_clean()

    def test_device_nodes_are_not_created(self):
        r = self.hostile("dev", [("chr", "mem", (1, 1)), ("blk", "sda", (8, 0)), ("file", "ok", b"ok")])
        self.assertEqual(r.returncode, 0, r)
        lower = self.berth.get("/images/%s/dev/json" % self.reg.address).json()["GraphDriver"]["Data"]["LowerDir"]
        self.assertEqual(os.listdir(lower), ["ok"])

    def test_bare_whiteout(self):
        r = self.hostile("wh", [("dir", "d", None), ("file", "d/.wh.", b"")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("names no file", r.stderr)
        self.assert_store_clean()

    def test_decompression_bomb(self):
        blob, diff = tar_layer([("file", "zeros", bytes(64 << 20))])
        self.assertLess(len(blob), 1 << 20)
        self.reg.add_image("bomb", "latest", testimages.custom([(blob, diff)]))
        r = self.pull("bomb")
        self.assertEqual(r.returncode, 1)
        self.assertIn("layer is larger than %d bytes" % (8 << 20), r.stderr)
        self.assert_store_clean()


class Registries(unittest.TestCase):
    """Registry behaviours: Bearer tokens, transient failures, shared downloads."""

    def setUp(self):
        self.reg = fakeregistry.FakeRegistry()
        self.addCleanup(self.reg.stop)
        self.berth = Berth()
        self.addCleanup(self.berth.stop)

    def test_bearer_token_login_and_pull(self):
        self.reg.bearer = ("bob", "builder")
        image = testimages.busybox()
        self.reg.add_image("secure/box", "1", image)
        with tempfile.TemporaryDirectory() as cfg:
            ref = "%s/secure/box:1" % self.reg.address
            r = run_docker(["pull", ref], self.berth.url, check=False, config_dir=cfg)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("pull access denied for %s/secure/box" % self.reg.address, r.stderr)
            run_docker(["login", "-u", "bob", "--password-stdin", self.reg.address], self.berth.url,
                       config_dir=cfg, stdin="builder")
            out = run_docker(["pull", ref], self.berth.url, config_dir=cfg).stdout
            self.assertIn("Status: Downloaded newer image for %s" % ref, out)
        query, auth = self.reg.token_requests[-1]
        self.assertEqual(query["service"], ["fake-registry"])
        self.assertEqual(query["scope"], ["repository:secure/box:pull"])
        self.assertTrue(auth.startswith("Basic "))

    def test_transient_failures_are_retried(self):
        image = testimages.busybox()
        layer = layer_digests(image)[0]
        self.reg.add_image("flaky", "latest", image)
        self.reg.fail_blob[layer] = 2
        out = run_docker(["pull", "%s/flaky" % self.reg.address], self.berth.url).stdout
        self.assertIn("Pull complete", out)
        self.assertEqual(len([m for m, _ in self.reg.blob_requests(layer) if m == "GET"]), 3)

    def test_concurrent_pulls_share_downloads(self):
        image = testimages.layered(size_mb=8, seed=3)
        self.reg.add_image("shared", "a", image)
        self.reg.add_image("shared", "b", image)
        self.reg.throttle = 16 << 20
        results = []
        def pull(tag):
            results.append(run_docker(["pull", "%s/shared:%s" % (self.reg.address, tag)], self.berth.url))
        threads = [threading.Thread(target=pull, args=(t,)) for t in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 2)
        for d in layer_digests(image):
            gets = [m for m, _ in self.reg.blob_requests(d) if m == "GET"]
            self.assertEqual(len(gets), 1, d)
        tags = self.berth.get("/images/%s/shared:a/json" % self.reg.address).json()["RepoTags"]
        self.assertEqual(sorted(tags), ["%s/shared:a" % self.reg.address, "%s/shared:b" % self.reg.address])


def descendants(pid):
    """PIDs below `pid` (a rootless daemon runs under its host-side parent)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        frontier += kids
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def maps_text(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return f.read()
    except OSError:
        return ""


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) if ":\t" in line else (line.rstrip("\n").rstrip(":"), "")
                    for line in f)


class HelperProcesses(unittest.TestCase):
    """Registry HTTP runs in `berth __http-helper`, which leaves when idle, and
    libarchive is closed after use: an idle daemon maps neither libcurl (with
    the OpenSSL and gnutls it brings) nor libarchive (docs/design/memory.md)."""

    def setUp(self):
        self.berth = Berth()
        self.addCleanup(self.berth.stop)

    def helpers(self):
        return [p for p in descendants(self.berth.pid) if cmdline(p)[1:2] == [b"__http-helper"]]

    def daemons(self):
        return [self.berth.pid] + [p for p in descendants(self.berth.pid) if p not in self.helpers()]

    def wait_until(self, what, cond, timeout=15):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                self.fail("still not %s after %s s" % (what, timeout))
            time.sleep(0.1)

    def test_pull_through_the_helper_which_leaves_when_idle(self):
        image = testimages.layered(size_mb=4, seed=21)
        with fakeregistry.FakeRegistry() as reg:
            reg.add_image("helped", "latest", image)
            reg.add_image("again", "latest", testimages.busybox())
            out = run_docker(["pull", "%s/helped" % reg.address], self.berth.url).stdout
            self.assertIn("Status: Downloaded newer image for %s/helped:latest" % reg.address, out)
            first = self.helpers()
            self.assertEqual(len(first), 1, "one helper right after the pull")
            self.assertIn("libcurl", maps_text(first[0]))
            # It handles registries' bytes with no privilege: no capabilities
            # in any set, no_new_privs, and as root the user nobody.
            status = proc_status(first[0])
            for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                self.assertEqual(status[field], "0000000000000000", field)
            self.assertEqual(status["NoNewPrivs"], "1")
            if not ROOTLESS:
                self.assertEqual(status["Uid"].split(), ["65534"] * 4)
                self.assertEqual(status["Gid"].split(), ["65534"] * 4)
                self.assertEqual(status["Groups"].strip(), "")
            for p in self.daemons():
                self.assertNotIn("libcurl", maps_text(p))
            # libarchive goes a second after the unpack, the helper five after its last request.
            self.wait_until("unloaded", lambda: not any("libarchive" in maps_text(p) for p in self.daemons()))
            self.wait_until("gone", lambda: self.helpers() == [])
            # The next pull starts another.
            run_docker(["pull", "%s/again" % reg.address], self.berth.url)
            second = self.helpers()
            self.assertEqual(len(second), 1)
            self.assertNotEqual(second, first)
            img = self.berth.get("/images/%s/helped/json" % reg.address).json()
            self.assertEqual(img["Id"], config_digest(image))

    def test_a_killed_helper_is_replaced_and_the_pull_completes(self):
        image = testimages.layered(size_mb=8, seed=23)
        big = max(layer_digests(image), key=lambda d: len(image.blobs[d]))
        with fakeregistry.FakeRegistry() as reg:
            reg.add_image("killed", "latest", image)
            reg.throttle = 4 << 20
            pull = subprocess.Popen([DOCKER_CLI, "pull", "%s/killed" % reg.address],
                                    env=dict(os.environ, DOCKER_HOST=self.berth.url), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            self.wait_until("downloading", lambda: reg.blob_requests(big) and self.helpers())
            time.sleep(0.5)
            victim = self.helpers()[0]
            os.kill(victim, signal.SIGKILL)
            reg.throttle = None
            out, err = pull.communicate(timeout=60)
            # The broken transfer is retried through a new helper, resuming with a range.
            self.assertEqual(pull.returncode, 0, err)
            self.assertIn("Status: Downloaded newer image for %s/killed:latest" % reg.address, out)
            self.assertNotIn(victim, self.helpers())
            img = self.berth.get("/images/%s/killed/json" % reg.address).json()
            self.assertEqual(img["Id"], config_digest(image))


class Shutdown(unittest.TestCase):
    def test_sigterm_during_a_pull_ends_it_promptly(self):
        image = testimages.layered(size_mb=16, seed=11)
        with fakeregistry.FakeRegistry() as reg:
            reg.add_image("slow", "latest", image)
            reg.throttle = 1 << 20  # 16 s for the big layer
            berth = Berth()
            self.addCleanup(berth.stop)
            conn_result = {}

            def pull():
                conn_result["r"] = berth.request("POST", "/images/create?fromImage=%s/slow&tag=latest" % reg.address,
                                                 timeout=60)
            t = threading.Thread(target=pull)
            t.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not reg.blob_requests(layer_digests(image)[0]):
                time.sleep(0.05)
            time.sleep(0.3)
            started = time.monotonic()
            berth.signal(signal.SIGTERM)
            self.assertEqual(berth.proc.wait(10), 0)
            self.assertLess(time.monotonic() - started, 5)
            t.join(10)
            r = conn_result["r"]
            self.assertEqual(r.status, 200)
            last = r.json_lines()[-1]
            self.assertIn("error", last)
            self.assertIn("context canceled", last["error"])


class Crash(unittest.TestCase):
    def test_kill_9_during_pull_then_resume(self):
        image = testimages.layered(size_mb=16, seed=7)
        big = max(layer_digests(image), key=lambda d: len(image.blobs[d]))
        with fakeregistry.FakeRegistry() as reg:
            reg.add_image("slow", "latest", image)
            reg.throttle = 4 << 20
            data_root = tempfile.mkdtemp(prefix="berth-crash-")
            self.addCleanup(lambda: subprocess.run(["rm", "-rf", data_root]))
            berth = Berth(data_root=data_root)
            pull = subprocess.Popen([DOCKER_CLI, "pull", "%s/slow" % reg.address],
                                    env=dict(os.environ, DOCKER_HOST=berth.url), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            ingest = os.path.join(data_root, "content/ingest")
            deadline = time.monotonic() + 30
            partial = 0
            while time.monotonic() < deadline and partial < (4 << 20):
                partial = 0
                for d, _, files in os.walk(ingest):
                    partial += sum(os.path.getsize(os.path.join(d, f)) for f in files)
                time.sleep(0.05)
            self.assertGreaterEqual(partial, 4 << 20)
            os.kill(berth.pid, signal.SIGKILL)
            berth.proc.wait()
            pull.wait(timeout=10)
            berth.cleanup()  # its temp dir only: the data root stays for the restart
            reg.throttle = None
            with Berth(data_root=data_root) as again:
                self.assertEqual(again.get("/images/json").json(), [])
                before = len(reg.blob_requests(big))
                out = run_docker(["pull", "%s/slow" % reg.address], again.url).stdout
                self.assertIn("Status: Downloaded newer image for %s/slow:latest" % reg.address, out)
                resumed = [h for _, h in reg.blob_requests(big)[before:] if h.get("Range", "").startswith("bytes=")]
                self.assertTrue(resumed, "the second pull did not resume with a range request")
                img = again.get("/images/%s/slow/json" % reg.address).json()
                self.assertEqual(img["Id"], config_digest(image))


if __name__ == "__main__":
    unittest.main()
