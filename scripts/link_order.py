#!/usr/bin/env python3
"""link_order.py: writes scripts/link-order.txt, the functions a daemon runs,
phase by phase, for lld's --symbol-ordering-file (see the top CMakeLists.txt).

Starts a release `berth serve` on a temporary data root and socket, with a
loopback registry serving the test busybox image, and records which pages of
its code were touched after each phase:
  1. start, idle, /_ping, /version, /info     (what an idle daemon has touched)
  2. docker pull                              (the most common first request)
  3. docker run --rm, run -d, ps, logs, exec, inspect, stop, rm, images
Each phase's functions follow the earlier phases' in the file, so the first
block is the smallest set an idle daemon needs.

Pages, not functions, are what the kernel reports (/proc/PID/pagemap), and it
maps cached neighbours of a touched page with it. So for the run the binary is
dropped from the page cache and the disk's readahead is turned off (restored
afterwards): a page is then present only if it was executed. Every function
on a touched page is listed; run the script again on the relinked binary and
the list shrinks towards the functions really run.

Usage (as root, after a release build; rebuild afterwards):
    scripts/link_order.py [--berth PATH] [--out FILE]
"""
import argparse
import os
import shutil
import struct
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
from harness import DOCKER_CLI, clean_env, http_request  # noqa: E402

PAGE = 4096


def readahead_file(path):
    """The sysfs readahead knob of the disk that holds `path`."""
    dev = os.stat(path).st_dev
    base = "/sys/dev/block/%d:%d" % (os.major(dev), os.minor(dev))
    for candidate in (base + "/queue/read_ahead_kb", base + "/../queue/read_ahead_kb"):
        if os.path.exists(candidate):
            return candidate
    sys.exit("no read_ahead_kb for the disk of %s" % path)


def drop_from_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def present_pages(pid, binary):
    """Offsets (from the load base) of the binary's executable pages now resident."""
    real = os.path.realpath(binary)
    base, spans = None, []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 6 or os.path.realpath(fields[5]) != real:
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if base is None:
                base = start - int(fields[2], 16)
            if "x" in fields[1]:
                spans.append((start, end))
    pages = set()
    with open("/proc/%d/pagemap" % pid, "rb") as pm:
        for start, end in spans:
            pm.seek(start // PAGE * 8)
            data = pm.read((end - start) // PAGE * 8)
            for i in range(len(data) // 8):
                if struct.unpack_from("<Q", data, i * 8)[0] >> 63:
                    pages.add((start - base) // PAGE + i)
    return pages


def functions(binary):
    """(start, end, name) of every function with a size, by address."""
    out = subprocess.run(["nm", "--defined-only", "-S", "-n", binary], check=True, capture_output=True,
                         text=True).stdout
    syms = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            start, size = int(fields[0], 16), int(fields[1], 16)
            if size:
                syms.append((start, start + size, fields[3]))
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", default=os.path.join(REPO, "build", "release", "src", "daemon", "berth"))
    ap.add_argument("--out", default=os.path.join(HERE, "link-order.txt"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("link_order.py needs root (pagemap, readahead)")

    knob = readahead_file(args.berth)
    with open(knob) as f:
        saved_readahead = f.read().strip()
    work = tempfile.mkdtemp(prefix="berth-order-")
    sock = os.path.join(work, "berth.sock")
    reg = registry.Registry()
    daemon = None
    phases = []
    try:
        reg.push("library/busybox", "latest", testimages.busybox())
        image = "%s/library/busybox:latest" % reg.address
        with open(knob, "w") as f:
            f.write("0")
        drop_from_cache(args.berth)
        log = open(os.path.join(work, "log"), "wb")
        daemon = subprocess.Popen([args.berth, "serve", "-H", "unix://" + sock, "--data-root",
                                   os.path.join(work, "data")],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=clean_env())
        deadline = time.monotonic() + 30
        while True:
            try:
                if http_request(sock, "GET", "/_ping", timeout=5).status == 200:
                    break
            except OSError:
                pass
            if daemon.poll() is not None or time.monotonic() > deadline:
                sys.exit("berth did not start; see %s/log" % work)
            time.sleep(0.05)

        def cli(*a):
            r = subprocess.run([DOCKER_CLI, "-H", "unix://" + sock] + list(a), capture_output=True, text=True,
                               env=clean_env(), timeout=300)
            if r.returncode != 0:
                sys.exit("docker %s: %s" % (" ".join(a), r.stderr.strip()))

        for path in ["/_ping", "/version", "/info"]:
            http_request(sock, "GET", path)
        time.sleep(2)
        phases.append(present_pages(daemon.pid, args.berth))
        cli("pull", "-q", image)
        phases.append(present_pages(daemon.pid, args.berth))
        cli("run", "--rm", "--network", "none", image, "true")
        cli("run", "-d", "--name", "order", image, "sleep", "600")
        cli("ps", "-a")
        cli("logs", "order")
        cli("exec", "order", "true")
        cli("inspect", "order")
        cli("stop", "-t", "1", "order")
        cli("rm", "order")
        cli("images")
        phases.append(present_pages(daemon.pid, args.berth))
    finally:
        with open(knob, "w") as f:
            f.write(saved_readahead)
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=60)
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)

    syms = functions(args.berth)
    order, seen = [], set()
    for i, pages in enumerate(phases):
        added = 0
        for start, end, name in syms:
            # GCC's split-off cold paths (foo.cold) stay out of the hot block.
            if name in seen or name.endswith(".cold"):
                continue
            if any(p in pages for p in range(start // PAGE, (end - 1) // PAGE + 1)):
                seen.add(name)
                order.append(name)
                added += 1
        print("phase %d: %d pages touched, %d functions added" % (i + 1, len(pages), added))
    with open(args.out, "w") as f:
        f.write("\n".join(order) + "\n")
    print("%d functions written to %s" % (len(order), args.out))


if __name__ == "__main__":
    main()
