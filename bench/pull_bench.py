#!/usr/bin/env python3
"""pull_bench.py: cold pull of a large multi-layer image from a loopback
registry, Berth side by side with podman, dockerd and skopeo (copy to an OCI
layout, which does not even unpack), all from Debian, in the same run; and
`docker load` of the same image into Berth and dockerd. See bench/README.md.

Usage: bench/pull_bench.py [--berth PATH] [--size-mb 200] [--runs 5]
                           [--only berth,podman,dockerd,skopeo]

Prints a markdown table (progress on stderr) and writes the figures as JSON
to bench/results/pull-<date>.json. Every engine gets a fresh data root per
run; the registry's files are in the page cache for all of them alike.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "images"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import registry  # noqa: E402
import testimages  # noqa: E402
from harness import DOCKER_CLI, Berth, clean_env  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def timed(argv, env=None):
    t0 = time.monotonic()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - t0


def docker(sock, *args):
    return [DOCKER_CLI, "-H", "unix://" + sock] + list(args)


class Dockerd:
    """dockerd (Debian's docker.io) on its own data root and socket."""

    def __init__(self, registry_addr):
        self.dir = tempfile.mkdtemp(prefix="bench-dockerd-")
        self.sock = os.path.join(self.dir, "d.sock")
        self.log = open(os.path.join(self.dir, "log"), "wb")
        try:
            self.proc = subprocess.Popen(
                ["dockerd", "--data-root", os.path.join(self.dir, "data"), "--exec-root",
                 os.path.join(self.dir, "exec"), "-H", "unix://" + self.sock, "--pidfile",
                 os.path.join(self.dir, "pid"), "--bridge=none",
                 "--iptables=false", "--ip-masq=false", "--ip-forward=false",  # the host's settings stay as they are
                 "--insecure-registry", registry_addr],
                stdout=self.log, stderr=self.log)
        except OSError:  # no dockerd: nothing of this one stays behind
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if subprocess.run(docker(self.sock, "version"), capture_output=True).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("dockerd did not start; see %s" % self.log.name)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        subprocess.run(["rm", "-rf", self.dir])


def helper_of(pid, daemon):
    """Whether `pid` is `daemon`'s HTTP helper (process name berth-http)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    return name == "berth-http" and int(stat.rsplit(")", 1)[1].split()[1]) == daemon


def run_berth(binary, ref):
    b = Berth(binary=binary)
    try:
        t = timed(docker(b.sock, "pull", ref))
        # The daemon's peak plus its HTTP helper's (alive for 5 s after the pull).
        rss = 0.0
        for pid in [b.pid] + [int(p) for p in os.listdir("/proc") if p.isdigit() and helper_of(int(p), b.pid)]:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        rss += int(line.split()[1]) / 1024
        return t, rss
    finally:
        b.stop()


def run_podman(ref):
    d = tempfile.mkdtemp(prefix="bench-podman-")
    try:
        return timed(["podman", "--root", d + "/root", "--runroot", d + "/run", "--storage-driver", "overlay",
                      "pull", "--tls-verify=false", "-q", ref])
    finally:
        subprocess.run(["podman", "--root", d + "/root", "--runroot", d + "/run", "--storage-driver", "overlay",
                        "system", "reset", "-f"], capture_output=True)
        subprocess.run(["rm", "-rf", d])


def run_dockerd(addr, ref):
    d = Dockerd(addr)
    try:
        return timed(docker(d.sock, "pull", ref))
    finally:
        d.stop()


def run_skopeo(ref):
    d = tempfile.mkdtemp(prefix="bench-skopeo-")
    try:
        return timed(["skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + ref, "oci:%s/layout:v1" % d])
    finally:
        subprocess.run(["rm", "-rf", d])


def load_times(binary, addr, ref, runs, with_dockerd):
    """docker load of the same image (saved by Berth) into Berth and dockerd."""
    tmp = tempfile.mkdtemp(prefix="bench-load-")
    archive = os.path.join(tmp, "image.tar")
    b = Berth(binary=binary)
    try:
        subprocess.run(docker(b.sock, "pull", "-q", ref), check=True, capture_output=True)
        subprocess.run(docker(b.sock, "save", "-o", archive, ref), check=True)
    finally:
        b.stop()
    out = {"berth": [], "dockerd": []}
    for i in range(runs):
        b = Berth(binary=binary)
        try:
            out["berth"].append(timed(docker(b.sock, "load", "-q", "-i", archive)))
        finally:
            b.stop()
        if with_dockerd:
            d = Dockerd(addr)
            try:
                out["dockerd"].append(timed(docker(d.sock, "load", "-q", "-i", archive)))
            finally:
                d.stop()
        log("load run %d: %s" % (i + 1, {k: round(v[-1], 2) for k, v in out.items() if v}))
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", default=os.path.join(REPO, "build/release/src/daemon/berth"))
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="berth,podman,dockerd,skopeo")
    args = ap.parse_args()
    engines = args.only.split(",")
    for tool, engine in (("podman", "podman"), ("dockerd", "dockerd"), ("skopeo", "skopeo")):
        if engine in engines and not shutil.which(tool):
            log("%s not installed: skipped (scripts/install-deps.sh bench installs it)" % tool)
            engines.remove(engine)

    log("building a %d MB three-layer image" % args.size_mb)
    image = testimages.layered(size_mb=args.size_mb)
    total = sum(len(b) for d, b in image.blobs.items())
    with registry.Registry() as reg:
        reg.push("bench/layered", "v1", image)
        ref = "%s/bench/layered:v1" % reg.address
        times = {e: [] for e in engines}
        rss = []
        for i in range(args.runs):
            for e in engines:
                if e == "berth":
                    t, peak = run_berth(args.berth, ref)
                    rss.append(peak)
                elif e == "podman":
                    t = run_podman(ref)
                elif e == "dockerd":
                    t = run_dockerd(reg.address, ref)
                else:
                    t = run_skopeo(ref)
                times[e].append(t)
            log("pull run %d: %s" % (i + 1, {e: round(v[-1], 2) for e, v in times.items()}))
        loads = load_times(args.berth, reg.address, ref, args.runs, "dockerd" in engines)

    med = {e: statistics.median(v) for e, v in times.items()}
    lmed = {e: statistics.median(v) for e, v in loads.items() if v}
    print("| %d MB image, 3 layers (%.0f MB compressed) | median s | Berth is |" % (args.size_mb, total / 1e6))
    print("|---|---:|---:|")
    for e in engines:
        ratio = "—" if e == "berth" else "%.2f× faster" % (med[e] / med["berth"]) if "berth" in med else ""
        print("| pull: %s | %.2f | %s |" % (e, med[e], ratio))
    for e, v in lmed.items():
        ratio = "—" if e == "berth" else "%.2f× faster" % (v / lmed["berth"])
        print("| load: %s | %.2f | %s |" % (e, v, ratio))
    if rss:
        print("| Berth peak RSS during pull, daemon + HTTP helper (MB) | %.1f | |" % statistics.median(rss))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", "pull-%s.json" % datetime.date.today().isoformat())
    with open(out, "w") as f:
        json.dump({"size_mb": args.size_mb, "compressed_bytes": total, "runs": args.runs, "pull": times,
                   "load": loads, "berth_peak_rss_mb": rss, "median": {"pull": med, "load": lmed}}, f, indent=2)
    log("wrote " + out)


if __name__ == "__main__":
    main()
