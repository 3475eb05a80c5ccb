#!/usr/bin/env python3
"""run_bench.py: running containers, Berth side by side with Debian's podman
(root) and dockerd (docker.io, its own data root and socket), all in the same
run, with the same busybox image served by a loopback registry. See
bench/README.md.

Usage: bench/run_bench.py [--berth PATH] [--runs 30] [--only berth,podman,dockerd]
                          [--concurrent 50] [--parallel 10] [--log-mb 100]

Measures, per engine:
  cli        `docker run --rm IMG true` through the docker CLI (podman: its own CLI)
  api        the raw API lifecycle: create, start, wait, delete (over the unix socket)
  burst      --concurrent containers created and started, --parallel at a time, then removed
  rss        idle daemon RSS; RSS of daemon plus per-container processes with --concurrent running
  logs       a container writes --log-mb MB; reading them back through the logs API (MB/s)
Prints a markdown table of medians and ratios (progress on stderr) and writes
every figure as JSON to bench/results/run-<date>.json.
"""

import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "images"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)

import registry  # noqa: E402
import testimages  # noqa: E402
from harness import DOCKER_CLI, Berth, clean_env  # noqa: E402
from pull_bench import Dockerd, helper_of  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=120):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def api(sock, method, path, body=None):
    c = UnixHTTP(sock)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 400:
        raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data) if data and r.getheader("Content-Type", "").startswith("application/json") else data


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def pids_named(names):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % p) as f:
                if f.read().strip() in names:
                    out.append(int(p))
        except OSError:
            pass
    return out


def descendants(root):
    """Every process whose ancestry reaches `root` (monitors are reparented:
    callers add them by name)."""
    children = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(p))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


class Engine:
    name = ""
    image = ""

    def cli_run(self):
        raise NotImplementedError

    def stop(self):
        pass


class BerthEngine(Engine):
    name = "berth"

    def __init__(self, binary, reg):
        self.b = Berth(binary=binary)
        self.sock = self.b.sock
        ref = "%s/library/busybox:latest" % reg
        subprocess.run([DOCKER_CLI, "-H", "unix://" + self.sock, "pull", "-q", ref], check=True, capture_output=True)
        self.image = ref

    def cli(self, *args):
        return [DOCKER_CLI, "-H", "unix://" + self.sock] + list(args)

    def daemon_pids(self):
        # With the HTTP helper while it lives (it leaves 5 s after its last request).
        return [self.b.pid] + [p for p in pids_named({"berth-http"}) if helper_of(p, self.b.pid)]

    def container_pids(self):
        # Monitors detach from the daemon; they are ours if they sit in our data root.
        out = []
        for p in pids_named({"berth-monitor"}):
            try:
                with open("/proc/%d/cmdline" % p) as f:
                    if self.b.data_root in f.read():
                        out.append(p)
            except OSError:
                pass
        return out

    def stop(self):
        self.b.stop()


class DockerdEngine(Engine):
    name = "dockerd"

    def __init__(self, reg):
        self.d = Dockerd(reg)
        self.sock = self.d.sock
        ref = "%s/library/busybox:latest" % reg
        subprocess.run(self.cli("pull", "-q", ref), check=True, capture_output=True)
        self.image = ref

    def cli(self, *args):
        return [DOCKER_CLI, "-H", "unix://" + self.sock] + list(args)

    def daemon_pids(self):
        return [self.d.proc.pid] + [p for p in descendants(self.d.proc.pid) if p in pids_named({"containerd"})]

    def container_pids(self):
        return [p for p in pids_named({"containerd-shim", "containerd-shim-runc-v2"})]

    def stop(self):
        self.d.stop()


class PodmanEngine(Engine):
    name = "podman"

    def __init__(self, reg):
        self.dir = tempfile.mkdtemp(prefix="bench-podman-")
        self.base = ["podman", "--root", self.dir + "/root", "--runroot", self.dir + "/run", "--tmpdir",
                     self.dir + "/tmp", "--storage-driver", "overlay", "--events-backend", "file",
                     "--cgroup-manager", "cgroupfs"]
        self.sock = os.path.join(self.dir, "podman.sock")
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(self.base + ["system", "service", "--time=0", "unix://" + self.sock],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline:
                raise RuntimeError("podman service did not start")
            time.sleep(0.1)
        ref = "%s/library/busybox:latest" % reg
        subprocess.run(self.base + ["pull", "-q", "--tls-verify=false", ref], check=True, capture_output=True)
        self.image = ref

    def cli(self, *args):
        return self.base + list(args)

    def daemon_pids(self):
        return [self.proc.pid]

    def container_pids(self):
        return [p for p in pids_named({"conmon"}) if self.dir in open("/proc/%d/cmdline" % p).read()]

    def stop(self):
        subprocess.run(self.base + ["rm", "-af", "-t", "0"], capture_output=True)
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(self.base + ["system", "reset", "-f"], capture_output=True)
        self.log.close()
        subprocess.run(["umount", "-R", self.dir + "/root/overlay"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def lifecycle(e):
    t0 = time.monotonic()
    cid = api(e.sock, "POST", "/v1.41/containers/create",
              {"Image": e.image, "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}})["Id"]
    api(e.sock, "POST", "/v1.41/containers/%s/start" % cid)
    api(e.sock, "POST", "/v1.41/containers/%s/wait" % cid)
    api(e.sock, "DELETE", "/v1.41/containers/%s?force=1" % cid)
    return time.monotonic() - t0


def burst(e, n, parallel, then_measure=None):
    def one(i):
        cid = api(e.sock, "POST", "/v1.41/containers/create",
                  {"Image": e.image, "Cmd": ["sleep", "600"], "HostConfig": {"NetworkMode": "none"}})["Id"]
        api(e.sock, "POST", "/v1.41/containers/%s/start" % cid)
        return cid
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        ids = list(pool.map(one, range(n)))
    started = time.monotonic() - t0
    measured = then_measure() if then_measure else None
    t1 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda c: api(e.sock, "DELETE", "/v1.41/containers/%s?force=1" % c), ids))
    removed = time.monotonic() - t1
    return started, removed, measured


def logs_rate(e, mb):
    cid = api(e.sock, "POST", "/v1.41/containers/create",
              {"Image": e.image, "Cmd": ["sh", "-c", "yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c %d" % (mb << 20)],
               "HostConfig": {"NetworkMode": "none"}})["Id"]
    t0 = time.monotonic()
    api(e.sock, "POST", "/v1.41/containers/%s/start" % cid)
    api(e.sock, "POST", "/v1.41/containers/%s/wait" % cid)
    written = time.monotonic() - t0
    c = UnixHTTP(e.sock, timeout=600)
    t1 = time.monotonic()
    c.request("GET", "/v1.41/containers/%s/logs?stdout=1&stderr=1" % cid)
    r = c.getresponse()
    total = 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        total += len(chunk)
    read = time.monotonic() - t1
    c.close()
    api(e.sock, "DELETE", "/v1.41/containers/%s?force=1" % cid)
    return written, read, total


# Idle means past every engine's own lingering after a request: Berth's HTTP
# helper leaves 5 s after a pull, libarchive is closed 1 s after an unpack.
IDLE_S = 8


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", default=os.path.join(REPO, "build", "release", "src", "daemon", "berth"))
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--only", default="berth,podman,dockerd")
    ap.add_argument("--concurrent", type=int, default=50)
    ap.add_argument("--parallel", type=int, default=10)
    ap.add_argument("--log-mb", type=int, default=100)
    args = ap.parse_args()
    only = args.only.split(",")
    reg = registry.Registry()
    reg.push("library/busybox", "latest", testimages.busybox())
    results = {}
    try:
        for name in ["berth", "podman", "dockerd"]:
            if name not in only:
                continue
            log("== %s" % name)
            e = (BerthEngine(args.berth, reg.address) if name == "berth" else
                 PodmanEngine(reg.address) if name == "podman" else DockerdEngine(reg.address))
            try:
                res = {}
                time.sleep(IDLE_S)
                res["idle_rss_mb"] = sum(rss_kb(p) for p in e.daemon_pids()) / 1024
                cli = []
                for i in range(args.runs):
                    t0 = time.monotonic()
                    subprocess.run(e.cli("run", "--rm", "--network", "none", e.image, "true"), check=True,
                                   capture_output=True, env=clean_env())
                    cli.append(time.monotonic() - t0)
                res["cli_run_s"] = cli
                res["api_lifecycle_s"] = [lifecycle(e) for _ in range(args.runs)]
                def measure():
                    time.sleep(2)
                    daemon = sum(rss_kb(p) for p in e.daemon_pids())
                    per = [rss_kb(p) for p in e.container_pids()]
                    return {"daemon_mb": daemon / 1024, "per_container_mb": statistics.median(per) / 1024 if per else 0,
                            "total_mb": (daemon + sum(per)) / 1024, "processes": len(per)}
                bursts = [burst(e, args.concurrent, args.parallel, measure if i == 0 else None) for i in range(3)]
                res["burst_start_s"] = [b[0] for b in bursts]
                res["burst_remove_s"] = [b[1] for b in bursts]
                res["rss_running"] = bursts[0][2]
                w, r, total = logs_rate(e, args.log_mb)
                res["logs_write_s"], res["logs_read_s"], res["logs_bytes"] = w, r, total
                results[name] = res
                log(json.dumps({k: (statistics.median(v) if isinstance(v, list) else v) for k, v in res.items()}))
            finally:
                e.stop()
    finally:
        reg.stop()

    def med(name, key):
        return statistics.median(results[name][key]) if name in results else None

    rows = [("`docker run --rm` (s)", "cli_run_s"), ("API lifecycle (s)", "api_lifecycle_s"),
            ("%d starts, %d at a time (s)" % (args.concurrent, args.parallel), "burst_start_s")]
    print("| | " + " | ".join(results) + " | berth/best peer |")
    print("|---|" + "---|" * (len(results) + 1))
    for label, key in rows:
        vals = {n: med(n, key) for n in results}
        peers = [v for n, v in vals.items() if n != "berth" and v]
        ratio = "%.2f" % (vals["berth"] / min(peers)) if "berth" in vals and peers else "n/a"
        print("| %s | %s | %s |" % (label, " | ".join("%.4f" % v for v in vals.values()), ratio))
    print("| idle daemon RSS (MB) | %s | |" % " | ".join("%.1f" % results[n]["idle_rss_mb"] for n in results))
    print("| daemon + per-container RSS, %d running (MB) | %s | |" % (
        args.concurrent, " | ".join("%.1f" % results[n]["rss_running"]["total_mb"] for n in results)))
    print("| per-container process RSS (MB) | %s | |" % " | ".join(
        "%.2f" % results[n]["rss_running"]["per_container_mb"] for n in results))
    print("| logs read (MB/s) | %s | |" % " | ".join(
        "%.0f" % (results[n]["logs_bytes"] / results[n]["logs_read_s"] / 1e6) for n in results))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", "run-%s.json" % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    with open(out, "w") as f:
        json.dump({"args": vars(args), "results": results}, f, indent=1)
    log("figures in " + out)


if __name__ == "__main__":
    main()
