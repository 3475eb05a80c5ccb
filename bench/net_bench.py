#!/usr/bin/env python3
"""net_bench.py: container networking as root, Berth side by side with
dockerd (docker.io; its own data root and socket, --iptables=false so the
host's rules stay untouched) and with the floor a plain setup gives: two bare
network namespaces on a bridge, no container engine. See bench/README.md.

Rootless (issue #5's other goal: at least podman's throughput), in the same run:
  berth-rootless   Berth started by a throw-away user with subuid ranges (the
                   integration harness's RootlessUser): bridges in its own
                   namespace, slirp4netns out, ports from the host side
  podman-rootless  Debian's podman as that user, with runc (its crun refuses
                   this machine's hybrid cgroups), slirp4netns and its default
                   port handler (rootlessport)

Usage: bench/net_bench.py [--berth PATH] [--runs 9] [--mb 1024]
                          [--only berth,dockerd,floor,berth-rootless,podman-rootless]

Measures, per engine, with bench/netblast.c (built static here, bind-mounted
into the busybox containers, run directly in the bare namespaces):
  host_to_ctr   MiB/s from the host to a container through a published
                port on 127.0.0.1 (floor: straight to the namespace's address)
  ctr_to_ctr    MiB/s between two containers on one user network
  connect_us    median µs of a connect + 1-byte echo from the host through a
                published port (200 in a row; floor: straight)
Root podman has no column: its networks would write the host's firewall,
which dockerd is kept from too. Prints a markdown table of medians and ratios
(progress on stderr) and writes the figures to bench/results/net-<date>.json.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from run_bench import BerthEngine, DockerdEngine, log  # noqa: E402
import harness  # noqa: E402  (on the path through run_bench)
import registry  # noqa: E402
import testimages  # noqa: E402


def build_netblast(tmp):
    out = os.path.join(tmp, "netblast")
    subprocess.run(["gcc", "-static", "-O2", "-o", out, os.path.join(HERE, "netblast.c")], check=True)
    return out


def parse_send(text):
    sent, ns = map(int, text.split())
    return sent / (1 << 20) / (ns / 1e9)


class EngineNet:
    """A sink, an echo server and a sender on one user network of an engine."""

    def __init__(self, engine, blast):
        self.e = engine
        self.blast = blast
        self.run("network", "create", "benchnet")
        vol = "%s:/nb:ro" % blast
        self.run("run", "-d", "--name", "sink", "--network", "benchnet", "-v", vol, "-p", "127.0.0.1::5001",
                 self.e.image, "/nb", "sink", "5001")
        self.run("run", "-d", "--name", "echo", "--network", "benchnet", "-v", vol, "-p", "127.0.0.1::5002",
                 self.e.image, "/nb", "echo", "5002")
        self.run("run", "-d", "--name", "sender", "--network", "benchnet", "-v", vol, self.e.image, "sleep", "3600")
        self.sink_port = self.host_port("sink", "5001/tcp")
        self.echo_port = self.host_port("echo", "5002/tcp")
        self.sink_ip = self.inspect("sink")["NetworkSettings"]["Networks"]["benchnet"]["IPAddress"]
        time.sleep(0.5)

    def run(self, *args):
        return subprocess.run(self.e.cli(*args), check=True, capture_output=True, text=True,
                              env=getattr(self.e, "env", None), cwd=getattr(self.e, "dir", None)).stdout

    def inspect(self, name):
        return json.loads(self.run("inspect", name))[0]

    def host_port(self, name, key):
        return int(self.inspect(name)["NetworkSettings"]["Ports"][key][0]["HostPort"])

    def host_to_ctr(self, mb):
        return parse_send(subprocess.run([self.blast, "send", "127.0.0.1", str(self.sink_port), str(mb)],
                                         check=True, capture_output=True, text=True).stdout)

    def ctr_to_ctr(self, mb):
        return parse_send(self.run("exec", "sender", "/nb", "send", self.sink_ip, "5001", str(mb)))

    def connect_us(self):
        out = subprocess.run([self.blast, "connect", "127.0.0.1", str(self.echo_port), "200"], check=True,
                             capture_output=True, text=True).stdout
        return int(out) / 1000

    def close(self):
        kw = {"env": getattr(self.e, "env", None), "cwd": getattr(self.e, "dir", None)}
        subprocess.run(self.e.cli("rm", "-f", "sink", "echo", "sender"), capture_output=True, **kw)
        subprocess.run(self.e.cli("network", "rm", "benchnet"), capture_output=True, **kw)


class PodmanRootlessEngine:
    """Debian's podman run by `user` (a harness.RootlessUser), storage and
    runtime dirs in a temp dir of its own."""

    def __init__(self, user, reg):
        self.user = user
        self.dir = tempfile.mkdtemp(prefix="bench-podman-rl-")
        os.makedirs(os.path.join(self.dir, "run"), mode=0o700)
        for d in (self.dir, os.path.join(self.dir, "run")):
            user.own(d)
        self.env = {"PATH": os.environ["PATH"], "HOME": self.dir, "XDG_RUNTIME_DIR": os.path.join(self.dir, "run"),
                    "XDG_CONFIG_HOME": os.path.join(self.dir, "config")}
        self.image = "%s/library/busybox:latest" % reg
        subprocess.run(self.cli("pull", "-q", "--tls-verify=false", self.image), check=True, capture_output=True,
                       env=self.env, cwd=self.dir)

    def cli(self, *args):
        return ["setpriv", "--reuid", str(self.user.uid), "--regid", str(self.user.gid), "--clear-groups",
                "env"] + ["%s=%s" % kv for kv in self.env.items()] + [
                "podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"] + list(args)

    def stop(self):
        subprocess.run(self.cli("rm", "-af", "-t", "0"), capture_output=True, cwd=self.dir)
        subprocess.run(self.cli("system", "reset", "-f"), capture_output=True, cwd=self.dir)
        # The pause process podman keeps its user namespace with, by the pid it recorded.
        for f in ("libpod/tmp/pause.pid",):
            try:
                with open(os.path.join(self.dir, "run", f)) as fh:
                    os.kill(int(fh.read().strip()), 9)
            except (OSError, ValueError):
                pass
        subprocess.run(["rm", "-rf", self.dir])


class Floor:
    """Two bare namespaces with veths on a bridge (what a container engine
    builds, minus the engine), the host holding the bridge's address."""

    def __init__(self, blast):
        self.blast = blast
        self.procs = []
        sh = lambda *a: subprocess.run(list(a), check=True)  # noqa: E731
        sh("ip", "link", "add", "nbfloor0", "type", "bridge")
        sh("ip", "addr", "add", "10.251.0.1/24", "dev", "nbfloor0")
        sh("ip", "link", "set", "nbfloor0", "up")
        for i, ns in ((2, "nbfloorA"), (3, "nbfloorB")):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", "nbf%d" % i, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", "nbf%d" % i, "master", "nbfloor0", "up")
            sh("ip", "-n", ns, "addr", "add", "10.251.0.%d/24" % i, "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", "nbfloorB", blast, "sink", "5001"]))
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", "nbfloorB", blast, "echo", "5002"]))
        time.sleep(0.5)

    def host_to_ctr(self, mb):
        return parse_send(subprocess.run([self.blast, "send", "10.251.0.3", "5001", str(mb)], check=True,
                                         capture_output=True, text=True).stdout)

    def ctr_to_ctr(self, mb):
        return parse_send(subprocess.run(["ip", "netns", "exec", "nbfloorA", self.blast, "send", "10.251.0.3", "5001",
                                          str(mb)], check=True, capture_output=True, text=True).stdout)

    def connect_us(self):
        out = subprocess.run([self.blast, "connect", "10.251.0.3", "5002", "200"], check=True, capture_output=True,
                             text=True).stdout
        return int(out) / 1000

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        for ns in ("nbfloorA", "nbfloorB"):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", "nbfloor0"], capture_output=True)


def measure_round(name, target, mb, res):
    """One run of every figure for one target, appended to res[name]."""
    r = res.setdefault(name, {"host_to_ctr": [], "ctr_to_ctr": [], "connect_us": []})
    r["host_to_ctr"].append(target.host_to_ctr(mb))
    r["ctr_to_ctr"].append(target.ctr_to_ctr(mb))
    r["connect_us"].append(target.connect_us())
    log("  %s run %d: %.0f MiB/s host->ctr, %.0f MiB/s ctr->ctr, %.0f us connect" %
        (name, len(r["connect_us"]), r["host_to_ctr"][-1], r["ctr_to_ctr"][-1], r["connect_us"][-1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", default=os.path.join(REPO, "build", "release", "src", "daemon", "berth"))
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--only", default="berth,dockerd,floor,berth-rootless,podman-rootless")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("net_bench.py needs root (bridges, namespaces)")
    only = args.only.split(",")
    tmp = tempfile.mkdtemp(prefix="net-bench-")
    os.chmod(tmp, 0o755)  # netblast is bind-mounted by rootless engines too
    blast = build_netblast(tmp)
    reg = registry.Registry()
    reg.push("library/busybox", "latest", testimages.busybox())
    results = {}
    engines, targets = [], []  # every target is up for the whole run
    try:
        for name in [n for n in ("berth", "dockerd", "floor", "berth-rootless", "podman-rootless") if n in only]:
            log("setting up %s" % name)
            harness.ROOTLESS = name == "berth-rootless"  # Berth() then runs as the harness's user
            if name == "floor":
                targets.append((name, Floor(blast)))
                continue
            if name == "podman-rootless":
                engine = PodmanRootlessEngine(harness.RootlessUser.get(), reg.address)
            elif name.startswith("berth"):
                engine = BerthEngine(args.berth, reg.address)
            else:
                engine = DockerdEngine(reg.address)
            engines.append(engine)
            targets.append((name, EngineNet(engine, blast)))
        # Run by run, every target in turn: a drift of the machine's state
        # (CPU placement, caches) then falls on all of them alike.
        for _ in range(args.runs):
            for name, target in targets:
                measure_round(name, target, args.mb, results)
    finally:
        for _, target in targets:
            target.close()
        for engine in engines:
            engine.stop()
        reg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    names = list(med)
    pairs = [(a, b) for a, b in (("berth", "floor"), ("berth", "dockerd"), ("berth-rootless", "podman-rootless"))
             if a in med and b in med]
    print("| measure | " + " | ".join(names) + " |" + "".join(" %s / %s |" % p for p in pairs))
    print("|---|" + "---:|" * (len(names) + len(pairs)))
    for key, label in (("host_to_ctr", "host → container via published port (MiB/s)"),
                       ("ctr_to_ctr", "container → container, one network (MiB/s)"),
                       ("connect_us", "connect + 1-byte echo via published port (µs)")):
        row = [("%.0f" % med[n][key]) for n in names]
        ratios = ["%.2f" % (med[a][key] / med[b][key]) for a, b in pairs]
        print("| %s | %s |%s" % (label, " | ".join(row), "".join(" %s |" % r for r in ratios)))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "net-%s.json" % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump({"runs": args.runs, "mb": args.mb, "results": results, "medians": med}, f, indent=1)
    log("figures: %s" % path)


if __name__ == "__main__":
    main()
