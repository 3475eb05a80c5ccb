"""Builds the Kubernetes binaries the test cluster needs from Debian's
`kubernetes` source package (the full upstream tree with its vendor/
directory) with Debian's Go, once, into a cache outside the clone.

    <cache>/<debian version>/bin/   kube-apiserver kube-controller-manager
                                    kube-scheduler kubelet kube-proxy kubectl
                                    pause (build/pause/linux/pause.c, static)
    <cache>/<debian version>/BUILD-INFO
    <cache>/downloads/<version>/    the .dsc and tarballs apt fetched
    <cache>/.work-<version>/        scratch while building (removed at the end)

The cache is keyed by the Debian source version: a new version in the apt
lists (a security update) means one rebuild. The result appears with a rename
at the very end, so an interrupted build leaves no half-filled version dir;
the next run starts the scratch tree again (the Go build cache in it is kept,
so the compile itself resumes quickly). Heavy steps run under
`flock /tmp/berth-build.lock` so they never overlap the project's own builds.
"""

import fcntl
import glob
import os
import re
import shutil
import subprocess
import sys
import time

DEFAULT_CACHE = "/var/cache/berth-kube"
BUILD_LOCK = os.environ.get("BERTH_BUILD_LOCK", "/tmp/berth-build.lock")
BINARIES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl"]
PAUSE = "pause"
REFLECT2 = "/usr/share/gocode/src/github.com/modern-go/reflect2"
PKG = "k8s.io/kubernetes"


def log(*args):
    print("[kube-build]", *args, file=sys.stderr, flush=True)


def cache_root():
    return os.environ.get("BERTH_KUBE_CACHE", DEFAULT_CACHE)


def _run(cmd, log_file=None, heavy=False, **kw):
    if heavy:
        cmd = ["flock", BUILD_LOCK] + list(cmd)
    out = log_file if log_file is not None else sys.stderr
    r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)
    if r.returncode != 0:
        raise RuntimeError("command failed (%d): %s" % (r.returncode, " ".join(cmd)))


# ------------------------------------------------------------------ apt ----
def _debian_sources():
    """deb-src stanzas for the Debian archives the machine's apt uses."""
    override = os.environ.get("BERTH_KUBE_APT_SOURCES")
    if override:
        with open(override) as f:
            return f.read()
    stanzas = []
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) + \
        sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in files:
        try:
            text = open(path).read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for block in re.split(r"\n\s*\n", text):
                fields = {}
                for line in block.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.strip()
                if "deb" not in fields.get("types", "").split():
                    continue
                uris = [u for u in fields.get("uris", "").split() if "debian" in u]
                if not uris or "nodesource" in " ".join(uris):
                    continue
                signed = fields.get("signed-by", "/usr/share/keyrings/debian-archive-keyring.gpg")
                stanzas.append("Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By: %s\n" % (
                    " ".join(uris), fields.get("suites", ""), fields.get("components", "main"), signed))
        else:
            for line in text.splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) < 4 or parts[0] != "deb":
                    continue
                rest = parts[1:]
                opts = ""
                if rest[0].startswith("["):
                    while not rest[0].endswith("]"):
                        opts += rest.pop(0) + " "
                    opts += rest.pop(0)
                uri, suite, comps = rest[0], rest[1], rest[2:]
                if "debian" not in uri or "nodesource" in uri:
                    continue
                signed = "/usr/share/keyrings/debian-archive-keyring.gpg"
                m = re.search(r"signed-by=(\S+?)\]?(\s|$)", opts)
                if m:
                    signed = m.group(1).rstrip("]")
                stanzas.append("Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By: %s\n" % (
                    uri, suite, " ".join(comps), signed))
    if not stanzas:
        stanzas.append("Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
                       "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
        stanzas.append("Types: deb-src\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"
                       "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    return "\n".join(stanzas)


class PrivateApt:
    """apt with its own sources (deb-src), state and cache: /etc/apt and
    /var/lib/apt stay untouched."""

    def __init__(self, root):
        self.root = root
        for d in ("etc/sources.list.d", "etc/preferences.d", "etc/apt.conf.d", "state/lists/partial",
                  "cache/archives/partial"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        with open(os.path.join(root, "etc/sources.list.d/debian-src.sources"), "w") as f:
            f.write(_debian_sources())
        self.conf = os.path.join(root, "apt.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                'Dir::Etc::SourceList "/dev/null";',
                'Dir::Etc::SourceParts "%s/etc/sources.list.d";' % root,
                'Dir::Etc::Parts "%s/etc/apt.conf.d";' % root,
                'Dir::Etc::Preferences "/dev/null";',
                'Dir::Etc::PreferencesParts "%s/etc/preferences.d";' % root,
                'Dir::State "%s/state";' % root,
                'Dir::State::status "/var/lib/dpkg/status";',
                'Dir::Cache "%s/cache";' % root,
                'Debug::NoLocking "true";',
                'APT::Sandbox::User "root";',
                'Acquire::Retries "3";',
            ]) + "\n")
        self.updated = False

    def env(self):
        e = dict(os.environ)
        e["APT_CONFIG"] = self.conf
        e["DEBIAN_FRONTEND"] = "noninteractive"
        return e

    def update(self):
        if not self.updated:
            _run(["apt-get", "update", "-q"], env=self.env())
            self.updated = True

    def source_version(self, pkg="kubernetes"):
        self.update()
        out = subprocess.run(["apt-cache", "showsrc", pkg], env=self.env(), capture_output=True, text=True).stdout
        versions = re.findall(r"^Version: (\S+)", out, re.M)
        if not versions:
            raise RuntimeError("no source package %s in the Debian archive" % pkg)
        best = versions[0]
        for v in versions[1:]:
            if subprocess.run(["dpkg", "--compare-versions", v, "gt", best]).returncode == 0:
                best = v
        return best

    def download_source(self, pkg, version, dest):
        self.update()
        os.makedirs(dest, exist_ok=True)
        _run(["apt-get", "source", "-q", "--download-only", "%s=%s" % (pkg, version)], env=self.env(), cwd=dest)
        dsc = glob.glob(os.path.join(dest, "*.dsc"))
        if len(dsc) != 1:
            raise RuntimeError("expected one .dsc in %s" % dest)
        return dsc[0]


def wanted_version():
    """The Debian version of `kubernetes` to use: BERTH_KUBE_VERSION, else the
    candidate of its binary package kubernetes-client in the machine's apt
    lists (no network), else the newest source in the archive."""
    v = os.environ.get("BERTH_KUBE_VERSION")
    if v:
        return v
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", "kubernetes-client"], capture_output=True, text=True)
    m = re.search(r"^Version: (\S+)", r.stdout, re.M)
    if r.returncode == 0 and m:
        return m.group(1)
    return None


def upstream_version(debian_version):
    up = debian_version.split(":")[-1].rsplit("-", 1)[0]
    if "+really" in up:
        up = up.split("+really", 1)[1]
    up = re.sub(r"[+~].*$", "", up)
    return up


# --------------------------------------------------------------- build ----
def complete(vdir):
    return os.path.isfile(os.path.join(vdir, "BUILD-INFO")) and all(
        os.access(os.path.join(vdir, "bin", b), os.X_OK) for b in BINARIES + [PAUSE])


def find_built(cache=None):
    """The newest complete version dir in the cache, or None."""
    cache = cache or cache_root()
    dirs = [d for d in glob.glob(os.path.join(cache, "*")) if os.path.isdir(d) and complete(d)]
    return max(dirs, key=os.path.getmtime) if dirs else None


def ensure_built(cache=None):
    """Returns the version dir with every binary, building it if needed."""
    cache = cache or cache_root()
    os.makedirs(cache, exist_ok=True)
    version = wanted_version()
    if version and complete(os.path.join(cache, version)):
        return os.path.join(cache, version)
    with open(os.path.join(cache, ".lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)  # one builder at a time
        apt = PrivateApt(os.path.join(cache, ".apt"))
        if not version:
            try:
                version = apt.source_version()
            except RuntimeError as e:
                built = find_built(cache)
                if not built:
                    raise
                log("cannot ask the archive for the kubernetes version (%s); using %s" % (e, built))
                return built
        vdir = os.path.join(cache, version)
        if complete(vdir):
            return vdir
        _build(cache, version, apt)
        return vdir


def _openapi_dirs(tree):
    """What Makefile.generated_files feeds openapi-gen for pkg/generated/openapi:
    every dir (staging named as vendor/k8s.io/…, the rest of vendor/ left out)
    with a Go file carrying a `// +k8s:` tag that says `+k8s:openapi-gen=`,
    without code-generator and sample-apiserver."""
    dirs = set()
    for top, subdirs, files in os.walk(tree):
        rel = os.path.relpath(top, tree)
        if rel == ".":
            subdirs[:] = [d for d in subdirs if not d.startswith(("_", ".")) and d != "vendor"]
            continue
        for name in files:
            if not name.endswith(".go"):
                continue
            try:
                text = open(os.path.join(top, name), encoding="utf-8", errors="replace").read()
            except OSError:
                continue
            if re.search(r"^// *\+k8s:", text, re.M) and "+k8s:openapi-gen=" in text:
                d = rel
                if d.startswith("staging/src/"):
                    d = "vendor/" + d[len("staging/src/"):]
                if d.startswith(("vendor/k8s.io/code-generator", "vendor/k8s.io/sample-apiserver")):
                    continue
                dirs.add(d)
                break
    return sorted(dirs)


def _build(cache, version, apt):
    t0 = time.monotonic()
    work = os.path.join(cache, ".work-" + version)
    gopath = os.path.join(work, "gopath")
    tree = os.path.join(gopath, "src", PKG)
    out = os.path.join(work, "out")
    gocache = os.path.join(cache, ".gocache")
    # A previous run may have died half-way: start the tree again (the Go
    # build cache survives, so compiling resumes where it stopped).
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(out, "bin"))
    os.makedirs(os.path.dirname(tree))
    logpath = os.path.join(work, "build.log")
    logf = open(logpath, "w")
    log("building Kubernetes from Debian's kubernetes %s (log: %s)" % (version, logpath))

    dl = os.path.join(cache, "downloads", version)
    dsc = glob.glob(os.path.join(dl, "*.dsc"))
    if not dsc or not all(os.path.exists(os.path.join(dl, f)) for f in _dsc_files(dsc[0])):
        log("apt-get source kubernetes=%s" % version)
        shutil.rmtree(dl, ignore_errors=True)
        dsc = apt.download_source("kubernetes", version, dl + ".part")
        os.rename(dl + ".part", dl)
        dsc = os.path.join(dl, os.path.basename(dsc))
    else:
        dsc = dsc[0]
    log("unpacking")
    _run(["dpkg-source", "--no-check", "-x", dsc, tree], log_file=logf)

    # reflect2 1.0.1 (vendored) reads runtime internals Go 1.18 changed: use
    # Debian's 1.0.2 instead.
    vend = os.path.join(tree, "vendor/github.com/modern-go/reflect2")
    if os.path.isdir(REFLECT2):
        shutil.rmtree(vend)
        os.makedirs(vend)
        for f in os.listdir(REFLECT2):
            src = os.path.join(REFLECT2, f)
            if os.path.isfile(src) and (f.endswith((".go", ".s")) or f == "LICENSE"):
                shutil.copy(src, vend)
    else:
        raise RuntimeError("%s missing: install golang-github-modern-go-reflect2-dev" % REFLECT2)

    upstream = upstream_version(version)
    major, minor = upstream.split(".")[:2]
    env = dict(os.environ)
    env.update({
        "GOPATH": gopath, "GO111MODULE": "off", "GOCACHE": gocache, "CGO_ENABLED": "0",
        "GOFLAGS": "", "HOME": work, "GOTOOLCHAIN": "local", "GOPROXY": "off",
    })
    env.pop("GOROOT", None)

    log("openapi-gen")
    tools = os.path.join(work, "tools")
    _run(["go", "build", "-o", os.path.join(tools, "openapi-gen"), PKG + "/vendor/k8s.io/kube-openapi/cmd/openapi-gen"],
         log_file=logf, heavy=True, env=env, cwd=tree)
    dirs = _openapi_dirs(tree)
    if not dirs:
        raise RuntimeError("found no +k8s:openapi-gen= packages")
    _run([os.path.join(tools, "openapi-gen"), "--logtostderr",
          "-i", ",".join(PKG + "/" + d for d in dirs),
          "-p", PKG + "/pkg/generated/openapi", "-O", "zz_generated.openapi",
          "-h", os.path.join(tree, "vendor/k8s.io/code-generator/hack/boilerplate.go.txt"),
          "-r", os.path.join(work, "openapi-violations.report")],
         log_file=logf, heavy=True, env=env, cwd=tree)
    if not os.path.exists(os.path.join(tree, "pkg/generated/openapi/zz_generated.openapi.go")):
        raise RuntimeError("openapi-gen wrote no pkg/generated/openapi/zz_generated.openapi.go")

    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ldflags = ["-s", "-w"]
    for pkg in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        for k, v in (("gitVersion", "v" + upstream), ("gitMajor", major), ("gitMinor", minor),
                     ("gitTreeState", "clean"), ("gitCommit", "debian-" + version), ("buildDate", stamp)):
            ldflags.append("-X %s/vendor/%s.%s=%s" % (PKG, pkg, k, v))
    for b in BINARIES:
        log("go build cmd/%s" % b)
        tb = time.monotonic()
        _run(["go", "build", "-ldflags", " ".join(ldflags), "-o", os.path.join(out, "bin", b), PKG + "/cmd/" + b],
             log_file=logf, heavy=True, env=env, cwd=tree)
        log("  %s: %.0f s" % (b, time.monotonic() - tb))

    log("pause")
    _run(["gcc", "-Os", "-Wall", "-Werror", "-static", "-DVERSION=v3.4-debian",
          "-o", os.path.join(out, "bin", PAUSE), os.path.join(tree, "build/pause/linux/pause.c")], log_file=logf)
    _run(["strip", os.path.join(out, "bin", PAUSE)], log_file=logf)

    with open(os.path.join(out, "BUILD-INFO"), "w") as f:
        f.write("debian-source: kubernetes %s\nupstream: v%s\ngo: %s\nbuilt: %s\nseconds: %.0f\n" % (
            version, upstream, subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip(),
            stamp, time.monotonic() - t0))
    logf.close()
    vdir = os.path.join(cache, version)
    shutil.rmtree(vdir, ignore_errors=True)
    os.rename(out, vdir)
    shutil.copy(logpath, os.path.join(vdir, "build.log"))
    shutil.rmtree(work, ignore_errors=True)
    # The Go cache only helps an interrupted build; drop it once done.
    if os.environ.get("BERTH_KUBE_KEEP_GOCACHE") != "1":
        shutil.rmtree(gocache, ignore_errors=True)
    log("built %s in %.0f s" % (vdir, time.monotonic() - t0))


def _dsc_files(dsc):
    names = []
    in_files = False
    for line in open(dsc, errors="replace"):
        if line.startswith("Files:"):
            in_files = True
            continue
        if in_files:
            if not line.startswith(" "):
                break
            parts = line.split()
            if len(parts) == 3:
                names.append(parts[2])
    return names


if __name__ == "__main__":
    print(ensure_built())
