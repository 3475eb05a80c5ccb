"""The test images and the registry fixture are themselves checked: the images
are reproducible, and what is pushed reads back byte for byte, with auth."""

import hashlib
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testimages  # noqa: E402
from registry import Registry  # noqa: E402


class ImagesTest(unittest.TestCase):
    def test_reproducible_and_consistent(self):
        a, b = testimages.busybox(), testimages.busybox()
        self.assertEqual(a.digest, b.digest)
        m = json.loads(a.manifest)
        self.assertEqual(m["mediaType"], testimages.DOCKER_MANIFEST)
        for d in [m["config"]] + m["layers"]:
            self.assertEqual(hashlib.sha256(a.blobs[d["digest"]]).hexdigest(), d["digest"][7:])
            self.assertEqual(len(a.blobs[d["digest"]]), d["size"])
        config = json.loads(a.blobs[m["config"]["digest"]])
        self.assertEqual(config["config"]["Cmd"], ["sh"])
        self.assertEqual(len(config["rootfs"]["diff_ids"]), 1)

    def test_index_platforms(self):
        idx = json.loads(testimages.index().manifest)
        plats = [(e["platform"]["architecture"], e["platform"].get("variant")) for e in idx["manifests"]]
        self.assertEqual(plats, [("amd64", None), ("arm64", "v8")])


class RegistryTest(unittest.TestCase):
    def test_push_and_read_back_anonymous(self):
        img = testimages.busybox()
        with Registry() as reg:
            self.assertEqual(reg.push("library/busybox", "latest", img), img.digest)
            status, headers, body = reg.request("GET", "/v2/library/busybox/manifests/latest",
                                                headers={"Accept": img.media_type})
            self.assertEqual(status, 200)
            self.assertEqual(body, img.manifest)
            self.assertEqual(headers["Docker-Content-Digest"], img.digest)
            for dgst, data in img.blobs.items():
                status, _, got = reg.request("GET", "/v2/library/busybox/blobs/" + dgst)
                self.assertEqual((status, got), (200, data))
            status, _, _ = reg.request("GET", "/v2/library/busybox/manifests/nope")
            self.assertEqual(status, 404)

    def test_index_push(self):
        img = testimages.index()
        with Registry() as reg:
            self.assertEqual(reg.push("multi", "latest", img), img.digest)
            status, headers, _ = reg.request("GET", "/v2/multi/manifests/latest",
                                             headers={"Accept": testimages.OCI_INDEX})
            self.assertEqual(headers["Content-Type"], testimages.OCI_INDEX)

    def test_basic_auth(self):
        with Registry(auth=("berth", "s3cret")) as reg:
            reg.push("private/busybox", "1", testimages.busybox())
            status, headers, _ = reg.request("GET", "/v2/", auth=False)
            self.assertEqual(status, 401)
            self.assertIn('Basic realm="berth-test"', headers.get("Www-Authenticate", ""))
            status, _, _ = reg.request("GET", "/v2/private/busybox/manifests/1",
                                       headers={"Accept": testimages.DOCKER_MANIFEST})
            self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
