"""Test images made by the project, with no Docker and no network.

Every image is built in memory from Debian's files (busybox-static) or
generated data, as gzip-compressed tar layers with Docker schema 2 or OCI
manifests, and returned as an `Image`: the manifest bytes, its media type and
every blob by digest. `registry.py` pushes them to a local registry.

  busybox()           /bin/busybox plus applet links, passwd/group; Cmd ["sh"]
  index(...)          an OCI index: linux/amd64 (busybox) + linux/arm64 entry
  custom(layers)      an image from ready (blob, diff id) pairs
  labelled(labels)    a one-file image with config labels
  layered(size_mb)    three layers: big files, a deletion (whiteout) and an
                      opaque directory, for unpack and pull benchmarks
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

BUSYBOX = "/bin/busybox"
# A fixed time keeps builds reproducible: the same inputs give the same digests.
EPOCH = 1700000000


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Image:
    """A manifest (or index) and the blobs it needs, by digest."""

    def __init__(self, manifest, media_type, blobs, children=()):
        self.manifest = manifest            # bytes, exactly as pushed
        self.media_type = media_type
        self.blobs = blobs                  # {digest: bytes}
        self.children = list(children)      # Images an index refers to

    @property
    def digest(self):
        return digest(self.manifest)


class LayerBuilder:
    """A tar layer in memory: deterministic mtimes, owners and order."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name, type_, mode, owner=(0, 0)):
        ti = tarfile.TarInfo(name)
        ti.type = type_
        ti.mode = mode
        ti.mtime = EPOCH
        ti.uid, ti.gid = owner
        ti.uname = ti.gname = "root" if owner == (0, 0) else ""
        return ti

    def dir(self, name, mode=0o755, owner=(0, 0)):
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, owner))

    def file(self, name, data, mode=0o644, owner=(0, 0)):
        ti = self._info(name, tarfile.REGTYPE, mode, owner)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))

    def symlink(self, name, target):
        ti = self._info(name, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        self.tar.addfile(ti)

    def finish(self):
        """Returns (gzip blob, diff id)."""
        self.tar.close()
        raw = self.buf.getvalue()
        return gzip.compress(raw, compresslevel=6, mtime=0), digest(raw)


def _config(diff_ids, arch="amd64", cmd=("sh",), variant=None, env=None, history_note="berth test image",
            labels=None, volumes=()):
    cfg = {
        "architecture": arch,
        "os": "linux",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH)),
        "config": {
            "Env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": list(cmd),
        },
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH)),
                     "created_by": history_note}] * len(diff_ids),
    }
    if variant:
        cfg["variant"] = variant
    if labels:
        cfg["config"]["Labels"] = dict(labels)
    if volumes:
        cfg["config"]["Volumes"] = {v: {} for v in volumes}
    return json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()


def _manifest(config, layers, oci=False):
    blobs = {digest(config): config}
    for blob, _ in layers:
        blobs[digest(blob)] = blob
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
        "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                   "size": len(config), "digest": digest(config)},
        "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                    "size": len(blob), "digest": digest(blob)} for blob, _ in layers],
    }
    body = json.dumps(m, indent=3).encode()
    return Image(body, m["mediaType"], blobs)


def busybox_applets():
    out = subprocess.run([BUSYBOX, "--list"], check=True, capture_output=True, text=True).stdout
    return sorted(a for a in out.split() if a and a != "busybox")


def _busybox_layer():
    layer = LayerBuilder()
    for d in ("bin", "etc", "root", "tmp", "var", "home"):
        layer.dir(d, 0o1777 if d == "tmp" else 0o755)
    with open(BUSYBOX, "rb") as f:
        layer.file("bin/busybox", f.read(), 0o755)
    for applet in busybox_applets():
        layer.symlink("bin/" + applet, "busybox")
    layer.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
    layer.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return layer.finish()


def busybox(oci=False):
    """busybox-static as an image: what `docker run busybox sh -c …` needs."""
    blob, diff_id = _busybox_layer()
    return _manifest(_config([diff_id]), [(blob, diff_id)], oci=oci)


def busybox_with(files, cmd=("sh",)):
    """busybox plus a layer of {path: (host file, mode)}, e.g. the static docker CLI."""
    layer = LayerBuilder()
    made = set()
    for path, (source, mode) in sorted(files.items()):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in made:
                made.add(d)
                layer.dir(d)
        with open(source, "rb") as f:
            layer.file(path, f.read(), mode)
    return custom([_busybox_layer(), layer.finish()], cmd=cmd)


def _note_image(arch, variant):
    layer = LayerBuilder()
    layer.file("platform.txt", ("%s/%s\n" % (arch, variant or "")).encode())
    blob, diff_id = layer.finish()
    return _manifest(_config([diff_id], arch=arch, variant=variant, cmd=("cat", "/platform.txt")),
                     [(blob, diff_id)], oci=True)


def index():
    """An OCI index: linux/amd64 → busybox, linux/arm64/v8 → a one-file image."""
    amd64 = busybox(oci=True)
    arm64 = _note_image("arm64", "v8")
    entries = []
    for img, plat in ((amd64, {"os": "linux", "architecture": "amd64"}),
                      (arm64, {"os": "linux", "architecture": "arm64", "variant": "v8"})):
        entries.append({"mediaType": OCI_MANIFEST, "size": len(img.manifest), "digest": img.digest,
                        "platform": plat})
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, indent=3).encode()
    return Image(body, OCI_INDEX, {}, children=[amd64, arm64])


def custom(layers, labels=None, cmd=("sh",), oci=False, volumes=()):
    """An image from ready layers [(blob, diff_id)], e.g. hostile ones."""
    return _manifest(_config([d for _, d in layers], cmd=cmd, labels=labels, volumes=volumes), layers, oci=oci)


def busybox_over(layer, volumes=(), cmd=("sh",)):
    """busybox under one more finished LayerBuilder layer, with the config's VOLUMEs."""
    return custom([_busybox_layer(), layer], cmd=cmd, volumes=volumes)


def labelled(labels, note="labelled"):
    """A one-file image with config labels (distinct per `note`)."""
    layer = LayerBuilder()
    layer.file("note.txt", note.encode())
    return custom([layer.finish()], labels=labels)


def layered(size_mb=150, seed=1):
    """Three layers: ~size_mb of incompressible files; then `/data/delete-me`
    removed with a whiteout and `/data/opaque` replaced with an opaque dir."""
    rnd = _Rand(seed)
    base = LayerBuilder()
    base.dir("data")
    base.dir("data/opaque")
    base.file("data/opaque/old.txt", b"old\n")
    base.file("data/delete-me", b"to be deleted\n")
    chunk = 8 * 1024 * 1024
    for i in range(max(1, size_mb * 1024 * 1024 // chunk)):
        base.file("data/blob-%03d.bin" % i, rnd.bytes(chunk))
    upper = LayerBuilder()
    upper.dir("data")
    upper.file("data/.wh.delete-me", b"")
    upper.file("data/added.txt", b"added in layer 2\n")
    top = LayerBuilder()
    top.dir("data")
    top.dir("data/opaque")
    top.file("data/opaque/.wh..wh..opq", b"")
    top.file("data/opaque/new.txt", b"new\n")
    layers = [b.finish() for b in (base, upper, top)]
    return _manifest(_config([d for _, d in layers], cmd=("ls", "/data")), layers)


class _Rand:
    """Deterministic incompressible bytes (Mersenne Twister, fast in C)."""

    def __init__(self, seed):
        import random
        self.rng = random.Random(seed)

    def bytes(self, size):
        return self.rng.randbytes(size)
