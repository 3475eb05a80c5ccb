#!/usr/bin/env python3
"""kube_bench.py: the kube backend's start latency against its floor. See
bench/README.md.

Usage: bench/kube_bench.py [--berth PATH] [--runs 20] [--concurrent 20]

Needs the test cluster: with KUBECONFIG and BERTH_TEST_REGISTRY set (as
tests/kube/cluster-up prints them) it uses that one; otherwise it brings one
up with tests/kube/cluster-up and takes it down again.

Measures, for the same busybox `sleep 300`:
  berth   create + start through Berth's API (start returns once the pod's
          process runs), one at a time, --runs times
  floor   the very pod Berth made (its spec, a new name), created straight
          through the API server and watched until its main container runs:
          what any engine must wait for
  burst   --concurrent containers (berth) or pods (floor) at once: time until
          all run
Prints a markdown table of medians and Berth's overhead over the floor, and
writes every figure as JSON to bench/results/kube-<date>.json.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "kube"))

import kubecluster  # noqa: E402
from harness import Berth  # noqa: E402
from run_bench import UnixHTTP  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Kube(kubecluster.Api):
    """The test cluster's API server (tests/kube/kubecluster.py), with pods and watches."""

    ns = "default"

    def pods(self, name=""):
        return "/api/v1/namespaces/%s/pods%s" % (self.ns, "/" + name if name else "")

    def wait(self, name, rv, done):
        """Watches the pod from resourceVersion `rv` until done(pod) holds."""
        c = self.connection(timeout=120)
        try:
            c.request("GET", "%s?watch=1&fieldSelector=metadata.name%%3D%s&resourceVersion=%s" % (self.pods(), name, rv))
            r = c.getresponse()
            while True:
                line = r.readline()
                if not line:
                    raise RuntimeError("the watch of %s ended" % name)
                ev = json.loads(line)
                if done(ev["type"], ev["object"]):
                    return
        finally:
            c.close()


def main_running(kind, pod):
    for s in pod.get("status", {}).get("containerStatuses", []):
        if s["name"] == "main" and "running" in s.get("state", {}):
            return True
    return False


def berth_api(sock, method, path, body=None):
    c = UnixHTTP(sock)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
        if path.startswith("/images/create"):  # a stream of progress lines
            return None
        return json.loads(data) if data else None
    finally:
        c.close()


def berth_start(sock, image):
    t0 = time.monotonic()
    cid = berth_api(sock, "POST", "/containers/create", {"Image": image, "Cmd": ["sleep", "300"]})["Id"]
    berth_api(sock, "POST", "/containers/%s/start" % cid)
    return time.monotonic() - t0, cid


def floor_start(kube, template, name):
    pod = json.loads(json.dumps(template))
    pod["metadata"] = {"name": name, "labels": {"berth-bench": "floor"}}
    t0 = time.monotonic()
    status, made = kube.req("POST", kube.pods(), pod)
    if status != 201:
        raise RuntimeError("creating %s: %d %s" % (name, status, made))
    kube.wait(name, made["metadata"]["resourceVersion"], main_running)
    return time.monotonic() - t0


def floor_remove(kube, names):
    for n in names:
        kube.req("DELETE", kube.pods(n), {"gracePeriodSeconds": 0})
    for n in names:
        while kube.req("GET", kube.pods(n))[0] == 200:
            time.sleep(0.1)


def template_of(kube, pod_name):
    """Berth's pod as a spec to create again: no name, node or status."""
    status, pod = kube.req("GET", kube.pods(pod_name))
    if status != 200:
        raise RuntimeError("no pod %s" % pod_name)
    spec = pod["spec"]
    spec.pop("nodeName", None)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": spec}


def median_ms(xs):
    return round(statistics.median(xs) * 1000, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", default=os.path.join(REPO, "build", "release", "src", "daemon", "berth"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=20)
    args = ap.parse_args()

    cluster_started = False
    if not (os.environ.get("KUBECONFIG") and os.environ.get("BERTH_TEST_REGISTRY")):
        log("starting the test cluster (tests/kube/cluster-up)…")
        up = subprocess.run([os.path.join(REPO, "tests", "kube", "cluster-up")], capture_output=True, text=True)
        if up.returncode != 0:
            raise SystemExit("cluster-up failed:\n" + up.stderr[-3000:])
        out = up.stdout
        for line in out.splitlines():
            if line.startswith("export "):
                k, v = line[len("export "):].split("=", 1)
                os.environ[k] = v
        cluster_started = True
    registry = os.environ["BERTH_TEST_REGISTRY"]
    image = registry + "/busybox"
    certs = tempfile.TemporaryDirectory(prefix="berth-kube-bench-")  # the admin's key, copied out of the kubeconfig
    kube = Kube.from_kubeconfig(os.environ["KUBECONFIG"], certs.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    berth = Berth("--backend", "kube", "--helper-image", registry + "/berth/helper:bench", "--pod-name-prefix", "bench",
                  binary=args.berth, env=env, start_timeout=60)
    results = {"runs": args.runs, "concurrent": args.concurrent}
    try:
        berth_api(berth.sock, "POST", "/images/create?fromImage=%s&tag=latest" % image)
        # Warm-up (not counted): the node pulls the images once.
        _, cid = berth_start(berth.sock, image)
        template = template_of(kube, "bench-" + cid[:12])
        berth_api(berth.sock, "DELETE", "/containers/%s?force=1" % cid)
        floor_start(kube, template, "bench-floor-warm")
        floor_remove(kube, ["bench-floor-warm"])

        b, f = [], []
        for i in range(args.runs):
            t, cid = berth_start(berth.sock, image)
            b.append(t)
            berth_api(berth.sock, "DELETE", "/containers/%s?force=1" % cid)
            f.append(floor_start(kube, template, "bench-floor-%d" % i))
            floor_remove(kube, ["bench-floor-%d" % i])
            log("run %d: berth %.0f ms, floor %.0f ms" % (i + 1, b[-1] * 1000, f[-1] * 1000))
        results["berth_s"], results["floor_s"] = b, f

        with concurrent.futures.ThreadPoolExecutor(args.concurrent) as pool:
            t0 = time.monotonic()
            started = list(pool.map(lambda _: berth_start(berth.sock, image), range(args.concurrent)))
            results["berth_burst_s"] = time.monotonic() - t0
            for _, cid in started:
                berth_api(berth.sock, "DELETE", "/containers/%s?force=1" % cid)
            names = ["bench-burst-%d" % i for i in range(args.concurrent)]
            t0 = time.monotonic()
            list(pool.map(lambda n: floor_start(kube, template, n), names))
            results["floor_burst_s"] = time.monotonic() - t0
            floor_remove(kube, names)
    finally:
        berth.stop()
        certs.cleanup()
        if cluster_started:
            subprocess.run([os.path.join(REPO, "tests", "kube", "cluster-down")], capture_output=True)

    mb, mf = median_ms(results["berth_s"]), median_ms(results["floor_s"])
    print("| kube backend (%d runs) | Berth | floor (API + watch) | Berth − floor |" % args.runs)
    print("|---|---|---|---|")
    print("| `docker run -d` to running, median | %.1f ms | %.1f ms | %+.1f ms |" % (mb, mf, mb - mf))
    print("| %d at once, all running | %.2f s | %.2f s | %+.2f s |" % (
        args.concurrent, results["berth_burst_s"], results["floor_burst_s"],
        results["berth_burst_s"] - results["floor_burst_s"]))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", "kube-%s.json" % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    log("figures in " + out)


if __name__ == "__main__":
    main()
